//! The pieces a lowered program is made of: MLP units, attention heads and
//! the linear forms they read, over the residual stream of the model being
//! built.
//!
//! While a model is built, dimension [`ONE`] is 1 at every position (its
//! weights become the biases) and [`BOS`] is 1 at position 0 only.

/// The constant dimension (becomes the biases).
pub const ONE: usize = 0;
/// The BOS dimension (1 at position 0).
pub const BOS: usize = 1;

/// A linear form over residual dimensions: `Σ coef·x[dim] + constant`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Form {
    pub terms: Vec<(usize, f64)>,
    pub constant: f64,
}

impl Form {
    pub fn constant(c: f64) -> Form {
        Form {
            terms: Vec::new(),
            constant: c,
        }
    }

    pub fn dim(d: usize) -> Form {
        Form {
            terms: vec![(d, 1.0)],
            constant: 0.0,
        }
    }

    /// `self + k·other`, with terms on one dimension merged.
    pub fn add_scaled(&mut self, other: &Form, k: f64) {
        let mut at: std::collections::HashMap<usize, usize> = self
            .terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.0, i))
            .collect();
        for &(d, c) in &other.terms {
            match at.get(&d) {
                Some(&i) => self.terms[i].1 += k * c,
                None => {
                    at.insert(d, self.terms.len());
                    self.terms.push((d, k * c));
                }
            }
        }
        self.constant += k * other.constant;
        self.terms.retain(|t| t.1 != 0.0);
    }

    pub fn scaled(&self, k: f64) -> Form {
        let mut f = Form::default();
        f.add_scaled(self, k);
        f
    }

    /// The form's terms with the constant on [`ONE`].
    pub fn with_one(&self) -> Vec<(usize, f64)> {
        let mut t = self.terms.clone();
        if self.constant != 0.0 {
            t.push((ONE, self.constant));
        }
        t
    }

    /// The value at a residual vector.
    pub fn at(&self, x: &[f64]) -> f64 {
        self.terms
            .iter()
            .map(|&(d, c)| c * x.get(d).copied().unwrap_or(0.0))
            .sum::<f64>()
            + self.constant
    }

    /// A bound on `Σ |coef·x|` given each dimension's largest magnitude.
    pub fn magnitude(&self, dim_magnitude: &[f64]) -> f64 {
        self.terms
            .iter()
            .map(|&(d, c)| (c * dim_magnitude.get(d).copied().unwrap_or(1.0)).abs())
            .sum::<f64>()
            + self.constant.abs()
    }
}

/// One MLP unit: `ReLU(Σ w_in·x + bias)` added to the output dimensions.
#[derive(Debug, Clone)]
pub struct Unit {
    pub w_in: Vec<(usize, f64)>,
    pub bias: f64,
    pub w_out: Vec<(usize, f64)>,
}

/// An attention head before padding, as sparse maps: query and key
/// `(dimension, coordinate, weight)` over `qk` coordinates, value
/// `(dimension, coordinate, weight)` and output `(coordinate, dimension,
/// weight)` over `ov` coordinates. The query map is built for sharpness 1
/// and scaled by the model's sharpness when assembled.
#[derive(Debug, Clone, Default)]
pub struct Head {
    pub q: Vec<(usize, usize, f64)>,
    /// Query terms not scaled by the sharpness (a counting head's `ln β`
    /// on BOS).
    pub q_fixed: Vec<(usize, usize, f64)>,
    pub k: Vec<(usize, usize, f64)>,
    pub qk: usize,
    pub v: Vec<(usize, usize, f64)>,
    pub o: Vec<(usize, usize, f64)>,
    pub ov: usize,
    /// Heads with the same key (the same selector in one layer) are merged.
    pub share: Option<usize>,
    /// A bound on `Σ|q_c·k_c|` over the coordinates, in units of the
    /// sharpness, for every query but BOS's (whose margin is far larger):
    /// what the scores' float rounding is relative to.
    pub score_bound: f64,
    /// What the head computes, for the model's record.
    pub about: HeadAbout,
}

/// What a head computes ([`crate::model::HeadRecord`] once assembled).
#[derive(Debug, Clone, Default)]
pub struct HeadAbout {
    /// The selector it implements; `None` for every key (`length`).
    pub selector: Option<usize>,
    /// The s-op nodes it computes, in the order of their value
    /// coordinates (several once heads over one selector are merged), and
    /// how.
    pub sops: Vec<(usize, crate::model::SOpRole)>,
    /// A counting head's BOS weight β.
    pub beta: Option<f64>,
}

