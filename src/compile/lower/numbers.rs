//! Numbers: embedded, read off one-hot values, a count's piecewise-linear
//! function of its code, products of a number by a gate, curves through a
//! map's points.

use super::*;

impl Lowerer<'_> {
    /// A token or position embedding of the number itself: one dimension.
    pub(super) fn number_embedding(&mut self, id: NodeId) -> Number {
        let values = self.values(id);
        let label = self.label(id).to_string();
        let magnitude = values.magnitude();
        let dim = self.alloc(label, 0.0, magnitude);
        if let Shape::Local(local) = &self.an.nodes[id].shape {
            let local = local.clone();
            let by_token = local.reads.token;
            let rows = if by_token {
                self.an.vocab.len()
            } else {
                self.n
            };
            for r in 0..rows {
                let c = crate::compile::values::local::Context {
                    token: if by_token { r } else { 0 },
                    index: if by_token { 0 } else { r },
                    length: self.n,
                };
                if let Some(v) = local.at(c) {
                    let table = if by_token {
                        &mut self.embed
                    } else {
                        &mut self.pos_embed
                    };
                    table.push((r, dim, number(v)));
                }
            }
        }
        Number {
            form: Form::dim(dim),
            // The embedding's float rounding.
            err: super::precision::value_rounding(self.dtype, magnitude),
            avail: -1,
        }
    }

    /// The node's number, built on first use.
    pub fn number_of(&mut self, id: NodeId) -> Result<Number, CompileError> {
        if let Some(n) = &self.number[id] {
            return Ok(n.clone());
        }
        let n = match self.desc[id].clone() {
            Desc::Const(c) => Number {
                form: Form::constant(number(&c)),
                err: Err::ZERO,
                avail: -1,
            },
            Desc::Affine {
                terms,
                constant,
                fixed,
            } => {
                let mut form = Form::constant(constant);
                let mut err = Err::fixed(fixed);
                let mut avail = -1;
                for (b, c) in terms {
                    let nb = self.number_of(b)?;
                    form.add_scaled(&nb.form, c);
                    err = err.plus(nb.err.times(c));
                    avail = avail.max(nb.avail);
                }
                let mag = form.magnitude(&self.magnitude);
                err = err.plus(sum_rounding(self.dtype, mag, form.terms.len()));
                Number { form, err, avail }
            }
            Desc::Aggregate { numeric: true } => attend::aggregate_number(self, id)?,
            Desc::Product { number, gate } => self.product_number(id, number, gate)?,
            Desc::Curve { input, points } => self.curve_number(id, input, &points)?,
            Desc::Width if !self.has_onehot(id) => self.width_number(id)?,
            // A number read off many one-hot dimensions rounds badly:
            // embed it as a number instead.
            Desc::Embed
                if self.values(id).has_numbers()
                    && (!self.has_onehot(id) || self.values(id).len() > 16) =>
            {
                self.number_embedding(id)
            }
            _ => {
                let h = self.onehot_of(id)?;
                let mut form = Form::default();
                let mut total = 0.0;
                let mut used: Vec<usize> = Vec::new();
                for (i, v) in h.values.values().iter().enumerate() {
                    if h.dims[i] != ONE && used.contains(&h.dims[i]) {
                        continue;
                    }
                    used.push(h.dims[i]);
                    let x = number(v);
                    if x.is_nan() {
                        return Err(CompileError::internal("a number read of non-numbers"));
                    }
                    total += x.abs();
                    if h.dims[i] == ONE {
                        form.constant += x;
                    } else if x != 0.0 {
                        form.terms.push((h.dims[i], x));
                    }
                }
                Number {
                    form,
                    err: h.view_err.unwrap_or(h.err.times(total)),
                    avail: h.avail,
                }
            }
        };
        self.number[id] = Some(n.clone());
        Ok(n)
    }

    /// A count as a number, read off its code by the piecewise-linear
    /// function through its points (one unit per value): the number's error
    /// is the code's times the steepest slope, plus the units' rounding.
    pub(super) fn width_number(&mut self, id: NodeId) -> Result<Number, CompileError> {
        let values = self.values(id);
        // The slope between counts w and w+1 is (w+β)(w+β+1)/β: about w²
        // for β = 1, at most 4w for β = w. Large counts take β = their
        // largest value, where the code is not built yet.
        let top = number_range(&values).1;
        if !self.has_code(id) && top > 16.0 {
            self.beta[id] = top;
        }
        let code = self.code_of(id)?;
        let mut points: Vec<(f64, f64)> = values
            .values()
            .iter()
            .map(|w| (self.code_point(id, number(w)), number(w)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let gap = points
            .windows(2)
            .map(|p| p[1].0 - p[0].0)
            .fold(f64::INFINITY, f64::min);
        if gap <= 0.0 {
            return Err(self.too_close(id, "its counts"));
        }
        Ok(self.through_points(id, &code, &points))
    }

    /// `x·g` for a number `x` and a one-hot `g` of numeric values: per
    /// dimension `d` of `g` (value `f`), the units `ReLU(±f·x + G·(d − 1))`
    /// with `G` above every `|f·x|`, whose difference is `f·x` where `d` is
    /// on and 0 where it is off. The error is `|f|` times `x`'s, plus `G`
    /// times the gate's distance from 0 or 1.
    pub(super) fn product_number(
        &mut self,
        id: NodeId,
        x: NodeId,
        gate: NodeId,
    ) -> Result<Number, CompileError> {
        let nx = self.number_of(x)?;
        // The gate's one-hot values, or those of a node built already (or
        // `tokens`, `indices`) that the gate is a function of: `indices + 1`
        // is gated by `indices`.
        let mut base = gate;
        if !self.has_onehot(gate) {
            let mut candidates: Vec<NodeId> = (0..self.graph.nodes.len())
                .filter(|&c| {
                    c != gate
                        && (self.has_onehot(c)
                            || matches!(self.graph.nodes[c].op, Op::Tokens(_) | Op::Indices))
                })
                .collect();
            candidates.sort_by_key(|&c| !self.has_onehot(c));
            if let Some(&c) = candidates.iter().find(|&&c| {
                attend::view_on(self, gate, c).is_some_and(|v| v.iter().all(Option::is_some))
            }) {
                base = c;
            }
        }
        let hot = self.onehot_of(base)?;
        let view = attend::view_on(self, gate, base)
            .ok_or_else(|| CompileError::internal("a product's gate is not a view of its base"))?;
        let (lo, hi) = number_range(&self.values(x));
        let x_max = lo.abs().max(hi.abs()) + 1.0;
        let mut factors: Vec<(usize, f64)> = Vec::new();
        for (i, v) in view.iter().enumerate() {
            let d = hot.dims[i];
            let Some(v) = v else { continue };
            if !factors.iter().any(|f| f.0 == d) {
                factors.push((d, number(v)));
            }
        }
        let f_max = factors.iter().fold(0.0f64, |m, f| m.max(f.1.abs()));
        let big = 2.0 * f_max * x_max + 1.0;
        let label = self.label(id).to_string();
        let dim = self.alloc(label.clone(), 0.0, f_max * x_max);
        let mut form = Form::default();
        let mut units = Vec::with_capacity(2 * factors.len());
        for &(d, f) in &factors {
            if f == 0.0 {
                continue;
            }
            if d == ONE {
                form.add_scaled(&nx.form, f);
                continue;
            }
            for sign in [1.0, -1.0] {
                let mut w_in: Vec<(usize, f64)> = nx
                    .form
                    .terms
                    .iter()
                    .map(|&(t, c)| (t, sign * f * c))
                    .collect();
                w_in.push((d, big));
                units.push(Unit {
                    w_in,
                    bias: sign * f * nx.form.constant - big,
                    w_out: vec![(dim, sign)],
                });
            }
        }
        form.add_scaled(&Form::dim(dim), 1.0);
        if hot.err.eps > 0.0 || hot.err.fixed > 0.0 {
            self.require(
                id,
                hot.err,
                0.25,
                format!("the gates of the product `{label}`"),
            );
        }
        let rounding = sum_rounding(self.dtype, 2.0 * big, nx.form.terms.len() + 2);
        let err = nx.err.times(f_max).plus(hot.err.times(big)).plus(rounding);
        let at = next_sublayer(nx.avail.max(hot.avail), true);
        self.add_units(id, at, units);
        Ok(Number {
            form,
            err,
            avail: at,
        })
    }

    /// A map of one number through its points: the input's error times the
    /// steepest slope, plus the units' rounding.
    pub(super) fn curve_number(
        &mut self,
        id: NodeId,
        input: NodeId,
        points: &[(f64, f64)],
    ) -> Result<Number, CompileError> {
        let nx = self.number_of(input)?;
        Ok(self.through_points(id, &nx, points))
    }

    /// Node `id` as the piecewise-linear function of the number `x` through
    /// `points` (sorted by `x`, no two at one `x`), in one dimension of the
    /// next MLP: `x`'s error times the steepest slope, plus the units'
    /// rounding. (MLP units are off at BOS: 0 there.)
    fn through_points(&mut self, id: NodeId, x: &Number, points: &[(f64, f64)]) -> Number {
        let gap = points
            .windows(2)
            .map(|p| p[1].0 - p[0].0)
            .fold(f64::INFINITY, f64::min);
        let margin = if gap.is_finite() { gap / 2.0 } else { 0.5 };
        let f = blocks::Piecewise::through(points, margin);
        let label = self.label(id).to_string();
        let dim = self.alloc(label, 0.0, self.values(id).magnitude());
        let x_mag = x.form.magnitude(&self.magnitude);
        let x_hi = points.last().map_or(1.0, |p| p.0);
        let rounding = f.rounding(self.dtype, x_mag, x_hi, x.form.terms.len());
        let err = x.err.times(f.steepest).plus(rounding);
        let at = next_sublayer(x.avail, true);
        let units = f.units(&x.form, dim);
        self.add_units(id, at, units);
        Number {
            form: Form::dim(dim),
            err,
            avail: at,
        }
    }

    /// The code `β/(w+β)` of a width, built on first use.
    pub fn code_of(&mut self, id: NodeId) -> Result<Number, CompileError> {
        if let Some(c) = &self.code[id] {
            return Ok(c.clone());
        }
        let c = attend::width_code(self, id)?;
        self.code[id] = Some(c.clone());
        Ok(c)
    }
}
