//! Value sets: what each node of the program can be, at each query index,
//! on inputs over the vocabulary of lengths `1..=max_len`.
//!
//! Every value is computed with the interpreter's own arithmetic (maps are
//! applied to atoms; means are `sum / m` as the interpreter divides), so a
//! value set lists exactly what the interpreter can produce, only the
//! values that can occur together are combined ([`tuples`]), and attention
//! outputs over one selector are combined as one group ([`means`]).
//!
//! The result for each node is its [`Shape`] (how its value arises: a
//! constant, a local table, an attention output, or a function of a tuple
//! space) and its value sets per query index.

pub mod determine;
pub mod local;
pub mod means;
pub mod selectors;
pub mod set;
pub mod tuples;

use std::collections::HashMap;
use std::rc::Rc;

use local::{contexts_at, Local, Reads};
use means::{float_radius, interpreter_aggregate, joint_values, Member};
use selectors::{SelFacts, Side};
pub use set::ValueSet;
use tuples::{for_each_product, projection, Support, TupleSpace};

use super::error::CompileError;
use super::graph::{Graph, NodeId, Op, SelId, SelOp};
use crate::eval::atom::Atom;
use crate::eval::map::{MapError, MapFn};
use crate::eval::sop::TokenConv;
use crate::syntax::ast::{BinaryOp, UnaryOp};

/// The joint values of a group: per query index, the member vectors.
type Joint = Rc<Vec<Vec<Vec<Atom>>>>;
/// Per key position, the value tuples (with their ids) found there.
type KeyTuples = Vec<Vec<(usize, Vec<Atom>)>>;

/// How a node's value arises.
#[derive(Debug, Clone)]
pub enum Shape {
    Const(Atom),
    /// A function of the token, index and length.
    Local(Rc<Local>),
    /// An aggregate or a selector width.
    Attention,
    /// An affine map of ints whose inputs take too many tuples together to
    /// list: its values at each index are the ints its inputs' ranges allow
    /// (a superset), and readers take it as independent of other nodes.
    Interval,
    /// A number whose values are too many to list (a mean of means, say):
    /// its sets hold only the least and the greatest value it can take at
    /// each index. Only means (as the values they average), sums,
    /// differences and constant multiples read it, and an output of it is
    /// decoded as a raw number within a proven bound.
    Span,
    /// A map over a tuple space: `table[t]` for tuple `t` (`None` where the
    /// map fails).
    Derived {
        space: Rc<TupleSpace>,
        table: Rc<Vec<Option<Atom>>>,
    },
}

/// What the analysis knows of one node.
#[derive(Debug, Clone)]
pub struct NodeValues {
    pub shape: Shape,
    /// The values at each query index.
    pub per_index: Vec<Rc<ValueSet>>,
    /// Every value.
    pub all: Rc<ValueSet>,
}

/// A map that fails on some of the values its inputs can take together.
#[derive(Debug, Clone)]
pub struct PartialFailure {
    pub node: NodeId,
    /// The input values of one failing case, and the failure.
    pub example: String,
}

/// The most values one node may have (over all query indices).
pub const MAX_VALUES: usize = 20_000;

/// The most tuples one support may have.
pub const TUPLE_BUDGET: usize = 1 << 18;

/// The analysis of a whole program.
pub struct Analysis {
    pub vocab: Vec<Atom>,
    pub max_len: usize,
    pub nodes: Vec<NodeValues>,
    selectors: Vec<Option<Rc<SelFacts>>>,
    spaces: HashMap<Support, Rc<TupleSpace>>,
    joints: HashMap<(SelId, Vec<NodeId>), Joint>,
    key_tuple_ids: HashMap<Vec<(u8, crate::eval::atom::AtomKey)>, usize>,
    levels: means::LevelCache,
    /// What each node fixes within one input ([`determine`]).
    fixes: Vec<Rc<determine::Fixes>>,
    /// Known answers of [`Analysis::fixed_by`].
    fixed_pairs: HashMap<(NodeId, NodeId), bool>,
    /// What each key node determines, transitively (built on use).
    closures: HashMap<NodeId, Rc<std::collections::HashSet<NodeId>>>,
    /// Maps that fail on some tuples (not all).
    pub partial_failures: Vec<PartialFailure>,
}

