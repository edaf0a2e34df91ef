//! Maps: over local tables, over the tuples their inputs take together, as
//! ranges of ints, or as spans of numbers too many to list; and the float
//! radius of means carried through arithmetic, refused where a map's result
//! depends on it.

use super::*;

impl Analysis {
    /// A numeric mean whose values are too many to list, as a span: at
    /// every index, between the least and the greatest of the values it
    /// averages and its default. `None` for any other aggregate.
    pub(super) fn mean_span(&self, graph: &Graph, id: NodeId) -> Option<NodeValues> {
        let Op::Aggregate {
            values, default, ..
        } = &graph.nodes[id].op
        else {
            return None;
        };
        let d = match default {
            Atom::Int(i) => *i as f64,
            Atom::Float(x) if x.is_finite() => *x,
            _ => return None,
        };
        let (lo, hi) = finite_range(&self.nodes[*values].all)?;
        Some(self.span(vec![(lo.min(d), hi.max(d)); self.max_len]))
    }

    /// A span node with these ranges per index.
    pub(super) fn span(&self, ranges: Vec<(f64, f64)>) -> NodeValues {
        let mut sets: Vec<Rc<ValueSet>> = Vec::with_capacity(ranges.len());
        let mut last: Option<(f64, f64)> = None;
        for r in ranges {
            match (last, sets.last()) {
                (Some(l), Some(set)) if l == r => sets.push(set.clone()),
                _ => sets.push(Rc::new(ValueSet::from_atoms([
                    Atom::Float(r.0),
                    Atom::Float(r.1),
                ]))),
            }
            last = Some(r);
        }
        self.with_sets(Shape::Span, sets)
    }