/// `ReLU(L(x−t)+1) − ReLU(L(x−t))` over `x = Σ w_in`: 0 for
/// `x ≤ t − 1/L`, 1 for `x ≥ t`; two units adding `out` times that.
pub fn step(w_in: &[(usize, f64)], threshold: f64, slope: f64, out: &[(usize, f64)]) -> [Unit; 2] {
    let scaled: Vec<(usize, f64)> = w_in.iter().map(|&(d, w)| (d, w * slope)).collect();
    let negated: Vec<(usize, f64)> = out.iter().map(|&(d, w)| (d, -w)).collect();
    [
        Unit {
            w_in: scaled.clone(),
            bias: -slope * threshold + 1.0,
            w_out: out.to_vec(),
        },
        Unit {
            w_in: scaled,
            bias: -slope * threshold,
            w_out: negated,
        },
    ]
}

/// A table row over exact one-hot inputs: `ReLU(Σ x − (k−1))` is 1 when
/// all `k` dimensions are 1, 0 otherwise.
pub fn row_unit(dims: &[usize], out: &[(usize, f64)]) -> Unit {
    Unit {
        w_in: dims.iter().map(|&d| (d, 1.0)).collect(),
        bias: 1.0 - dims.len() as f64,
        w_out: out.to_vec(),
    }
}

/// `out` wherever every dimension of `dims` is near 1 (each off by at most
/// 1/(8k)): a clean step on their sum, exact output from inexact inputs.
pub fn row_step(dims: &[usize], out: &[(usize, f64)]) -> [Unit; 2] {
    let k = dims.len() as f64;
    let w: Vec<(usize, f64)> = dims.iter().map(|&d| (d, 1.0)).collect();
    step(&w, k - 0.25, 4.0, out)
}

/// `a − b` of two sparse vectors.
pub fn difference(a: &[(usize, f64)], b: &[(usize, f64)]) -> Vec<(usize, f64)> {
    let mut out: Vec<(usize, f64)> = a.to_vec();
    for &(d, w) in b {
        match out.iter_mut().find(|t| t.0 == d) {
            Some(t) => t.1 -= w,
            None => out.push((d, -w)),
        }
    }
    out.retain(|t| t.1 != 0.0);
    out
}

/// One point of a lookup: where the number read is, and what to write there.
pub struct Point {
    pub x: f64,
    pub out: Vec<(usize, f64)>,
}

/// Units reading the number `x = form` at known sorted `points` (no two
/// closer than the caller allows) into each point's output, gated by exact
/// one-hot `gate` dimensions (all 1 for this table, empty for no gate;
/// `x_range` bounds `x` wherever the gate is off):
/// the first point's output (one unit on the gate), then a clean step at
/// each change, pushed far off when the gate is not all 1.
///
/// The ramp of the step between points `lo` and `hi` is centred on their
/// midpoint with width `(hi−lo)/4`: the output is exact while `x` is within
/// `3(hi−lo)/8` of a point.
pub fn lookup(form: &Form, points: &[Point], gate: &[usize], x_range: (f64, f64)) -> Vec<Unit> {
    let mut units = Vec::new();
    let Some(first) = points.first() else {
        return units;
    };
    let k = gate.len() as f64;
    let (x_min, x_max) = x_range;
    if !first.out.is_empty() {
        if gate.is_empty() {
            units.push(Unit {
                w_in: vec![(ONE, 1.0)],
                bias: 0.0,
                w_out: first.out.clone(),
            });
        } else {
            units.push(row_unit(gate, &first.out));
        }
    }
    for pair in points.windows(2) {
        let (lo, hi) = (&pair[0], &pair[1]);
        if lo.out == hi.out {
            continue;
        }
        let gap = hi.x - lo.x;
        let slope = 4.0 / gap;
        // The ramp is [mid − gap/8, mid + gap/8]: `t = mid + gap/8`.
        let threshold = (lo.x + hi.x) / 2.0 + gap / 8.0;
        // Off-gate push: the largest `L(x−t)+1` over the points, plus margin.
        let g = if gate.is_empty() {
            0.0
        } else {
            slope * (x_max - threshold).max(threshold - x_min).max(0.0) + 3.0
        };
        let diff = difference(&hi.out, &lo.out);
        let mut w_in: Vec<(usize, f64)> = form.terms.iter().map(|&(d, c)| (d, c * slope)).collect();
        w_in.extend(gate.iter().map(|&d| (d, g)));
        let base = slope * (form.constant - threshold) - g * k;
        units.push(Unit {
            w_in: w_in.clone(),
            bias: base + 1.0,
            w_out: diff.clone(),
        });
        units.push(Unit {
            w_in,
            bias: base,
            w_out: diff.iter().map(|&(d, w)| (d, -w)).collect(),
        });
    }
    units
}

