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
mod joint;
pub mod local;
mod maps;
use maps::span_read;
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
            budget.check_now().map_err(CompileError::exceeded)?;
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