    /// An affine map of spans (and listed numbers and constants): a span by
    /// interval arithmetic, index by index.
    pub(super) fn span_map(
        &self,
        func: &crate::eval::map::MapFn,
        args: &[NodeId],
    ) -> Option<NodeValues> {
        use crate::eval::map::MapFn;
        use crate::syntax::ast::{BinaryOp, UnaryOp};
        let range = |a: NodeId, i: usize| finite_range(&self.nodes[a].per_index[i]);
        let constant = |a: NodeId| match &self.nodes[a].shape {
            Shape::Const(Atom::Int(i)) => Some(*i as f64),
            Shape::Const(Atom::Float(x)) if x.is_finite() => Some(*x),
            _ => None,
        };
        let mut ranges = Vec::with_capacity(self.max_len);
        for i in 0..self.max_len {
            let r: Vec<(f64, f64)> = args.iter().map(|&a| range(a, i)).collect::<Option<_>>()?;
            let scaled = |k: f64, r: (f64, f64)| {
                let (x, y) = (k * r.0, k * r.1);
                (x.min(y), x.max(y))
            };
            let out = match (func, &r[..], args) {
                (MapFn::Binary(BinaryOp::Add), [a, b], _) => (a.0 + b.0, a.1 + b.1),
                (MapFn::Binary(BinaryOp::Sub), [a, b], _) => (a.0 - b.1, a.1 - b.0),
                (MapFn::Unary(UnaryOp::Neg), [a], _) => (-a.1, -a.0),
                (MapFn::Unary(UnaryOp::Pos), [a], _) => *a,
                (MapFn::Binary(BinaryOp::Mul), [a, b], [x, y]) => {
                    match (constant(*x), constant(*y)) {
                        (Some(k), None) => scaled(k, *b),
                        (None, Some(k)) => scaled(k, *a),
                        // A product of two numbers (gated units).
                        _ => [a.0 * b.0, a.0 * b.1, a.1 * b.0, a.1 * b.1]
                            .iter()
                            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &c| {
                                (lo.min(c), hi.max(c))
                            }),
                    }
                }
                (MapFn::Binary(BinaryOp::Div), [a, _], [_, y]) => match constant(*y) {
                    Some(k) if k != 0.0 => scaled(1.0 / k, *a),
                    _ => return None,
                },
                _ => return None,
            };
            if !(out.0.is_finite() && out.1.is_finite()) {
                return None;
            }
            ranges.push(out);
        }
        Some(self.span(ranges))
    }

    pub(super) fn map_node(
        &mut self,
        graph: &Graph,
        id: NodeId,
        func: &crate::eval::map::MapFn,
        args: &[NodeId],
    ) -> Result<NodeValues, CompileError> {
        let node = &graph.nodes[id];
        if let Some(&a) = args
            .iter()
            .find(|a| matches!(self.nodes[**a].shape, Shape::Span))
        {
            return self
                .span_map(func, args)
                .ok_or_else(|| span_read(graph, id, a, "this map cannot read it"));
        }
        // Constants fold.
        let consts: Option<Vec<Atom>> = args
            .iter()
            .map(|a| match &self.nodes[*a].shape {
                Shape::Const(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        if let Some(values) = consts {
            let refs: Vec<&Atom> = values.iter().collect();
            return match func.apply(&refs) {
                Ok(c) => Ok(self.constant(c)),
                Err(e) => Err(CompileError::constant_fails(node, e)),
            };
        }
        // Maps of local nodes (and constants) stay local while small.
        let locals: Option<Reads> =
            args.iter()
                .try_fold(Reads::default(), |r, a| match &self.nodes[*a].shape {
                    Shape::Const(_) => Some(r),
                    Shape::Local(l) => Some(r.union(l.reads)),
                    _ => None,
                });
        if let Some(reads) = locals {
            if Local::contexts(reads, self.vocab.len(), self.max_len) <= local::MAX_LOCAL_CONTEXTS {
                let mut failure: Option<String> = None;
                let nodes = &self.nodes;
                let table = Local::tabulate(reads, self.vocab.len(), self.max_len, |c| {
                    let values: Option<Vec<&Atom>> = args
                        .iter()
                        .map(|a| match &nodes[*a].shape {
                            Shape::Const(k) => Some(k),
                            Shape::Local(l) => l.at(c),
                            _ => None,
                        })
                        .collect();
                    let values = values?;
                    match func.apply(&values) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            if failure.is_none() {
                                failure = Some(describe_failure(&values, &e));
                            }
                            None
                        }
                    }
                });
                return self.local_values(graph, id, table, failure);
            }
        }
        // A map over the tuples its inputs take together.
        let mut support = Support::default();
        for &a in args {
            support = support.union(&self.support_of(graph, a));
        }
        let space = match self.space(graph, &support) {
            Ok(s) => s,
            Err(_) => {
                // Too many tuples: take each input as independent.
                let mut cut = Support::default();
                for &a in args {
                    cut = cut.union(&self.support_cut(a));
                }
                match self.space(graph, &cut) {
                    Ok(s) => s,
                    Err(size) => {
                        return match self.int_interval(func, args) {
                            Some(per_index) => {
                                self.finish_values(graph, id, Shape::Interval, per_index, None)
                            }
                            None => Err(CompileError::too_large_tuples(node, size)),
                        };
                    }
                }
            }
        };
        let mut table: Vec<Option<Atom>> = Vec::with_capacity(space.len());
        let mut failure: Option<String> = None;
        let readers: Vec<ValueReader> = args
            .iter()
            .map(|&a| self.reader(a, &space))
            .collect::<Result<_, _>>()
            .map_err(|()| CompileError::internal("a map input is not in its tuple space"))?;
        // Inputs whose listed floats stand for every float within a radius
        // (means summed in another order): the map must give the same value
        // over that radius, or (arithmetic) a value within its own radius.
        let radii: Vec<f64> = args.iter().map(|&a| self.nodes[a].all.radius).collect();
        let fuzzy = radii.iter().any(|r| *r > 0.0);
        let arithmetic = matches!(
            func,
            MapFn::Binary(BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div)
                | MapFn::Unary(UnaryOp::Neg | UnaryOp::Pos)
        );
        let mut out_radius: f64 = 0.0;
        for tuple in &space.tuples {
            let values: Option<Vec<Atom>> = readers.iter().map(|r| r.read(self, tuple)).collect();
            let Some(values) = values else {
                table.push(None);
                continue;
            };
            let refs: Vec<&Atom> = values.iter().collect();
            let applied = func.apply(&refs);
            if fuzzy {
                if let Ok(base) = &applied {
                    match radius_spread(func, &values, &radii, base) {
                        Some(spread) if arithmetic || spread == 0.0 => {
                            out_radius = out_radius.max(spread);
                        }
                        _ => {
                            return Err(CompileError::at_node(
                                crate::compile::error::CompileErrorKind::Precision,
                                node,
                                format!(
                                    "the interpreter's float rounding decides this map on ({}): \
                                     its inputs are means whose last bits depend on the order \
                                     they are summed in, and the map gives different values \
                                     within that rounding",
                                    refs.iter().map(|a| a.repr()).collect::<Vec<_>>().join(", ")
                                ),
                                Some(
                                    "round the means first (`round(100 * x) / 100`), or \
                                     compare them with a margin"
                                        .into(),
                                ),
                            ));
                        }
                    }
                }
            }
            match applied {
                Ok(v) => table.push(Some(v)),
                Err(e) => {
                    if failure.is_none() {
                        failure = Some(describe_failure(&refs, &e));
                    }
                    table.push(None);
                }
            }
        }
        let per_index: Vec<Vec<Atom>> = space
            .by_index
            .iter()
            .map(|ids| {
                ids.iter()
                    .filter_map(|t| table[*t as usize].clone())
                    .collect()
            })
            .collect();
        let shape = Shape::Derived {
            space: space.clone(),
            table: Rc::new(table),
        };
        let fail = failure.clone();
        let finished = self
            .finish_values(graph, id, shape, per_index, failure)
            .map(|mut v| {
                if out_radius > 0.0 {
                    // The listed values stand for every float within the
                    // spread of their inputs' radii.
                    let radius = out_radius * (1.0 + 1e-9);
                    v.per_index = v
                        .per_index
                        .iter()
                        .map(|set| Rc::new(ValueSet::with_radius(set.values().to_vec(), radius)))
                        .collect();
                    v.all = Rc::new(ValueSet::with_radius(v.all.values().to_vec(), radius));
                }
                v
            });
        match finished {
            // A product of numbers with too many values to list (its inputs
            // taken as independent, say): carried as a number.
            Err(e)
                if e.kind == crate::compile::error::CompileErrorKind::TooLarge
                    && fail.is_none()
                    && matches!(
                        func,
                        crate::eval::map::MapFn::Binary(crate::syntax::ast::BinaryOp::Mul)
                    ) =>
            {
                self.span_map(func, args).ok_or(e)
            }
            other => other,
        }
    }

    /// For an affine map of ints (`+`, `-`, negation, a product with an int
    /// constant), every int between the least and the greatest value its
    /// inputs' ranges give at each index, if there are not too many.
    pub(super) fn int_interval(
        &self,
        func: &crate::eval::map::MapFn,
        args: &[NodeId],
    ) -> Option<Vec<Vec<Atom>>> {
        use crate::eval::map::MapFn;
        use crate::syntax::ast::{BinaryOp, UnaryOp};
        let range = |a: NodeId, i: usize| -> Option<(i64, i64)> {
            let set = &self.nodes[a].per_index[i];
            let mut lo = i64::MAX;
            let mut hi = i64::MIN;
            for v in set.values() {
                let Atom::Int(x) = v else { return None };
                lo = lo.min(*x);
                hi = hi.max(*x);
            }
            (lo <= hi).then_some((lo, hi))
        };
        let mut out = Vec::with_capacity(self.max_len);
        let mut total = 0usize;
        for i in 0..self.max_len {
            let ranges: Vec<(i64, i64)> =
                args.iter().map(|&a| range(a, i)).collect::<Option<_>>()?;
            let (lo, hi) = match (func, &ranges[..]) {
                (MapFn::Binary(BinaryOp::Add), [a, b]) => {
                    (a.0.checked_add(b.0)?, a.1.checked_add(b.1)?)
                }
                (MapFn::Binary(BinaryOp::Sub), [a, b]) => {
                    (a.0.checked_sub(b.1)?, a.1.checked_sub(b.0)?)
                }
                (MapFn::Unary(UnaryOp::Neg), [a]) => (a.1.checked_neg()?, a.0.checked_neg()?),
                (MapFn::Binary(BinaryOp::Mul), [a, b]) if a.0 == a.1 || b.0 == b.1 => {
                    let (k, r) = if a.0 == a.1 { (a.0, b) } else { (b.0, a) };
                    let x = k.checked_mul(r.0)?;
                    let y = k.checked_mul(r.1)?;
                    (x.min(y), x.max(y))
                }
                _ => return None,
            };
            let count = usize::try_from(hi.checked_sub(lo)?).ok()?.checked_add(1)?;
            total = total.checked_add(count)?;
            if total > MAX_VALUES * self.max_len {
                return None;
            }
            out.push((lo..=hi).map(Atom::Int).collect());
        }
        Some(out)
    }
}

