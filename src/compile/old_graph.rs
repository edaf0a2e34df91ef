//! The compile graph: the s-op DAG reduced to what a transformer computes.
//!
//! Walking the DAG in topological order, each s-op becomes one of:
//!
//! - an *embedding* node: a function of the input token alone (`tokens`, and
//!   maps of it) or of the position alone (`indices`, and maps of it),
//!   tabulated into the token or position embedding;
//! - an *MLP* node: a map of other nodes. Chains of maps are fused: a map that
//!   only other maps read is never materialised, its function is inlined into
//!   its readers (an expression over the materialised sources);
//! - an *attention* node: `aggregate`, `selector_width`, `length`;
//! - a *conversion*: a numerical node read where one-hot values are needed.
//!
//! Every node gets its value set and its encoding: numerical (one dimension,
//! the number) for means of numbers, categorical (one dimension per value)
//! otherwise.

use std::borrow::Cow;
use std::collections::HashMap;

use super::error::CompileError;
use super::old_values::{means, ValueSet};
use crate::eval::atom::Atom;
use crate::eval::map::{MapError, MapFn};
use crate::eval::sop::{
    topological_order, Node, NodeId, Origin, SOp, SOpKind, Selector, SelectorKind, TokenConv,
};

/// A node's index in the graph.
pub type Id = usize;

/// A fused element-wise function of a node's sources.
#[derive(Debug, Clone)]
pub enum Expr {
    /// The value of the i-th source.
    Source(usize),
    Const(Atom),
    /// `func` applied to the arguments; `sop` is the map s-op this part
    /// of the expression came from.
    Apply(MapFn, Vec<Expr>, NodeId),
}

impl Expr {
    /// Evaluates the expression on one tuple of source values.
    pub fn eval(&self, sources: &[&Atom]) -> Result<Atom, MapError> {
        Ok(self.value(sources)?.into_owned())
    }

    /// The value, borrowed where it is a source or a constant (tables are
    /// evaluated millions of times: no allocation for up to three arguments).
    fn value<'a>(&'a self, sources: &[&'a Atom]) -> Result<Cow<'a, Atom>, MapError> {
        match self {
            Expr::Source(i) => Ok(Cow::Borrowed(sources[*i])),
            Expr::Const(a) => Ok(Cow::Borrowed(a)),
            Expr::Apply(func, args, _) => Ok(Cow::Owned(match args.as_slice() {
                [] => func.apply(&[])?,
                [a] => func.apply(&[a.value(sources)?.as_ref()])?,
                [a, b] => {
                    let (x, y) = (a.value(sources)?, b.value(sources)?);
                    func.apply(&[x.as_ref(), y.as_ref()])?
                }
                [a, b, c] => {
                    let (x, y, z) = (a.value(sources)?, b.value(sources)?, c.value(sources)?);
                    func.apply(&[x.as_ref(), y.as_ref(), z.as_ref()])?
                }
                _ => {
                    let values = args
                        .iter()
                        .map(|a| a.value(sources))
                        .collect::<Result<Vec<_>, _>>()?;
                    let refs: Vec<&Atom> = values.iter().map(|v| v.as_ref()).collect();
                    func.apply(&refs)?
                }
            })),
        }
    }

    fn shifted(&self, map: &[usize]) -> Expr {
        match self {
            Expr::Source(i) => Expr::Source(map[*i]),
            Expr::Const(a) => Expr::Const(a.clone()),
            Expr::Apply(f, args, id) => Expr::Apply(
                f.clone(),
                args.iter().map(|a| a.shifted(map)).collect(),
                *id,
            ),
        }
    }

    /// The sources this expression reads, as a sorted list of indices.
    fn reads(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Source(i) => out.push(*i),
                Expr::Const(_) => {}
                Expr::Apply(_, args, _) => stack.extend(args),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// One conjunct of a selector: a predicate on (key value, query value) of
/// one keys node and one queries node.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub keys: Id,
    pub queries: Id,
    /// `pred[k][q]`: whether a key of value index `k` is selected by a query
    /// of value index `q`.
    pub pred: Vec<Vec<bool>>,
}

/// What a node computes.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A function of the input token: `table[i]` for vocabulary entry `i`
    /// (`None` where the function fails).
    Token(Vec<Option<Atom>>),
    /// A function of the position: `table[i]` for index `i`.
    Position(Vec<Option<Atom>>),
    /// A constant (never stored in the residual stream: it reads `one`).
    Const(Atom),
    /// An MLP: `expr` of the sources' values. The source at `numeric`, if
    /// any, is read as a number (a numerical node, or a width's `1/(w+1)`)
    /// through steps gated by the others' one-hot values.
    Map {
        sources: Vec<Id>,
        expr: Expr,
        numeric: Option<usize>,
        /// Two widths read together as one number (see [`Pair`]).
        pair: Option<Pair>,
    },
    /// An MLP reading a numerical node into one-hot values.
    Convert { source: Id },
    /// An MLP giving the one-hot tuple of several categorical nodes (value
    /// `i` is `tuples[i]`): the keys or queries of a select tree that compares
    /// more than one node on one side.
    Product {
        sources: Vec<Id>,
        tuples: Vec<Vec<Atom>>,
    },
    /// An attention head; `groups` are a conjunction.
    Aggregate {
        groups: Vec<Group>,
        values: Id,
        default: Atom,
    },
    /// An attention head counting selected keys, then an MLP.
    Width { groups: Vec<Group> },
    /// The sequence length (a width over every key).
    Length,
}

/// Two `selector_width`/`length` sources of a map (at `first` and `second`)
/// read through the single number `t = code₁ + weight·code₂`, where each
/// code is what the width's attention writes (see [`GNode::width_code`]).
/// Chosen only where `t` keeps every two pairs of counts that the map must
/// tell apart at least `gap` apart, with `span/gap` small (see
/// [`PAIR_SPAN_LIMIT`]). It lets a map of two counts from one attention layer
/// run in the MLP of that same layer.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    pub first: usize,
    pub second: usize,
    pub weight: f64,
    /// The smallest distance in `t` between pairs of counts with different
    /// outputs.
    pub gap: f64,
}