impl Analysis {
    /// Analyses every node of `graph`.
    pub fn run(graph: &Graph, vocab: &[Atom], max_len: usize) -> Result<Analysis, CompileError> {
        let mut a = Analysis {
            vocab: vocab.to_vec(),
            max_len,
            nodes: Vec::with_capacity(graph.nodes.len()),
            selectors: vec![None; graph.selectors.len()],
            spaces: HashMap::new(),
            joints: HashMap::new(),
            key_tuple_ids: HashMap::new(),
            levels: HashMap::new(),
            fixes: Vec::with_capacity(graph.nodes.len()),
            fixed_pairs: HashMap::new(),
            closures: HashMap::new(),
            partial_failures: Vec::new(),
        };
        let budget = crate::memory::Budget::start();
        for id in 0..graph.nodes.len() {
            budget.check().map_err(CompileError::memory)?;
            let values = a.analyse_node(graph, id)?;
            a.nodes.push(values);
            let fixes = a.compute_fixes(graph, id);
            a.fixes.push(fixes);
        }
        Ok(a)
    }

    /// The facts of a selector (computed once).
    pub fn facts(&mut self, graph: &Graph, sel: SelId) -> Rc<SelFacts> {
        if let Some(f) = &self.selectors[sel] {
            return f.clone();
        }
        let nodes = &self.nodes;
        let side = |n: NodeId| match nodes.get(n).map(|v| &v.shape) {
            Some(Shape::Const(c)) => Side::Const(c),
            Some(Shape::Local(l)) => Side::Local(l),
            _ => Side::Other,
        };
        // Keys no two positions share (`indices`, a rank over an order with
        // the index last) make an `==` conjunct a read.
        let fixes = &self.fixes;
        let distinct = |n: NodeId| fixes.get(n).is_some_and(|f| f.distinct);
        let facts = Rc::new(selectors::analyse(
            graph,
            sel,
            self.max_len,
            &side,
            &distinct,
        ));
        self.selectors[sel] = Some(facts.clone());
        facts
    }

    fn analyse_node(&mut self, graph: &Graph, id: NodeId) -> Result<NodeValues, CompileError> {
        let n = self.max_len;
        let v = self.vocab.len();
        let node = &graph.nodes[id];
        let local = |reads: Reads, f: &dyn Fn(local::Context) -> Option<Atom>| {
            Local::tabulate(reads, v, n, f)
        };
        match &node.op {
            Op::Const(c) => Ok(self.constant(c.clone())),
            Op::Tokens(conv) => {
                let vocab = self.vocab.clone();
                let conv = *conv;
                let failure = vocab
                    .iter()
                    .find(|t| convert_token(conv, t).is_none())
                    .map(|t| {
                        format!(
                            "the token {} is not converted by `{}`",
                            t.repr(),
                            conv.name()
                        )
                    });
                let table = local(
                    Reads {
                        token: true,
                        ..Reads::default()
                    },
                    &|c| convert_token(conv, &vocab[c.token]),
                );
                self.local_values(graph, id, table, failure)
            }
            Op::Indices => {
                let table = local(
                    Reads {
                        index: true,
                        ..Reads::default()
                    },
                    &|c| Some(Atom::Int(c.index as i64)),
                );
                self.local_values(graph, id, table, None)
            }
            Op::Length => {
                let table = local(
                    Reads {
                        length: true,
                        ..Reads::default()
                    },
                    &|c| Some(Atom::Int(c.length as i64)),
                );
                self.local_values(graph, id, table, None)
            }
            Op::Map { func, args } => self.map_node(graph, id, func, args),
            Op::Aggregate { selector, .. } | Op::Width(selector) => {
                for leaf in graph.leaves(*selector) {
                    if let SelOp::Select { keys, queries, .. } = graph.selectors[leaf].op {
                        for side in [keys, queries] {
                            if matches!(self.nodes[side].shape, Shape::Span) {
                                return Err(span_read(
                                    graph,
                                    id,
                                    side,
                                    "a selector cannot compare it",
                                ));
                            }
                        }
                    }
                }
                if let Op::Aggregate { values, .. } = &node.op {
                    if matches!(self.nodes[*values].shape, Shape::Span) {
                        return self.mean_span(graph, id).ok_or_else(|| {
                            span_read(graph, id, *values, "a mean with a non-numeric default")
                        });
                    }
                }
                let joint = match self.joint(graph, *selector, &[id]) {
                    Ok(j) => j,
                    Err(size) => {
                        return self
                            .mean_span(graph, id)
                            .ok_or_else(|| CompileError::too_large_values(node, size))
                    }
                };
                let radius = self.member_radius(graph, id);
                let total: usize = joint.iter().map(Vec::len).sum();
                if total > MAX_VALUES * self.max_len {
                    return self
                        .mean_span(graph, id)
                        .ok_or_else(|| CompileError::too_large_values(node, total));
                }
                let per_index: Vec<Rc<ValueSet>> = joint
                    .iter()
                    .map(|tuples| {
                        Rc::new(ValueSet::with_radius(
                            tuples.iter().map(|t| t[0].clone()),
                            radius,
                        ))
                    })
                    .collect();
                let values = self.with_sets(Shape::Attention, per_index);
                if values.all.len() > MAX_VALUES {
                    return self
                        .mean_span(graph, id)
                        .ok_or_else(|| CompileError::too_large_values(node, values.all.len()));
                }
                Ok(values)
            }
        }
    }