pub(super) fn describe_failure(values: &[&Atom], err: &MapError) -> String {
    let kind: crate::eval::error::ErrorKind = err.clone().into();
    let shown: Vec<String> = values.iter().map(|a| a.repr()).collect();
    format!("on ({}): {kind}", shown.join(", "))
}

/// The error of a node reading span `span` where it cannot.
pub(super) fn span_read(graph: &Graph, id: NodeId, span: NodeId, why: &str) -> CompileError {
    CompileError::at_node(
        crate::compile::error::CompileErrorKind::Unsupported,
        &graph.nodes[id],
        format!(
            "`{}` takes too many values to list (a mean of means, or of many values), so the \
             model carries it as a number; {why}",
            graph.nodes[span].label
        ),
        Some(
            "such a number can be averaged, added, subtracted, scaled by a constant or be the \
             output; to compare or tabulate it, compute it from fewer values (a smaller \
             `--max-len`, or `round(...)` before the mean)"
                .into(),
        ),
    )
}

/// How far `func` moves from `base` when each float input moves within its
/// radius (checked at the ends and the middle of every input's range, every
/// combination for up to three such inputs); `None` where a value stops being
/// a number or becomes another non-number.
pub(super) fn radius_spread(
    func: &MapFn,
    values: &[Atom],
    radii: &[f64],
    base: &Atom,
) -> Option<f64> {
    let fuzzy: Vec<usize> = (0..values.len())
        .filter(|&i| radii[i] > 0.0 && matches!(values[i], Atom::Float(_)))
        .collect();
    if fuzzy.is_empty() {
        return Some(0.0);
    }
    if fuzzy.len() > 3 {
        return None;
    }
    let mut spread: f64 = 0.0;
    let corners = 3usize.pow(fuzzy.len() as u32);
    for c in 0..corners {
        let mut moved = values.to_vec();
        let mut k = c;
        for &i in &fuzzy {
            let step = (k % 3) as f64 - 1.0;
            k /= 3;
            if let Atom::Float(x) = values[i] {
                moved[i] = Atom::Float(x + step * radii[i]);
            }
        }
        let refs: Vec<&Atom> = moved.iter().collect();
        let got = func.apply(&refs).ok()?;
        match (base, &got) {
            (Atom::Int(_) | Atom::Float(_), Atom::Int(_) | Atom::Float(_)) => {
                let d = (set::number(&got) - set::number(base)).abs();
                if d > 0.0 && base.type_name() != got.type_name() {
                    return None;
                }
                spread = spread.max(d);
            }
            _ if got.type_name() == base.type_name() && got.py_eq(base) => {}
            _ => return None,
        }
    }
    Some(spread)
}

/// The least and greatest of a set of finite numbers (bools as 0 and 1);
/// `None` if it is empty or holds anything else.
fn finite_range(set: &ValueSet) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in set.values() {
        let x = match v {
            Atom::Int(i) => *i as f64,
            Atom::Float(x) if x.is_finite() => *x,
            Atom::Bool(b) => f64::from(u8::from(*b)),
            _ => return None,
        };
        lo = lo.min(x);
        hi = hi.max(x);
    }
    (lo <= hi).then_some((lo, hi))
}