/// The largest ratio of a pair read's range to its smallest gap: it bounds
/// the size of the MLP's pre-activations (about 4× the ratio) and so their f32
/// rounding error (below 4·limit·2⁻²³ ≈ 5·10⁻⁴ per unit).
pub const PAIR_SPAN_LIMIT: f64 = 1024.0;

#[derive(Debug, Clone)]
pub struct GNode {
    pub kind: Kind,
    pub values: ValueSet,
    /// One dimension holding the number, rather than one per value.
    pub numerical: bool,
    pub label: String,
    pub origin: Option<Origin>,
    /// For `selector_width` and `length`: the weight β of BOS against one
    /// selected key, so the attention writes `β/(w+β)`; 1 unless a pair read
    /// chose more (a larger β makes the codes nearly linear in `w`).
    pub bos_weight: f64,
    /// For `selector_width` and `length`: the smallest difference in the
    /// code some reader must tell apart, beyond the code's own gaps.
    pub read_gap: f64,
}

impl GNode {
    /// What a width's attention writes for `w` selected keys: `β/(w+β)`.
    pub fn width_code(&self, w: f64) -> f64 {
        self.bos_weight / (w + self.bos_weight)
    }

    /// Whether this is a `selector_width` or `length` node.
    pub fn is_width(&self) -> bool {
        matches!(self.kind, Kind::Width { .. } | Kind::Length)
    }
}

/// The whole graph; `nodes` are in dependency order.
#[derive(Debug, Clone)]
pub struct Graph {
    pub nodes: Vec<GNode>,
    pub output: Id,
    pub vocab: Vec<Atom>,
    pub max_len: usize,
}

/// Limits on what one node may cost.
pub const MAX_VALUES: usize = 20_000;
pub const MAX_TUPLES: usize = 200_000;
/// A fused map whose single MLP would need more steps or table rows than
/// this is split into features (see `Builder::split`).
pub const SPLIT_ABOVE: usize = 512;

/// An s-op as the builder sees it: a materialised node, or an expression
/// over materialised nodes still to be inlined into its readers.
#[derive(Clone)]
enum Repr {
    Node(Id),
    Inline { sources: Vec<Id>, expr: Expr },
}

struct Builder<'a> {
    vocab: &'a [Atom],
    max_len: usize,
    nodes: Vec<GNode>,
    reprs: HashMap<u64, Repr>,
    forced: HashMap<u64, Id>,
    converted: HashMap<Id, Id>,
    /// Attention layers needed before each node is known.
    depth: Vec<usize>,
    /// Every s-op visited, by id (to materialise part of a fused map).
    sops: HashMap<NodeId, SOp>,
    /// Product nodes by their sources.
    products: HashMap<Vec<Id>, Id>,
}

/// Builds the compile graph of `root` for inputs over `vocab` of lengths
/// `1..=max_len`.
pub fn build(root: &SOp, vocab: &[Atom], max_len: usize) -> Result<Graph, CompileError> {
    let mut b = Builder {
        vocab,
        max_len,
        nodes: Vec::new(),
        reprs: HashMap::new(),
        forced: HashMap::new(),
        converted: HashMap::new(),
        depth: Vec::new(),
        sops: HashMap::new(),
        products: HashMap::new(),
    };
    for node in topological_order(&[Node::SOp(root.clone())]) {
        if let Node::SOp(sop) = node {
            let repr = b.repr_of(&sop)?;
            b.reprs.insert(sop.id(), repr);
            b.sops.insert(sop.id(), sop);
        }
    }
    let mut output = b.force(root)?;

    if let Kind::Const(a) = &b.nodes[output].kind {
        // A constant output still needs its dimensions: tabulate it by position.
        let table = vec![Some(a.clone()); max_len];
        output = b.push(
            Kind::Position(table),
            ValueSet::from_atoms([a.clone()]),
            false,
            root,
        );
    }
    Ok(Graph {
        nodes: b.nodes,
        output,
        vocab: vocab.to_vec(),
        max_len,
    })
}

fn too_large(sop: &SOp, what: &str, size: u128, limit: usize) -> CompileError {
    CompileError::too_large(
        sop,
        format!("{what} has {size} elements, more than the limit of {limit}"),
    )
}