/// The largest pre-activation magnitude of a lookup's steps, for rounding
/// bounds: `slope · (|x| range + |threshold|)`.
pub fn lookup_scale(points: &[Point], x_magnitude: f64) -> f64 {
    points
        .windows(2)
        .filter(|p| p[0].out != p[1].out)
        .map(|p| {
            let gap = p[1].x - p[0].x;
            (4.0 / gap) * (x_magnitude + p[1].x.abs() + gap)
        })
        .fold(0.0, f64::max)
}

/// The total variation of the number `value(out)` along the points: the
/// number read from a lookup's one-hot output telescopes over its steps,
/// so its error is at most this times one step's error.
pub fn lookup_variation(points: &[Point], value: impl Fn(&[(usize, f64)]) -> f64) -> f64 {
    points
        .windows(2)
        .filter(|p| p[0].out != p[1].out)
        .map(|p| (value(&p[1].out) - value(&p[0].out)).abs())
        .sum()
}

/// The smallest gap between neighbouring points whose outputs differ.
pub fn lookup_gap(points: &[Point]) -> f64 {
    points
        .windows(2)
        .filter(|p| p[0].out != p[1].out)
        .map(|p| p[1].x - p[0].x)
        .fold(f64::INFINITY, f64::min)
}

/// The piecewise-linear function through sorted points `(x, y)`, as
/// `c + Σ coefⱼ·ReLU(x − tⱼ)`: `y₀ + s₀·(x − x₀) + Σ (sⱼ − sⱼ₋₁)·ReLU(x − xⱼ)`,
/// exact at the points and with slope `sⱼ` between them, its first ramp
/// starting `margin` below `x₀` (an `x` that far below still reads on the
/// line).
#[derive(Debug, Clone, Default)]
pub struct Piecewise {
    pub constant: f64,
    pub ramps: Vec<(f64, f64)>,
    /// The largest `|slope|`.
    pub steepest: f64,
}

impl Piecewise {
    pub fn through(points: &[(f64, f64)], margin: f64) -> Piecewise {
        let Some(&(x0, y0)) = points.first() else {
            return Piecewise::default();
        };
        let slopes: Vec<f64> = points
            .windows(2)
            .map(|p| (p[1].1 - p[0].1) / (p[1].0 - p[0].0))
            .collect();
        let s0 = slopes.first().copied().unwrap_or(0.0);
        let mut ramps = Vec::new();
        if s0 != 0.0 {
            ramps.push((x0 - margin, s0));
        }
        for j in 1..slopes.len() {
            let change = slopes[j] - slopes[j - 1];
            if change != 0.0 {
                ramps.push((points[j].0, change));
            }
        }
        Piecewise {
            constant: y0 - s0 * margin,
            ramps,
            steepest: slopes.iter().fold(0.0_f64, |m, s| m.max(s.abs())),
        }
    }

    /// The units computing it from the number `x = form` into `out`.
    pub fn units(&self, form: &Form, out: usize) -> Vec<Unit> {
        let mut units = Vec::with_capacity(self.ramps.len() + 1);
        if self.constant != 0.0 {
            units.push(Unit {
                w_in: vec![(ONE, 1.0)],
                bias: 0.0,
                w_out: vec![(out, self.constant)],
            });
        }
        for &(t, c) in &self.ramps {
            units.push(Unit {
                w_in: form.terms.clone(),
                bias: form.constant - t,
                w_out: vec![(out, c)],
            });
        }
        units
    }

    /// A bound on the float rounding of the units' output, for `x` within
    /// `x_magnitude` and `terms` terms in the form.
    pub fn rounding(
        &self,
        dtype: crate::model::Dtype,
        x_magnitude: f64,
        x_hi: f64,
        terms: usize,
    ) -> super::precision::Err {
        use super::precision::{sum_rounding, Err};
        let pre = self
            .ramps
            .iter()
            .map(|&(t, c)| sum_rounding(dtype, x_magnitude + t.abs(), terms + 1).times(c))
            .fold(Err::ZERO, Err::plus);
        let out: f64 = self
            .ramps
            .iter()
            .map(|&(t, c)| (c * (x_hi - t).max(0.0)).abs())
            .sum::<f64>()
            + self.constant.abs();
        pre.plus(sum_rounding(dtype, out, self.ramps.len() + 1))
    }
}