    /// A numeric mean whose values are too many to list, as a span: at
    /// every index, between the least and the greatest of the values it
    /// averages and its default. `None` for any other aggregate.
    fn mean_span(&self, graph: &Graph, id: NodeId) -> Option<NodeValues> {
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
        let (mut lo, mut hi) = (d, d);
        for v in self.nodes[*values].all.values() {
            let x = match v {
                Atom::Int(i) => *i as f64,
                Atom::Float(x) if x.is_finite() => *x,
                Atom::Bool(b) => f64::from(u8::from(*b)),
                _ => return None,
            };
            lo = lo.min(x);
            hi = hi.max(x);
        }
        Some(self.span(vec![(lo, hi); self.max_len]))
    }

    /// A span node with these ranges per index.
    fn span(&self, ranges: Vec<(f64, f64)>) -> NodeValues {
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
    fn span_map(&self, func: &crate::eval::map::MapFn, args: &[NodeId]) -> Option<NodeValues> {
        use crate::eval::map::MapFn;
        use crate::syntax::ast::{BinaryOp, UnaryOp};
        let range = |a: NodeId, i: usize| -> Option<(f64, f64)> {
            let set = &self.nodes[a].per_index[i];
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
        };
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

    fn constant(&self, c: Atom) -> NodeValues {
        let set = Rc::new(ValueSet::from_atoms([c.clone()]));
        NodeValues {
            shape: Shape::Const(c),
            per_index: vec![set.clone(); self.max_len],
            all: set,
        }
    }

    fn with_sets(&self, shape: Shape, per_index: Vec<Rc<ValueSet>>) -> NodeValues {
        let all = if per_index.windows(2).all(|w| Rc::ptr_eq(&w[0], &w[1])) {
            per_index
                .first()
                .cloned()
                .unwrap_or_else(|| Rc::new(ValueSet::default()))
        } else {
            Rc::new(ValueSet::union_all(per_index.iter().map(|s| s.as_ref())))
        };
        NodeValues {
            shape,
            per_index,
            all,
        }
    }

    /// A local node's values; `failure` names a failing case if the table
    /// was built from a map.
    fn local_values(
        &mut self,
        graph: &Graph,
        id: NodeId,
        table: Local,
        failure: Option<String>,
    ) -> Result<NodeValues, CompileError> {
        let per_index: Vec<Vec<Atom>> = (0..self.max_len)
            .map(|i| {
                table
                    .contexts_at(i)
                    .iter()
                    .filter_map(|c| table.at(*c).cloned())
                    .collect()
            })
            .collect();
        self.finish_values(graph, id, Shape::Local(Rc::new(table)), per_index, failure)
    }

    /// Builds a node's value sets, failing if it has no value anywhere and
    /// noting a partial failure.
    fn finish_values(
        &mut self,
        graph: &Graph,
        id: NodeId,
        shape: Shape,
        per_index: Vec<Vec<Atom>>,
        failure: Option<String>,
    ) -> Result<NodeValues, CompileError> {
        if per_index.iter().all(Vec::is_empty) {
            return Err(CompileError::fails_everywhere(
                &graph.nodes[id],
                failure.unwrap_or_else(|| "it has no value on any input".into()),
            ));
        }
        if let Some(example) = failure {
            self.partial_failures
                .push(PartialFailure { node: id, example });
        }
        let mut sets: Vec<Rc<ValueSet>> = Vec::with_capacity(per_index.len());
        let mut total = 0usize;
        for atoms in per_index {
            // The distinct values (a map over many tuples has few values).
            let set = ValueSet::from_atoms(atoms);
            total += set.len();
            if total > MAX_VALUES * self.max_len.max(1) {
                return Err(CompileError::too_large_values(&graph.nodes[id], total));
            }
            match sets.last() {
                Some(last) if same_atoms(last.values(), set.values()) => sets.push(last.clone()),
                _ => sets.push(Rc::new(set)),
            }
        }
        Ok(self.with_sets(shape, sets))
    }

    fn map_node(
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
            if fuzzy {
                if let Ok(base) = func.apply(&refs) {
                    match radius_spread(func, &values, &radii, &base) {
                        Some(spread) if arithmetic || spread == 0.0 => {
                            out_radius = out_radius.max(spread);
                        }
                        _ => {
                            return Err(CompileError::at_node(
                                super::error::CompileErrorKind::Precision,
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
            match func.apply(&refs) {
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
                if e.kind == super::error::CompileErrorKind::TooLarge
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
    fn int_interval(
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

    /// The support a node brings to a map that reads it.
    pub fn support_of(&self, graph: &Graph, node: NodeId) -> Support {
        match &self.nodes[node].shape {
            Shape::Const(_) => Support::default(),
            Shape::Local(_) => Support {
                locals: vec![node],
                ..Support::default()
            },
            Shape::Attention => Support {
                groups: vec![(graph.nodes[node].op.selector().unwrap_or(0), vec![node])],
                ..Support::default()
            },
            Shape::Derived { space, .. } => space.support.clone(),
            Shape::Interval | Shape::Span => Support {
                frees: vec![node],
                ..Support::default()
            },
        }
    }

    /// The support of a node taken as an independent quantity.
    fn support_cut(&self, node: NodeId) -> Support {
        match &self.nodes[node].shape {
            Shape::Const(_) => Support::default(),
            _ => Support {
                frees: vec![node],
                ..Support::default()
            },
        }
    }

    /// How to read a node's value from the tuples of `space`.
    fn reader(&self, node: NodeId, space: &TupleSpace) -> Result<ValueReader, ()> {
        if let Some(p) = space.coords.iter().position(|c| *c == node) {
            return Ok(ValueReader::Coord(p, node));
        }
        match &self.nodes[node].shape {
            Shape::Const(c) => Ok(ValueReader::Const(c.clone())),
            Shape::Derived { space: own, table } => {
                let proj = projection(&own.coords, &space.coords).ok_or(())?;
                Ok(ValueReader::Project {
                    proj,
                    space: own.clone(),
                    table: table.clone(),
                })
            }
            _ => Err(()),
        }
    }

    /// The tuple space of a support (built once).
    pub fn space(&mut self, graph: &Graph, support: &Support) -> Result<Rc<TupleSpace>, usize> {
        if let Some(s) = self.spaces.get(support) {
            return Ok(s.clone());
        }
        let mut space = TupleSpace::new(support.clone(), self.max_len);
        // The joint values of each group (a group too large to take jointly
        // is split into independent members).
        let mut groups: Vec<Rc<Vec<Vec<Vec<Atom>>>>> = Vec::new();
        let mut group_members: Vec<Vec<NodeId>> = Vec::new();
        for (sel, members) in &support.groups {
            match self.joint(graph, *sel, members) {
                Ok(j) => {
                    groups.push(j);
                    group_members.push(members.clone());
                }
                Err(_) => {
                    for m in members {
                        let j = self.joint(graph, *sel, &[*m])?;
                        groups.push(j);
                        group_members.push(vec![*m]);
                    }
                }
            }
        }
        let reads =
            support
                .locals
                .iter()
                .fold(Reads::default(), |r, l| match &self.nodes[*l].shape {
                    Shape::Local(t) => r.union(t.reads),
                    _ => r,
                });
        for i in 0..self.max_len {
            let mut lists: Vec<Vec<Vec<u32>>> = Vec::new();
            // Locals, together.
            let mut joint: Vec<Vec<u32>> = Vec::new();
            for c in contexts_at(reads, self.vocab.len(), self.max_len, i) {
                let values: Option<Vec<u32>> = support
                    .locals
                    .iter()
                    .map(|l| match &self.nodes[*l].shape {
                        Shape::Local(t) => t
                            .at(c)
                            .and_then(|a| self.nodes[*l].all.position(a))
                            .map(|p| p as u32),
                        _ => None,
                    })
                    .collect();
                if let Some(v) = values {
                    joint.push(v);
                }
            }
            joint.sort_unstable();
            joint.dedup();
            lists.push(joint);
            for f in &support.frees {
                let set = &self.nodes[*f].per_index[i];
                lists.push(
                    set.values()
                        .iter()
                        .filter_map(|a| self.nodes[*f].all.position(a))
                        .map(|p| vec![p as u32])
                        .collect(),
                );
            }
            for (g, members) in groups.iter().zip(&group_members) {
                let tuples: Vec<Vec<u32>> = g[i]
                    .iter()
                    .filter_map(|t| {
                        t.iter()
                            .zip(members)
                            .map(|(a, m)| self.nodes[*m].all.position(a).map(|p| p as u32))
                            .collect()
                    })
                    .collect();
                lists.push(tuples);
            }
            let size: usize = lists
                .iter()
                .map(Vec::len)
                .try_fold(1usize, |acc, l| acc.checked_mul(l))
                .unwrap_or(usize::MAX);
            if size.saturating_add(space.len()) > TUPLE_BUDGET {
                return Err(size.saturating_add(space.len()));
            }
            // Reorder group coordinates to the support's member order: the
            // split groups keep the members' order, which is ascending.
            for_each_product(&lists, |t| space.add(i, t));
        }
        space.finish();
        let space = Rc::new(space);
        self.spaces.insert(support.clone(), space.clone());
        Ok(space)
    }

    /// The joint values of `members` (attention outputs over `sel`) at each
    /// query index: one vector of member values per combination.
    fn joint(
        &mut self,
        graph: &Graph,
        sel: SelId,
        members: &[NodeId],
    ) -> Result<Rc<Vec<Vec<Vec<Atom>>>>, usize> {
        let key = (sel, members.to_vec());
        if let Some(j) = self.joints.get(&key) {
            return Ok(j.clone());
        }
        let facts = self.facts(graph, sel);
        // The value columns the members read, and each member's form.
        let mut columns: Vec<NodeId> = Vec::new();
        let mut forms: Vec<Member> = Vec::with_capacity(members.len());
        for &m in members {
            match &graph.nodes[m].op {
                Op::Aggregate {
                    values, default, ..
                } => {
                    let column = match columns.iter().position(|c| c == values) {
                        Some(p) => p,
                        None => {
                            columns.push(*values);
                            columns.len() - 1
                        }
                    };
                    let set = &self.nodes[*values].all;
                    forms.push(Member::Aggregate {
                        column,
                        default: default.clone(),
                        numeric: set.has_numbers(),
                        float: set.values().iter().any(|a| matches!(a, Atom::Float(_))),
                    });
                }
                _ => forms.push(Member::Width),
            }
        }
        let n = self.max_len;
        let exact_positions = facts.exact.is_some()
            && columns.iter().all(|c| match &self.nodes[*c].shape {
                Shape::Const(_) => true,
                Shape::Local(l) => l.reads.position_only(),
                _ => false,
            });
        let position_columns = columns.iter().all(|c| match &self.nodes[*c].shape {
            Shape::Const(_) => true,
            Shape::Local(l) => l.reads.position_only(),
            _ => false,
        });
        if !exact_positions && position_columns && n.pow(4) / 24 <= 20_000_000 {
            let nodes = &self.nodes;
            let side = |x: NodeId| match nodes.get(x).map(|v| &v.shape) {
                Some(Shape::Const(c)) => Side::Const(c),
                Some(Shape::Local(l)) => Side::Local(l),
                _ => Side::Other,
            };
            if let Some(anchor) = selectors::anchor(graph, sel, n, &side) {
                if let Some(out) = self.anchored(&anchor, &facts, &columns, &forms) {
                    let out = Rc::new(out);
                    self.joints.insert(key, out.clone());
                    return Ok(out);
                }
            }
        }
        let mut out: Vec<Vec<Vec<Atom>>> = vec![Vec::new(); n];
        if exact_positions {
            let exact = facts.exact.as_deref().unwrap_or(&[]);
            for (len_minus_one, rows) in exact.iter().enumerate() {
                let len = len_minus_one + 1;
                for (i, keys) in rows.iter().enumerate() {
                    let mut vector = Vec::with_capacity(members.len());
                    for form in &forms {
                        match form {
                            Member::Width => vector.push(Atom::Int(keys.len() as i64)),
                            Member::Aggregate {
                                column, default, ..
                            } => {
                                let values: Option<Vec<Atom>> = keys
                                    .iter()
                                    .map(|&k| {
                                        self.position_value(columns[*column], k as usize, len)
                                    })
                                    .collect();
                                let Some(values) = values else { break };
                                let refs: Vec<&Atom> = values.iter().collect();
                                match interpreter_aggregate(&refs, default) {
                                    Some(v) => vector.push(v),
                                    None => break,
                                }
                            }
                        }
                    }
                    if vector.len() == members.len() {
                        out[i].push(vector);
                    }
                }
            }
            for list in &mut out {
                dedup_vectors(list);
            }
        } else {
            // The tuples the value columns take together at each key.
            let at_key = self.key_tuples(graph, &columns)?;
            let by_id: HashMap<usize, Vec<Atom>> = at_key
                .iter()
                .flatten()
                .map(|(id, t)| (*id, t.clone()))
                .collect();
            // Every key one query selects holds one tuple of the columns:
            // the members are that tuple's values (as the interpreter
            // averages `m` equal values), not means of several.
            let uniform = !columns.is_empty() && self.uniform_keys(graph, sel, &columns);
            for i in 0..n {
                let mut ids: Vec<usize> = (0..n)
                    .filter(|&k| facts.keys[i][k])
                    .flat_map(|k| at_key[k].iter().map(|(id, _)| *id))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                let tuples: Vec<Vec<Atom>> =
                    ids.iter().filter_map(|id| by_id.get(id).cloned()).collect();
                out[i] = if uniform {
                    uniform_values(&forms, &tuples, &facts.counts[i])
                } else {
                    joint_values(&forms, &tuples, &facts.counts[i], &mut self.levels, &ids)
                        .map_err(|e| e.size)?
                };
            }
        }
        let out = Rc::new(out);
        self.joints.insert(key, out.clone());
        Ok(out)
    }

    /// The joint values of a group whose selector always selects the keys
    /// `anchor[n-1][i]` and may select others, over position-only value
    /// columns: the anchored keys' values, plus any number of the others,
    /// which must all hold the same values (else `None`: not this case).
    fn anchored(
        &self,
        anchor: &[Vec<Vec<u16>>],
        facts: &SelFacts,
        columns: &[NodeId],
        forms: &[Member],
    ) -> Option<Vec<Vec<Vec<Atom>>>> {
        let n_max = self.max_len;
        let mut out: Vec<Vec<Vec<Atom>>> = vec![Vec::new(); n_max];
        for (len_minus_one, rows) in anchor.iter().enumerate() {
            let len = len_minus_one + 1;
            for (i, fixed) in rows.iter().enumerate() {
                let column_at = |k: usize| -> Option<Vec<Atom>> {
                    columns
                        .iter()
                        .map(|c| self.position_value(*c, k, len))
                        .collect()
                };
                let fixed_values: Vec<Vec<Atom>> = fixed
                    .iter()
                    .map(|&k| column_at(k as usize))
                    .collect::<Option<_>>()?;
                let others: Vec<usize> = (0..len)
                    .filter(|&k| facts.keys[i][k] && fixed.binary_search(&(k as u16)).is_err())
                    .collect();
                let mut other_values: Vec<Vec<Atom>> = Vec::new();
                for &k in &others {
                    let v = column_at(k)?;
                    if !other_values.iter().any(|o| same_atoms(o, &v)) {
                        other_values.push(v);
                    }
                }
                if other_values.len() > 1 {
                    return None;
                }
                for extra in 0..=others.len() {
                    let mut vector = Vec::with_capacity(forms.len());
                    for form in forms {
                        match form {
                            Member::Width => vector.push(Atom::Int((fixed.len() + extra) as i64)),
                            Member::Aggregate {
                                column, default, ..
                            } => {
                                let mut picked: Vec<&Atom> =
                                    fixed_values.iter().map(|v| &v[*column]).collect();
                                if let Some(o) = other_values.first() {
                                    picked.extend(std::iter::repeat_n(&o[*column], extra));
                                }
                                match interpreter_aggregate(&picked, default) {
                                    Some(v) => vector.push(v),
                                    None => break,
                                }
                            }
                        }
                    }
                    if vector.len() == forms.len() {
                        out[i].push(vector);
                    }
                }
            }
        }
        for list in &mut out {
            dedup_vectors(list);
        }
        Some(out)
    }

    /// The value of a position-only node at position `k` of a length-`n` input.
    fn position_value(&self, node: NodeId, k: usize, n: usize) -> Option<Atom> {
        match &self.nodes[node].shape {
            Shape::Const(c) => Some(c.clone()),
            Shape::Local(l) => l
                .at(local::Context {
                    token: 0,
                    index: k,
                    length: n,
                })
                .cloned(),
            _ => None,
        }
    }

    /// For each key position, the distinct tuples of `columns`' values that
    /// occur there, each with a global id.
    fn key_tuples(&mut self, graph: &Graph, columns: &[NodeId]) -> Result<KeyTuples, usize> {
        let n = self.max_len;
        let mut support = Support::default();
        for &c in columns {
            support = support.union(&self.support_of(graph, c));
        }
        let space = match self.space(graph, &support) {
            Ok(s) => s,
            Err(_) => {
                let mut cut = Support::default();
                for &c in columns {
                    cut = cut.union(&self.support_cut(c));
                }
                self.space(graph, &cut)?
            }
        };
        let readers: Vec<ValueReader> = columns
            .iter()
            .map(|&c| self.reader(c, &space))
            .collect::<Result<_, _>>()
            .map_err(|()| 0usize)?;
        let mut out: Vec<Vec<(usize, Vec<Atom>)>> = vec![Vec::new(); n];
        let mut cache: HashMap<u32, Option<Vec<Atom>>> = HashMap::new();
        for k in 0..n {
            for &t in &space.by_index[k] {
                let tuple = cache
                    .entry(t)
                    .or_insert_with(|| {
                        readers
                            .iter()
                            .map(|r| r.read(self, &space.tuples[t as usize]))
                            .collect()
                    })
                    .clone();
                let Some(tuple) = tuple else { continue };
                let key: Vec<(u8, crate::eval::atom::AtomKey)> =
                    tuple.iter().map(|a| (tag(a), a.key())).collect();
                let next = self.key_tuple_ids.len();
                let id = *self.key_tuple_ids.entry(key).or_insert(next);
                if !out[k].iter().any(|(x, _)| *x == id) {
                    out[k].push((id, tuple));
                }
            }
        }
        Ok(out)
    }

    /// The radius of a float mean's values.
    fn member_radius(&self, graph: &Graph, id: NodeId) -> f64 {
        match &graph.nodes[id].op {
            Op::Aggregate { values, .. } => {
                let set = &self.nodes[*values].all;
                let floats = set.values().iter().any(|a| matches!(a, Atom::Float(_)));
                if floats {
                    float_radius(self.max_len, set.magnitude()).max(set.radius)
                } else {
                    0.0
                }
            }
            _ => 0.0,
        }
    }

    /// The value of `node` for every tuple of `space` (`None` where
    /// undefined).
    pub fn values_over(&self, node: NodeId, space: &TupleSpace) -> Option<Vec<Option<Atom>>> {
        let reader = self.reader(node, space).ok()?;
        Some(space.tuples.iter().map(|t| reader.read(self, t)).collect())
    }
}

/// How a node's value is read from a tuple of some space.
enum ValueReader {
    Const(Atom),
    /// Coordinate `p` of the tuple, the value of node `node`.
    Coord(usize, NodeId),
    /// The node's own table, at the tuple projected onto its space.
    Project {
        proj: Vec<usize>,
        space: Rc<TupleSpace>,
        table: Rc<Vec<Option<Atom>>>,
    },
}

impl ValueReader {
    fn read(&self, a: &Analysis, tuple: &[u32]) -> Option<Atom> {
        match self {
            ValueReader::Const(c) => Some(c.clone()),
            ValueReader::Coord(p, node) => {
                a.nodes[*node].all.values().get(tuple[*p] as usize).cloned()
            }
            ValueReader::Project { proj, space, table } => {
                let part: Vec<u32> = proj.iter().map(|&p| tuple[p]).collect();
                let id = space.find(&part)?;
                table[id as usize].clone()
            }
        }
    }
}

fn tag(a: &Atom) -> u8 {
    match a {
        Atom::Int(_) => 0,
        Atom::Float(_) => 1,
        Atom::Bool(_) => 2,
        Atom::Str(_) => 3,
    }
}

/// The joint values of members over a selector whose selected keys all
/// hold one tuple: per tuple and per possible count `m`, the members'
/// values over `m` copies of it (the default where `m` is 0).
fn uniform_values(forms: &[Member], tuples: &[Vec<Atom>], counts: &[bool]) -> Vec<Vec<Atom>> {
    let mut out: Vec<Vec<Atom>> = Vec::new();
    for (m, _) in counts.iter().enumerate().filter(|(_, b)| **b) {
        let empty: [Vec<Atom>; 1] = [Vec::new()];
        let picks: &[Vec<Atom>] = if m == 0 { &empty } else { tuples };
        for tuple in picks {
            let mut vector = Vec::with_capacity(forms.len());
            for form in forms {
                match form {
                    Member::Width => vector.push(Atom::Int(m as i64)),
                    Member::Aggregate {
                        column, default, ..
                    } => {
                        let picked: Vec<&Atom> = match tuple.get(*column) {
                            Some(v) => std::iter::repeat_n(v, m).collect(),
                            None => Vec::new(),
                        };
                        match interpreter_aggregate(&picked, default) {
                            Some(v) => vector.push(v),
                            None => break,
                        }
                    }
                }
            }
            if vector.len() == forms.len() {
                out.push(vector);
            }
        }
    }
    dedup_vectors(&mut out);
    out
}

fn dedup_vectors(list: &mut Vec<Vec<Atom>>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|v| seen.insert(v.iter().map(|a| (tag(a), a.key())).collect::<Vec<_>>()));
}

fn same_atoms(a: &[Atom], b: &[Atom]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| set::same_atom(x, y))
}

fn describe_failure(values: &[&Atom], err: &MapError) -> String {
    let kind: crate::eval::error::ErrorKind = err.clone().into();
    let shown: Vec<String> = values.iter().map(|a| a.repr()).collect();
    format!("on ({}): {kind}", shown.join(", "))
}

/// What `tokens_*` makes of one vocabulary entry (`None` where it fails).
pub fn convert_token(conv: TokenConv, token: &Atom) -> Option<Atom> {
    match conv {
        TokenConv::Str => Some(token.to_str()),
        TokenConv::Int => token.to_int().ok(),
        TokenConv::Float => token.to_float().ok(),
        TokenConv::Bool => Some(token.to_bool()),
        TokenConv::AsIs => Some(token.clone()),
    }
}

#[cfg(test)]
mod tests;

/// The error of a node reading span `span` where it cannot.
fn span_read(graph: &Graph, id: NodeId, span: NodeId, why: &str) -> CompileError {
    CompileError::at_node(
        super::error::CompileErrorKind::Unsupported,
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
fn radius_spread(func: &MapFn, values: &[Atom], radii: &[f64], base: &Atom) -> Option<f64> {
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