impl Builder<'_> {
    fn push(&mut self, kind: Kind, values: ValueSet, numerical: bool, sop: &SOp) -> Id {
        let inputs: Vec<Id> = match &kind {
            Kind::Map { sources, .. } => sources.clone(),
            Kind::Convert { source } => vec![*source],
            Kind::Product { sources, .. } => sources.clone(),
            Kind::Aggregate { groups, values, .. } => groups
                .iter()
                .flat_map(|g| [g.keys, g.queries])
                .chain([*values])
                .collect(),
            Kind::Width { groups } => groups.iter().flat_map(|g| [g.keys, g.queries]).collect(),
            _ => Vec::new(),
        };
        let below = inputs.iter().map(|i| self.depth[*i]).max().unwrap_or(0);
        let attention = matches!(
            kind,
            Kind::Aggregate { .. } | Kind::Width { .. } | Kind::Length
        );
        self.depth.push(below + usize::from(attention));
        self.nodes.push(GNode {
            kind,
            values,
            numerical,
            label: sop.label(),
            origin: sop.origin().cloned(),
            bos_weight: 1.0,
            read_gap: f64::INFINITY,
        });
        self.nodes.len() - 1
    }

    fn repr_of(&mut self, sop: &SOp) -> Result<Repr, CompileError> {
        let n = self.max_len;
        Ok(match sop.kind() {
            SOpKind::Tokens(conv) => {
                let table: Vec<Option<Atom>> =
                    self.vocab.iter().map(|t| convert_token(*conv, t)).collect();
                let values = ValueSet::from_atoms(table.iter().flatten().cloned());
                Repr::Node(self.push(Kind::Token(table), values, false, sop))
            }
            SOpKind::Indices => {
                let table: Vec<Option<Atom>> = (0..n).map(|i| Some(Atom::Int(i as i64))).collect();
                let values = ValueSet::from_atoms(table.iter().flatten().cloned());
                Repr::Node(self.push(Kind::Position(table), values, false, sop))
            }
            SOpKind::Length => {
                let values = ValueSet::from_atoms((1..=n).map(|i| Atom::Int(i as i64)));
                Repr::Node(self.push(Kind::Length, values, false, sop))
            }
            SOpKind::Const(a) => Repr::Inline {
                sources: Vec::new(),
                expr: Expr::Const(a.clone()),
            },
            SOpKind::Map { func, args } => {
                // Inline the arguments, except that when the map would read
                // more than one number, an argument holding one that is ready
                // an attention layer before the latest is materialised (its
                // MLP runs earlier; it becomes an exact one-hot input).
                let mut reprs = Vec::with_capacity(args.len());
                for arg in args {
                    let repr = self.reprs.get(&arg.id()).cloned().ok_or_else(|| {
                        CompileError::internal("a map's input was not visited first")
                    })?;
                    reprs.push(repr);
                }
                // How many of an argument's sources satisfy `pred`.
                let count = |r: &Repr, nodes: &[GNode], pred: fn(&GNode) -> bool| match r {
                    Repr::Node(id) => usize::from(pred(&nodes[*id])),
                    Repr::Inline { sources, .. } => {
                        sources.iter().filter(|s| pred(&nodes[**s])).count()
                    }
                };
                let numerical: fn(&GNode) -> bool = |n| n.numerical;
                let number_like: fn(&GNode) -> bool = |n| n.numerical || n.is_width();
                // An argument already materialised (a select reads it, say)
                // is read as its node when inlining it would leave more than
                // two counts or numbers to read.
                let mut reads: usize = reprs
                    .iter()
                    .map(|r| count(r, &self.nodes, number_like))
                    .sum();
                for (repr, arg) in reprs.iter_mut().zip(args) {
                    if reads <= 2 {
                        break;
                    }
                    let inline = match repr {
                        Repr::Inline { .. } => count(repr, &self.nodes, number_like),
                        Repr::Node(_) => 0,
                    };
                    if let (true, Some(&id)) = (inline > 0, self.forced.get(&arg.id())) {
                        *repr = Repr::Node(id);
                        reads = reads - inline + count(repr, &self.nodes, number_like);
                    }
                }
                let numerical_in = |r: &Repr, nodes: &[GNode]| count(r, nodes, numerical);
                let total: usize = reprs.iter().map(|r| numerical_in(r, &self.nodes)).sum();
                if total > 1 {
                    let level = |r: &Repr, b: &Builder| match r {
                        Repr::Node(id) => b.depth[*id],
                        Repr::Inline { sources, .. } => {
                            sources.iter().map(|s| b.depth[*s]).max().unwrap_or(0)
                        }
                    };
                    let latest = reprs
                        .iter()
                        .filter(|r| numerical_in(r, &self.nodes) > 0)
                        .map(|r| level(r, self))
                        .max()
                        .unwrap_or(0);
                    for (repr, arg) in reprs.iter_mut().zip(args) {
                        if matches!(repr, Repr::Inline { .. })
                            && numerical_in(repr, &self.nodes) > 0
                            && level(repr, self) < latest
                        {
                            *repr = Repr::Node(self.force(arg)?);
                        }
                    }
                }
                let mut sources: Vec<Id> = Vec::new();
                let mut exprs = Vec::with_capacity(args.len());
                for repr in reprs {
                    match repr {
                        Repr::Node(id) => {
                            let pos = index_of(&mut sources, id);
                            exprs.push(Expr::Source(pos));
                        }
                        Repr::Inline {
                            sources: inner,
                            expr,
                        } => {
                            let map: Vec<usize> =
                                inner.iter().map(|id| index_of(&mut sources, *id)).collect();
                            exprs.push(expr.shifted(&map));
                        }
                    }
                }
                Repr::Inline {
                    sources,
                    expr: Expr::Apply(func.clone(), exprs, sop.id()),
                }
            }
            SOpKind::Aggregate {
                selector,
                values,
                default,
            } => {
                let groups = self.groups(selector)?;
                let vals = self.force(values)?;
                let vnode = &self.nodes[vals];
                let numeric = vnode.numerical || vnode.values.is_numeric();
                let vals = if numeric || !vnode.numerical {
                    vals
                } else {
                    self.convert(vals, values)?
                };
                let node_values = self.nodes[vals].values.clone();
                let (set, numerical) = if numeric {
                    if !matches!(default, Atom::Int(_) | Atom::Float(_)) {
                        return Err(CompileError::unsupported(
                            sop,
                            format!(
                                "a mean of numbers with the non-numeric default {}",
                                default.repr()
                            ),
                        ));
                    }
                    let extra =
                        means(node_values.values(), self.max_len, MAX_VALUES).map_err(|_| {
                            too_large(
                                sop,
                                "the set of possible means",
                                MAX_VALUES as u128 + 1,
                                MAX_VALUES,
                            )
                        })?;
                    let set = ValueSet::from_atoms(
                        node_values
                            .values()
                            .iter()
                            .cloned()
                            .chain(extra.into_iter().map(Atom::Float))
                            .chain([default.clone()]),
                    );
                    (set, true)
                } else {
                    (
                        node_values.union(&ValueSet::from_atoms([default.clone()])),
                        false,
                    )
                };
                if set.len() > MAX_VALUES {
                    return Err(too_large(
                        sop,
                        "the value set",
                        set.len() as u128,
                        MAX_VALUES,
                    ));
                }
                Repr::Node(self.push(
                    Kind::Aggregate {
                        groups,
                        values: vals,
                        default: default.clone(),
                    },
                    set,
                    numerical,
                    sop,
                ))
            }
            SOpKind::SelectorWidth(selector) => {
                let groups = self.groups(selector)?;
                let values = ValueSet::from_atoms((0..=n).map(|i| Atom::Int(i as i64)));
                Repr::Node(self.push(Kind::Width { groups }, values, false, sop))
            }
        })
    }

    /// The materialised node for `sop` (creating it from an inline form).
    fn force(&mut self, sop: &SOp) -> Result<Id, CompileError> {
        if let Some(id) = self.forced.get(&sop.id()) {
            return Ok(*id);
        }
        let repr = self
            .reprs
            .get(&sop.id())
            .cloned()
            .ok_or_else(|| CompileError::internal("an s-op was read before it was visited"))?;
        let id = match repr {
            Repr::Node(id) => id,
            Repr::Inline { sources, expr } => self.materialize(sop, sources, expr)?,
        };
        self.forced.insert(sop.id(), id);
        Ok(id)
    }

    fn materialize(&mut self, sop: &SOp, sources: Vec<Id>, expr: Expr) -> Result<Id, CompileError> {
        if sources.is_empty() {
            let value = expr
                .eval(&[])
                .map_err(|e| CompileError::map_fails(sop, e))?;
            return Ok(self.push(
                Kind::Const(value.clone()),
                ValueSet::from_atoms([value]),
                false,
                sop,
            ));
        }
        let all = |pred: fn(&Kind) -> bool| sources.iter().all(|s| pred(&self.nodes[*s].kind));
        if all(|k| matches!(k, Kind::Token(_))) || all(|k| matches!(k, Kind::Position(_))) {
            let by_token = matches!(self.nodes[sources[0]].kind, Kind::Token(_));
            let rows = if by_token {
                self.vocab.len()
            } else {
                self.max_len
            };
            let mut table = Vec::with_capacity(rows);
            for row in 0..rows {
                let args: Option<Vec<Atom>> = sources
                    .iter()
                    .map(|s| match &self.nodes[*s].kind {
                        Kind::Token(t) | Kind::Position(t) => t.get(row).cloned().flatten(),
                        _ => None,
                    })
                    .collect();
                let refs: Option<Vec<&Atom>> = args.as_ref().map(|a| a.iter().collect());
                table.push(refs.and_then(|r| expr.eval(&r).ok()));
            }
            let values = ValueSet::from_atoms(table.iter().flatten().cloned());
            let kind = if by_token {
                Kind::Token(table)
            } else {
                Kind::Position(table)
            };
            return Ok(self.push(kind, values, false, sop));
        }
        // One MLP reads at most one number, through steps gated by the exact
        // one-hot values of the other sources. A map beyond that, or one whose
        // table would be too large, is split: each largest part of its
        // expression that one MLP computes cheaply, or that reads one number
        // alone, becomes a node of its own (a feature, one MLP earlier), and
        // the map reads the features.
        let table: u128 = sources
            .iter()
            .map(|s| self.nodes[*s].values.len() as u128)
            .product();
        let numeric_read = sources
            .iter()
            .any(|s| self.nodes[*s].numerical || self.nodes[*s].is_width());
        let limit = if numeric_read {
            MAX_TUPLES
        } else {
            8 * SPLIT_ABOVE
        };
        let (mut sources, expr) = if self.direct(&sources) && table <= limit as u128 {
            (sources, expr)
        } else {
            let mut split = Vec::new();
            let flat = self.split(&sources, &expr, true, &mut split)?;
            let rows: u128 = split
                .iter()
                .map(|s| self.nodes[*s].values.len() as u128)
                .product();
            if rows > (8 * SPLIT_ABOVE) as u128 {
                // Still a large table: make each argument of the outermost
                // function a node of its own (split in turn).
                self.split_arguments(&sources, &expr)?
            } else {
                (split, flat)
            }
        };
        // Numbers still read beside others become one-hot values first.
        if !self.direct(&sources) {
            for s in sources.iter_mut() {
                if self.nodes[*s].numerical {
                    *s = self.convert(*s, sop)?;
                }
            }
        }
        let sets: Vec<&ValueSet> = sources.iter().map(|s| &self.nodes[*s].values).collect();
        let tuples: u128 = sets.iter().map(|s| s.len() as u128).product();
        if tuples > MAX_TUPLES as u128 {
            return Err(too_large(sop, "the table of this map", tuples, MAX_TUPLES));
        }
        let mut out = Vec::new();
        for_each_tuple(&sets, |tuple| {
            if let Ok(v) = expr.eval(tuple) {
                out.push(v);
            }
        });
        let values = ValueSet::from_atoms(out);
        if values.len() > MAX_VALUES {
            return Err(too_large(
                sop,
                "the value set",
                values.len() as u128,
                MAX_VALUES,
            ));
        }
        let others_exact = sources.iter().all(|s| self.is_exact(*s));
        let mut pair = None;
        let numeric = match sources.iter().position(|s| self.nodes[*s].numerical) {
            Some(p) => Some(p),
            None => {
                // A width read as its code is ready one MLP sooner; read the
                // latest one so, when the other sources are exact. Two widths
                // from the latest attention layer are read together when a
                // good pair read exists.
                let widths: Vec<usize> = (0..sources.len())
                    .filter(|i| self.nodes[sources[*i]].is_width())
                    .collect();
                let latest = widths
                    .iter()
                    .copied()
                    .max_by_key(|i| self.depth[sources[*i]]);
                if let (true, [a, b]) = (others_exact, widths.as_slice()) {
                    if self.depth[sources[*a]] == self.depth[sources[*b]] {
                        pair = self.choose_pair(&sources, &expr, &values, *a, *b);
                    }
                }
                if pair.is_some() {
                    None
                } else {
                    latest.filter(|_| others_exact)
                }
            }
        };
        if let Some(p) = pair {
            let (a, b) = (sources[p.first], sources[p.second]);
            let na = &mut self.nodes[a];
            na.read_gap = na.read_gap.min(p.gap / (1.0 + p.weight));
            let nb = &mut self.nodes[b];
            nb.read_gap = nb.read_gap.min(p.gap * p.weight / (1.0 + p.weight));
        }
        Ok(self.push(
            Kind::Map {
                sources,
                expr,
                numeric,
                pair,
            },
            values,
            false,
            sop,
        ))
    }

    /// The best pair read of the widths at `a` and `b` among the map's
    /// `sources` (the others exact one-hot gates), if one is good enough.
    /// Candidates: BOS weights β (kept if a width already has one) and
    /// weights of the second code; the pick minimises range/gap of `t`.
    fn choose_pair(
        &mut self,
        sources: &[Id],
        expr: &Expr,
        out: &ValueSet,
        a: usize,
        b: usize,
    ) -> Option<Pair> {
        let n = self.max_len as f64;
        let (wa, wb) = (sources[a], sources[b]);
        if wa == wb {
            return None;
        }
        let counts = |id: Id| -> Vec<f64> {
            self.nodes[id]
                .values
                .values()
                .iter()
                .map(super::old_values::as_f64)
                .collect()
        };
        let (ca, cb) = (counts(wa), counts(wb));
        // Which pairs of counts any gate tuple maps to different outputs.
        let others: Vec<usize> = (0..sources.len()).filter(|i| *i != a && *i != b).collect();
        let sets: Vec<&ValueSet> = others
            .iter()
            .map(|i| &self.nodes[sources[*i]].values)
            .collect();
        let gates = all_tuples(&sets);
        if gates.len().saturating_mul(ca.len() * cb.len()) > MAX_TUPLES {
            return None;
        }
        let va = self.nodes[wa].values.values().to_vec();
        let vb = self.nodes[wb].values.values().to_vec();
        let mut signature: Vec<Vec<Option<usize>>> = Vec::with_capacity(va.len() * vb.len());
        for x in &va {
            for y in &vb {
                let sig = gates
                    .iter()
                    .map(|g| {
                        let mut args: Vec<&Atom> = Vec::with_capacity(sources.len());
                        let mut rest = g.iter();
                        for i in 0..sources.len() {
                            if i == a {
                                args.push(x);
                            } else if i == b {
                                args.push(y);
                            } else {
                                args.push(rest.next()?);
                            }
                        }
                        expr.eval(&args).ok().and_then(|v| out.position(&v))
                    })
                    .collect();
                signature.push(sig);
            }
        }
        let fixed = |id: Id, nodes: &[GNode]| {
            let w = nodes[id].bos_weight;
            (w != 1.0).then_some(w)
        };
        let betas_for = |id: Id, nodes: &[GNode]| -> Vec<f64> {
            match fixed(id, nodes) {
                Some(w) => vec![w],
                None => vec![1.0, n, n * n, 2.0 * n * n],
            }
        };
        let mut best: Option<(f64, f64, f64, f64, f64)> = None; // (ratio, βa, βb, weight, gap)
        for &beta_a in &betas_for(wa, &self.nodes) {
            for &beta_b in &betas_for(wb, &self.nodes) {
                for weight in [1.0, 2.0, 0.5, n + 1.0, 1.0 / (n + 1.0)] {
                    let mut ts: Vec<(f64, usize)> = Vec::with_capacity(signature.len());
                    for (i, x) in ca.iter().enumerate() {
                        for (j, y) in cb.iter().enumerate() {
                            let t = beta_a / (x + beta_a) + weight * beta_b / (y + beta_b);
                            ts.push((t, i * cb.len() + j));
                        }
                    }
                    ts.sort_by(|p, q| p.0.total_cmp(&q.0));
                    let mut gap = f64::INFINITY;
                    for w in ts.windows(2) {
                        if signature[w[0].1] != signature[w[1].1] {
                            gap = gap.min(w[1].0 - w[0].0);
                        }
                    }
                    let span = ts.last().map_or(0.0, |l| l.0) - ts.first().map_or(0.0, |f| f.0);
                    if gap.is_nan() || gap <= 0.0 {
                        continue;
                    }
                    let ratio = if gap.is_finite() { span / gap } else { 1.0 };
                    if best.is_none_or(|b| ratio < b.0) {
                        best = Some((ratio, beta_a, beta_b, weight, gap.min(span.max(1e-3))));
                    }
                }
            }
        }
        let (ratio, beta_a, beta_b, weight, gap) = best?;
        if ratio > PAIR_SPAN_LIMIT {
            return None;
        }
        self.nodes[wa].bos_weight = beta_a;
        self.nodes[wb].bos_weight = beta_b;
        Some(Pair {
            first: a,
            second: b,
            weight,
            gap,
        })
    }

    /// Whether one MLP can compute a function of `sources` directly: at most
    /// one is read as a number, and then the others are exact one-hot values.
    fn direct(&self, sources: &[Id]) -> bool {
        let numerical = sources.iter().filter(|s| self.nodes[**s].numerical).count();
        let inexact = sources
            .iter()
            .any(|s| !self.nodes[*s].numerical && !self.is_exact(*s));
        numerical == 0 || (numerical == 1 && !inexact)
    }

    /// Whether one MLP computes a function of `sources` directly and with
    /// few units: a bound on its steps (gates times points read) or table
    /// rows is at most [`SPLIT_ABOVE`].
    fn cheap(&self, sources: &[Id]) -> bool {
        if !self.direct(sources) {
            return false;
        }
        let read = sources
            .iter()
            .position(|s| self.nodes[*s].numerical)
            .or_else(|| {
                sources
                    .iter()
                    .position(|s| matches!(self.nodes[*s].kind, Kind::Width { .. } | Kind::Length))
            });
        let cost: u128 = sources
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let len = self.nodes[*s].values.len() as u128;
                if Some(i) == read {
                    len + 1
                } else {
                    len
                }
            })
            .product();
        cost <= SPLIT_ABOVE as u128
    }

    /// Rewrites `expr` over `sources` so that each largest cheap part below
    /// the root reads a node of its own; `out` collects the new sources.
    fn split(
        &mut self,
        sources: &[Id],
        expr: &Expr,
        root: bool,
        out: &mut Vec<Id>,
    ) -> Result<Expr, CompileError> {
        Ok(match expr {
            Expr::Source(i) => Expr::Source(index_of(out, sources[*i])),
            Expr::Const(a) => Expr::Const(a.clone()),
            Expr::Apply(func, args, id) => {
                let reads: Vec<Id> = expr.reads().iter().map(|i| sources[*i]).collect();
                let compressing = matches!(reads.as_slice(), [one] if self.nodes[*one].numerical);
                if !root && (self.cheap(&reads) || compressing) {
                    if let Some(part) = self.sops.get(id).cloned() {
                        let feature = self.force(&part)?;
                        return Ok(Expr::Source(index_of(out, feature)));
                    }
                }
                let mut split = Vec::with_capacity(args.len());
                for arg in args {
                    split.push(self.split(sources, arg, false, out)?);
                }
                Expr::Apply(func.clone(), split, *id)
            }
        })
    }

    /// `expr` with each argument of its outermost function materialised.
    fn split_arguments(
        &mut self,
        sources: &[Id],
        expr: &Expr,
    ) -> Result<(Vec<Id>, Expr), CompileError> {
        let mut out = Vec::new();
        let Expr::Apply(func, args, id) = expr else {
            let e = self.split(sources, expr, true, &mut out)?;
            return Ok((out, e));
        };
        let mut split = Vec::with_capacity(args.len());
        for arg in args {
            split.push(match arg {
                Expr::Source(i) => Expr::Source(index_of(&mut out, sources[*i])),
                Expr::Const(a) => Expr::Const(a.clone()),
                Expr::Apply(_, _, part) => match self.sops.get(part).cloned() {
                    Some(sop) => Expr::Source(index_of(&mut out, self.force(&sop)?)),
                    None => self.split(sources, arg, false, &mut out)?,
                },
            });
        }
        Ok((out, Expr::Apply(func.clone(), split, *id)))
    }

    /// Whether a categorical node's one-hot values are exact: everything but
    /// attention outputs, which are sharp but not hard.
    fn is_exact(&self, id: Id) -> bool {
        !matches!(self.nodes[id].kind, Kind::Aggregate { .. })
    }

    /// A categorical copy of a numerical node.
    fn convert(&mut self, id: Id, sop: &SOp) -> Result<Id, CompileError> {
        if let Some(c) = self.converted.get(&id) {
            return Ok(*c);
        }
        let values = self.nodes[id].values.clone();
        let c = self.push(Kind::Convert { source: id }, values, false, sop);
        self.nodes[c].label = format!("{}(one-hot)", self.nodes[id].label);
        self.converted.insert(id, c);
        Ok(c)
    }

    /// A selector as a conjunction of predicate groups, one per distinct
    /// (keys, queries) pair.
    fn groups(&mut self, selector: &Selector) -> Result<Vec<Group>, CompileError> {
        let mut conjuncts: Vec<&Selector> = Vec::new();
        let mut stack = vec![selector];
        while let Some(s) = stack.pop() {
            match s.kind() {
                SelectorKind::And(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                _ => conjuncts.push(s),
            }
        }
        let mut groups: Vec<Group> = Vec::new();
        for conjunct in conjuncts {
            // The selects of an `or`/`not` tree (or a lone select), each with
            // its keys and queries nodes.
            let mut leaves: Vec<(&Selector, Id, Id)> = Vec::new();
            let mut stack = vec![conjunct];
            while let Some(s) = stack.pop() {
                match s.kind() {
                    SelectorKind::Select { keys, queries, .. } => {
                        let k = self.categorical(keys)?;
                        let q = self.categorical(queries)?;
                        leaves.push((s, k, q));
                    }
                    SelectorKind::And(a, b) | SelectorKind::Or(a, b) => {
                        stack.push(b);
                        stack.push(a);
                    }
                    SelectorKind::Not(a) => stack.push(a),
                }
            }
            // Keys and queries are read through one base node each: a node
            // of the tree itself (queries' nodes first), onto which every
            // other is a table of the same token or position.
            let candidates: Vec<Id> = leaves
                .iter()
                .map(|l| l.2)
                .chain(leaves.iter().map(|l| l.1))
                .collect();
            let base_of = |b: &Builder, side: &dyn Fn(&(&Selector, Id, Id)) -> Id| {
                candidates.iter().find_map(|&base| {
                    let views: Option<Vec<Vec<Option<Atom>>>> =
                        leaves.iter().map(|l| b.view_on(side(l), base)).collect();
                    views.map(|v| (base, v))
                })
            };
            // Failing that, through the one-hot tuple of the side's nodes (an
            // MLP before the head).
            let mut sides = Vec::with_capacity(2);
            for side in [|l: &(&Selector, Id, Id)| l.1, |l: &(&Selector, Id, Id)| l.2] {
                let found = match base_of(self, &side) {
                    Some(found) => found,
                    None => {
                        let mut nodes: Vec<Id> = Vec::new();
                        for l in &leaves {
                            index_of(&mut nodes, side(l));
                        }
                        let product = self.product(conjunct, nodes)?;
                        let views: Option<Vec<Vec<Option<Atom>>>> = leaves
                            .iter()
                            .map(|l| self.view_on(side(l), product))
                            .collect();
                        let views = views.ok_or_else(|| {
                            CompileError::internal("a node is not part of its product")
                        })?;
                        (product, views)
                    }
                };
                sides.push(found);
            }
            let (queries, query_views) = sides.pop().unwrap_or_default();
            let (keys, key_views) = sides.pop().unwrap_or_default();
            let (nk, nq) = (
                self.nodes[keys].values.len(),
                self.nodes[queries].values.len(),
            );
            let pred: Vec<Vec<bool>> = (0..nk)
                .map(|k| {
                    (0..nq)
                        .map(|q| {
                            predicate(conjunct, &|leaf: &Selector| {
                                let i = leaves.iter().position(|l| std::ptr::eq(l.0, leaf))?;
                                Some((key_views[i][k].as_ref()?, query_views[i][q].as_ref()?))
                            })
                        })
                        .collect()
                })
                .collect();
            match groups
                .iter_mut()
                .find(|g| g.keys == keys && g.queries == queries)
            {
                Some(g) => {
                    for (row, new) in g.pred.iter_mut().zip(pred) {
                        for (cell, p) in row.iter_mut().zip(new) {
                            *cell = *cell && p;
                        }
                    }
                }
                None => groups.push(Group {
                    keys,
                    queries,
                    pred,
                }),
            }
        }
        Ok(groups)
    }

    /// The product node of `nodes` (one-hot over every tuple of their values).
    fn product(&mut self, sel: &Selector, nodes: Vec<Id>) -> Result<Id, CompileError> {
        if let Some(id) = self.products.get(&nodes) {
            return Ok(*id);
        }
        let size: u128 = nodes
            .iter()
            .map(|n| self.nodes[*n].values.len() as u128)
            .product();
        if size > MAX_VALUES as u128 {
            return Err(CompileError::too_large_selector(
                sel,
                format!(
                    "the tuples of the nodes this selector compares number {size}, more than the limit of {MAX_VALUES}"
                ),
            ));
        }
        let sets: Vec<&ValueSet> = nodes.iter().map(|n| &self.nodes[*n].values).collect();
        let mut tuples: Vec<Vec<Atom>> = Vec::new();
        for_each_tuple(&sets, |t| {
            tuples.push(t.iter().map(|a| (*a).clone()).collect())
        });
        let values = ValueSet::from_atoms((0..tuples.len()).map(|i| Atom::Int(i as i64)));
        let label = format!(
            "({})",
            nodes
                .iter()
                .map(|n| self.nodes[*n].label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let below = nodes.iter().map(|n| self.depth[*n]).max().unwrap_or(0);
        self.depth.push(below);
        self.nodes.push(GNode {
            kind: Kind::Product {
                sources: nodes.clone(),
                tuples,
            },
            values,
            numerical: false,
            label,
            origin: sel.origin().cloned(),
            bos_weight: 1.0,
            read_gap: f64::INFINITY,
        });
        let id = self.nodes.len() - 1;
        self.products.insert(nodes, id);
        Ok(id)
    }

    /// The values of node `id` as seen through node `base`: `of[b]` is its
    /// value wherever `base` holds its value `b`. Defined when the two are
    /// the same node, or tables of the same token or position with `base`
    /// one-to-one (and defined wherever `id` is).
    fn view_on(&self, id: Id, base: Id) -> Option<Vec<Option<Atom>>> {
        let base_values = &self.nodes[base].values;
        if id == base {
            return Some(base_values.values().iter().cloned().map(Some).collect());
        }
        if let Kind::Product { sources, tuples } = &self.nodes[base].kind {
            let at = sources.iter().position(|s| *s == id)?;
            return Some(tuples.iter().map(|t| t.get(at).cloned()).collect());
        }
        let (table, base_table) = match (&self.nodes[id].kind, &self.nodes[base].kind) {
            (Kind::Token(t), Kind::Token(b)) | (Kind::Position(t), Kind::Position(b)) => (t, b),
            _ => return None,
        };
        let mut of = vec![None; base_values.len()];
        let mut seen = vec![false; base_values.len()];
        for (row, b) in base_table.iter().enumerate() {
            let value = table.get(row).cloned().flatten();
            let Some(b) = b else {
                if value.is_some() {
                    return None;
                }
                continue;
            };
            let i = base_values.position(b)?;
            if std::mem::replace(&mut seen[i], true) {
                return None;
            }
            of[i] = value;
        }
        Some(of)
    }

    fn categorical(&mut self, sop: &SOp) -> Result<Id, CompileError> {
        let id = self.force(sop)?;
        if self.nodes[id].numerical {
            self.convert(id, sop)
        } else {
            Ok(id)
        }
    }
}

/// The position of `id` in `list`, appending it if absent.
fn index_of(list: &mut Vec<Id>, id: Id) -> usize {
    match list.iter().position(|x| *x == id) {
        Some(p) => p,
        None => {
            list.push(id);
            list.len() - 1
        }
    }
}

fn convert_token(conv: TokenConv, token: &Atom) -> Option<Atom> {
    match conv {
        TokenConv::Str => Some(token.to_str()),
        TokenConv::Int => token.to_int().ok(),
        TokenConv::Float => token.to_float().ok(),
        TokenConv::Bool => Some(token.to_bool()),
        TokenConv::AsIs => Some(token.clone()),
    }
}

/// Every tuple of the sets' values, owned (one empty tuple for no sets).
pub fn all_tuples(sets: &[&ValueSet]) -> Vec<Vec<Atom>> {
    let mut tuples = Vec::new();
    for_each_tuple(sets, |t| {
        tuples.push(t.iter().map(|a| (*a).clone()).collect())
    });
    tuples
}

/// Calls `f` on every tuple of the sets' values (an odometer; no recursion;
/// once, with the empty tuple, for no sets).
pub fn for_each_tuple(sets: &[&ValueSet], mut f: impl FnMut(&[&Atom])) {
    if sets.iter().any(|s| s.is_empty()) {
        return;
    }
    let mut digits = vec![0usize; sets.len()];
    let mut tuple: Vec<&Atom> = sets.iter().map(|s| &s.values()[0]).collect();
    loop {
        f(&tuple);
        let mut i = sets.len();
        loop {
            if i == 0 {
                return;
            }
            i -= 1;
            digits[i] += 1;
            if digits[i] < sets[i].len() {
                tuple[i] = &sets[i].values()[digits[i]];
                break;
            }
            digits[i] = 0;
            tuple[i] = &sets[i].values()[0];
        }
    }
}

/// Whether `sel` selects, given for each of its selects the (key value,
/// query value) it compares (`None` where a node has no value there).
fn predicate<'s>(
    sel: &'s Selector,
    values: &dyn Fn(&'s Selector) -> Option<(&Atom, &Atom)>,
) -> bool {
    match sel.kind() {
        SelectorKind::Select { op, .. } => match values(sel) {
            Some((k, q)) => Atom::compare(*op, k, q).unwrap_or(false),
            None => false,
        },
        SelectorKind::And(a, b) => predicate(a, values) && predicate(b, values),
        SelectorKind::Or(a, b) => predicate(a, values) || predicate(b, values),
        SelectorKind::Not(a) => !predicate(a, values),
    }
}
