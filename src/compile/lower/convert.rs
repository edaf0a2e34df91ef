//! One-hot values from a number: steps between its neighbouring values,
//! told apart per position where equal numbers of different types occur.

use super::*;

impl Lowerer<'_> {
    /// One-hot values from a number at known points (value index per
    /// point) through steps; numbers equal under [`same_number`] share a
    /// dimension.
    pub(super) fn convert(
        &mut self,
        id: NodeId,
        num: &Number,
        points: Vec<(f64, usize)>,
        values: &Rc<ValueSet>,
        what: &str,
    ) -> Result<OneHot, CompileError> {
        let label = self.label(id).to_string();
        let dims = class_dims(self, values, &label);
        let lists = vec![(None, sorted_points(points))];
        let what = format!("telling apart {what} of `{label}`");
        self.steps_to_onehot(id, num, dims, values, lists, &what)
    }

    /// Per position, the sorted points (number, value index) of a node
    /// whose values at each position are distinct numbers, each list with
    /// its position (the gate).
    pub(super) fn index_lists(
        &self,
        id: NodeId,
        values: &Rc<ValueSet>,
    ) -> Option<Vec<GatedPoints>> {
        let per_index = &self.an.nodes[id].per_index;
        if !per_index.iter().all(|s| distinct_numbers(s)) {
            return None;
        }
        Some(
            per_index
                .iter()
                .enumerate()
                .map(|(i, set)| {
                    let points = set
                        .values()
                        .iter()
                        .filter_map(|v| values.position(v).map(|p| (number(v), p)))
                        .collect();
                    (Some(i), sorted_points(points))
                })
                .collect(),
        )
    }

    /// One-hot values of a number told apart per position (one dimension
    /// per value, equal numbers included).
    pub(super) fn convert_by_index(
        &mut self,
        id: NodeId,
        num: &Number,
        values: &Rc<ValueSet>,
        lists: Vec<GatedPoints>,
    ) -> Result<OneHot, CompileError> {
        let index = self.index_hot();
        let lists = lists
            .into_iter()
            .map(|(i, points)| (i.map(|i| index.dims[i]), points))
            .collect();
        let label = self.label(id).to_string();
        let dims = value_dims(self, values, &label, false);
        let what = format!("telling apart the values of `{label}` at one position");
        self.steps_to_onehot(id, num, dims, values, lists, &what)
    }

    /// Whether steps on `num` at these points (value index per point, told
    /// apart where `class` differs) meet their requirements: the number's
    /// error within the gaps, the steps' rounding within the ramps.
    pub(super) fn lookup_fits(&self, num: &Number, lists: &[GatedPoints], class: &[usize]) -> bool {
        let x_mag = num.form.magnitude(&self.magnitude);
        let mut gap = f64::INFINITY;
        let mut scale: f64 = 0.0;
        for (_, list) in lists {
            for w in list.windows(2) {
                if class[w[0].1] != class[w[1].1] {
                    let g = w[1].0 - w[0].0;
                    gap = gap.min(g);
                    scale = scale.max((4.0 / g) * (x_mag + w[1].0.abs() + g));
                }
            }
        }
        if gap <= 0.0 {
            return false;
        }
        let rounding = sum_rounding(self.dtype, scale, num.form.terms.len() + 3);
        (gap.is_infinite() || feasible(num.err, 0.3 * gap)) && feasible(rounding, 1.0 / 16.0)
    }

    /// The units of a lookup from a number to one-hot `dims` (one per value
    /// of `values`): for each list of sorted points (value index per point),
    /// steps gated by its gate dimension, if any.
    pub(super) fn steps_to_onehot(
        &mut self,
        id: NodeId,
        num: &Number,
        dims: Vec<usize>,
        values: &Rc<ValueSet>,
        lists: Vec<GatedPoints>,
        what: &str,
    ) -> Result<OneHot, CompileError> {
        let x_mag = num.form.magnitude(&self.magnitude);
        let range = number_range(values);
        let gated = lists.iter().any(|(g, _)| g.is_some());
        let mut units = Vec::new();
        let mut gap = f64::INFINITY;
        let mut scale: f64 = 0.0;
        let mut variation: f64 = 0.0;
        for (gate, list) in &lists {
            let points: Vec<Point> = list
                .iter()
                .map(|&(x, p)| Point {
                    x,
                    out: vec![(dims[p], 1.0)],
                })
                .collect();
            let number_at = |out: &[(usize, f64)]| {
                let p = out
                    .first()
                    .and_then(|o| dims.iter().position(|d| *d == o.0));
                p.map_or(f64::NAN, |p| number(&values.values()[p]))
            };
            variation = variation.max(lookup_variation(&points, number_at));
            gap = gap.min(lookup_gap(&points));
            scale = scale.max(lookup_scale(&points, x_mag));
            let gate: Vec<usize> = gate.iter().copied().collect();
            units.extend(lookup(&num.form, &points, &gate, range));
        }
        if gap <= 0.0 {
            return Err(self.too_close(id, "its values"));
        }
        let label = self.label(id).to_string();
        if gap.is_finite() {
            self.require(id, num.err, 0.3 * gap, format!("{what} (gap {gap:.3e})"));
        }
        let terms = num.form.terms.len() + 2 + usize::from(gated);
        let rounding = sum_rounding(self.dtype, scale, terms);
        self.require(
            id,
            rounding,
            1.0 / 16.0,
            format!("the steps reading `{label}`"),
        );
        let at = next_sublayer(num.avail, true);
        self.add_units(id, at, units);
        Ok(OneHot {
            dims,
            values: values.clone(),
            err: rounding,
            avail: at,
            view_err: variation
                .is_finite()
                .then(|| rounding.times(variation + 1.0)),
        })
    }

    /// A one-hot of the position (built once).
    pub(super) fn index_hot(&mut self) -> OneHot {
        if let Some(h) = &self.index {
            return h.clone();
        }
        let dims: Vec<usize> = (0..self.n)
            .map(|i| self.alloc(format!("index:{i}"), 0.0, 1.0))
            .collect();
        for (i, &d) in dims.iter().enumerate() {
            self.pos_embed.push((i, d, 1.0));
        }
        let h = OneHot {
            dims,
            values: Rc::new(ValueSet::from_atoms(
                (0..self.n).map(|i| Atom::Int(i as i64)),
            )),
            err: Err::ZERO,
            avail: -1,
            view_err: None,
        };
        self.index = Some(h.clone());
        h
    }
}
