//! What one node's value at a position determines there, within one input.
//!
//! `K` *fixes* `C` when, in every input, two positions with equal values of
//! `K` hold equal values of `C`. An aggregate over `select(K, q, ==)` (or a
//! conjunction with it) then averages keys that all hold one value of `C`:
//! its result is that value, not a mean of several, so its value set is
//! `C`'s values (and the default) rather than every mean of them. And where
//! `K` fixes the position itself (no two positions share a value of `K`),
//! the select picks at most one key: a read.
//!
//! What is proved, node by node (inputs before readers, no recursion):
//! - a node fixes itself; constants and length-only nodes are fixed by
//!   anything;
//! - a local node fixes another local node when, at every length, each of
//!   its values occurs with one value of the other (checked on the tables);
//! - a map of one input that no two input values share (injective) fixes
//!   what its input fixes; a map is fixed by whatever fixes its inputs;
//! - a count of keys ordered before the query (`selector_width` of selects
//!   comparing nodes with themselves, or a sum of such counts whose
//!   selectors never overlap) fixes the nodes of the order, when the
//!   selectors together are a lexicographic order on them (`x' < x`, or
//!   `x' < x or (x' == x and i' < i)`): such a count is the rank of the
//!   query's tuple, and equal ranks are equal tuples.

use std::collections::HashMap;
use std::rc::Rc;

use super::local::{Context, Local};
use super::selectors::distinct_local;
use super::{Analysis, Shape};
use crate::compile::graph::{Graph, NodeId, Op, SelId, SelOp};
use crate::eval::atom::{Atom, AtomKey};
use crate::eval::map::MapFn;
use crate::syntax::ast::{BinaryOp, CmpOp};

/// What a node fixes.
#[derive(Debug, Clone, Default)]
pub struct Fixes {
    /// Nodes whose value this node's value determines directly (an
    /// injective map's input, a rank's ordered nodes); what those determine
    /// follows ([`Analysis::closure`]).
    pub direct: Vec<NodeId>,
    /// No two positions of one input hold equal values of this node.
    pub distinct: bool,
    /// The selectors whose widths this node sums (plus a constant), if it
    /// is such a count.
    pub counts: Option<Vec<SelId>>,
}

/// Most distinct nodes one order may compare.
const MAX_ORDER_NODES: usize = 4;
/// Most nodes [`Analysis::fixed_by`] walks.
const WALK_BUDGET: usize = 256;

impl Analysis {
    /// The fixes of node `id`, from those of its inputs.
    pub(super) fn compute_fixes(&mut self, graph: &Graph, id: NodeId) -> Rc<Fixes> {
        let mut f = Fixes::default();
        if matches!(self.nodes[id].shape, Shape::Span) {
            // Its sets are not its values: nothing is known of it.
            return Rc::new(f);
        }
        if let Shape::Local(l) = &self.nodes[id].shape {
            f.distinct = distinct_local(l, self.max_len);
        }
        match &graph.nodes[id].op {
            Op::Width(sel) => f.counts = Some(vec![*sel]),
            Op::Map { func, args } => {
                let live: Vec<NodeId> = args
                    .iter()
                    .copied()
                    .filter(|a| !matches!(self.nodes[*a].shape, Shape::Const(_)))
                    .collect();
                if let [a] = live[..] {
                    if self.injective(func, args, a) {
                        f.direct.push(a);
                        f.distinct |= self.fixes[a].distinct;
                    }
                    // A count plus or minus a constant is still a count.
                    if matches!(
                        func,
                        MapFn::Binary(BinaryOp::Add) | MapFn::Binary(BinaryOp::Sub)
                    ) && (args[0] == a || matches!(func, MapFn::Binary(BinaryOp::Add)))
                    {
                        f.counts = self.fixes[a].counts.clone();
                    }
                } else if let (MapFn::Binary(BinaryOp::Add), [a, b]) = (func, &args[..]) {
                    if let (Some(x), Some(y)) = (&self.fixes[*a].counts, &self.fixes[*b].counts) {
                        f.counts = Some(x.iter().chain(y).copied().collect());
                    }
                }
            }
            _ => {}
        }
        if let Some(sels) = &f.counts {
            if let Some(order) = self.order_nodes(graph, sels) {
                for x in order {
                    if !f.direct.contains(&x) {
                        f.direct.push(x);
                    }
                    f.distinct |= self.fixes[x].distinct;
                }
            }
        }
        Rc::new(f)
    }

    /// Whether a map of one live input `a` gives different values for
    /// different values of `a` (over every value `a` can take).
    fn injective(&self, func: &MapFn, args: &[NodeId], a: NodeId) -> bool {
        let values = self.nodes[a].all.values();
        let mut seen: HashMap<AtomKey, AtomKey> = HashMap::new();
        for v in values {
            let atoms: Option<Vec<Atom>> = args
                .iter()
                .map(|x| match &self.nodes[*x].shape {
                    Shape::Const(c) => Some(c.clone()),
                    _ if *x == a => Some(v.clone()),
                    _ => None,
                })
                .collect();
            let Some(atoms) = atoms else { return false };
            let refs: Vec<&Atom> = atoms.iter().collect();
            let Ok(out) = func.apply(&refs) else { continue };
            if let Some(prev) = seen.insert(out.key(), v.key()) {
                if prev != v.key() {
                    return false;
                }
            }
        }
        true
    }

    /// For a count of the keys that the selectors `sels` (which never
    /// overlap) select, the nodes of the lexicographic order they form
    /// together, if they form one.
    fn order_nodes(&self, graph: &Graph, sels: &[SelId]) -> Option<Vec<NodeId>> {
        let mut leaves: Vec<Vec<SelId>> = Vec::new();
        let mut xs: Vec<NodeId> = Vec::new();
        for &s in sels {
            let ls = graph.leaves(s);
            for &l in &ls {
                let SelOp::Select { keys, queries, .. } = graph.selectors[l].op else {
                    return None;
                };
                if keys != queries || !self.totally_ordered(keys) {
                    return None;
                }
                if !xs.contains(&keys) {
                    xs.push(keys);
                }
            }
            leaves.push(ls);
        }
        let m = xs.len();
        if m == 0 || m > MAX_ORDER_NODES {
            return None;
        }
        // Every relation of key to query per node: 0 less, 1 equal, 2 greater.
        let cases = 3usize.pow(m as u32);
        let mut union = vec![false; cases];
        for (case, slot) in union.iter_mut().enumerate() {
            let rel = relations(case, m);
            let mut any = 0;
            for (s, ls) in sels.iter().zip(&leaves) {
                let truth: Vec<bool> = ls
                    .iter()
                    .map(|&l| match graph.selectors[l].op {
                        SelOp::Select { keys, op, .. } => {
                            let x = xs.iter().position(|n| *n == keys).unwrap_or(0);
                            holds(op, rel[x])
                        }
                        _ => false,
                    })
                    .collect();
                if graph.eval_tree(*s, ls, &truth) {
                    any += 1;
                }
            }
            if any > 1 {
                return None;
            }
            *slot = any == 1;
        }
        // A lexicographic order on a prefix of some ordering of the nodes,
        // each ascending or descending, strict or not.
        let perms = permutations(m);
        for perm in &perms {
            for p in 1..=m {
                for dirs in 0..(1usize << p) {
                    for strict in [true, false] {
                        let matches = (0..cases).all(|case| {
                            let rel = relations(case, m);
                            let lex = perm[..p]
                                .iter()
                                .enumerate()
                                .find(|(_, x)| rel[**x] != 1)
                                .map_or(!strict, |(j, x)| {
                                    let ascending = dirs & (1 << j) == 0;
                                    rel[*x] == if ascending { 0 } else { 2 }
                                });
                            union[case] == lex
                        });
                        if matches {
                            return Some(perm[..p].iter().map(|&j| xs[j]).collect());
                        }
                    }
                }
            }
        }
        None
    }

    /// Whether every value of the node compares with every other by `<`.
    fn totally_ordered(&self, node: NodeId) -> bool {
        let values = self.nodes[node].all.values();
        let strings = values.iter().all(|v| matches!(v, Atom::Str(_)));
        let numbers = values.iter().all(|v| {
            matches!(v, Atom::Int(_) | Atom::Float(_) | Atom::Bool(_)) && v.key() == v.key()
        });
        let nan = values
            .iter()
            .any(|v| matches!(v, Atom::Float(x) if x.is_nan()));
        (strings || numbers) && !nan
    }

    /// Whether, within one input, equal values of `k` at two positions mean
    /// equal values of `c` there.
    pub fn fixed_by(&mut self, graph: &Graph, k: NodeId, c: NodeId) -> bool {
        if let Some(&known) = self.fixed_pairs.get(&(k, c)) {
            return known;
        }
        let roots = self.closure(k);
        let mut stack = vec![c];
        let mut seen: Vec<NodeId> = Vec::new();
        let mut result = true;
        while let Some(x) = stack.pop() {
            if roots.contains(&x) || seen.contains(&x) {
                continue;
            }
            seen.push(x);
            if seen.len() > WALK_BUDGET {
                result = false;
                break;
            }
            let node = self.nodes[x].clone();
            match &node.shape {
                Shape::Const(_) => continue,
                Shape::Local(l) if !l.reads.token && !l.reads.index => continue,
                Shape::Local(l) => {
                    let by_root = roots.iter().any(|r| match &self.nodes[*r].shape {
                        Shape::Local(rl) => local_fixes(rl, l, self.max_len, self.vocab.len()),
                        _ => false,
                    });
                    if by_root {
                        continue;
                    }
                }
                _ => {}
            }
            match &graph.nodes[x].op {
                Op::Map { args, .. } if !args.is_empty() => stack.extend(args.iter().copied()),
                _ => {
                    result = false;
                    break;
                }
            }
        }
        self.fixed_pairs.insert((k, c), result);
        result
    }

    /// The nodes whose values `k`'s value determines: `k` and, through the
    /// direct links, what they determine (at most [`WALK_BUDGET`] nodes; a
    /// closure cut short claims less, never more).
    fn closure(&mut self, k: NodeId) -> Rc<std::collections::HashSet<NodeId>> {
        if let Some(c) = self.closures.get(&k) {
            return c.clone();
        }
        let mut seen = std::collections::HashSet::from([k]);
        let mut stack = vec![k];
        while let Some(x) = stack.pop() {
            for &y in &self.fixes[x].direct {
                if seen.len() >= WALK_BUDGET {
                    break;
                }
                if seen.insert(y) {
                    stack.push(y);
                }
            }
        }
        let c = Rc::new(seen);
        self.closures.insert(k, c.clone());
        c
    }

    /// Whether every key a selector selects for one query holds one value
    /// of each of `columns`: the selector is a conjunction with
    /// `select(K, q, ==)` where `K` fixes every column.
    pub fn uniform_keys(&mut self, graph: &Graph, sel: SelId, columns: &[NodeId]) -> bool {
        graph
            .conjuncts(sel)
            .iter()
            .any(|&c| match graph.selectors[c].op {
                SelOp::Select {
                    keys,
                    op: CmpOp::Eq,
                    ..
                } => columns.iter().all(|&col| self.fixed_by(graph, keys, col)),
                _ => false,
            })
    }
}

/// The relation (0 less, 1 equal, 2 greater) of each of `m` nodes in case
/// number `case`.
fn relations(case: usize, m: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(m);
    let mut c = case;
    for _ in 0..m {
        out.push((c % 3) as u8);
        c /= 3;
    }
    out
}

/// Whether `key op query` holds when the key relates to the query by `rel`.
fn holds(op: CmpOp, rel: u8) -> bool {
    match op {
        CmpOp::Eq => rel == 1,
        CmpOp::Ne => rel != 1,
        CmpOp::Lt => rel == 0,
        CmpOp::Le => rel <= 1,
        CmpOp::Gt => rel == 2,
        CmpOp::Ge => rel >= 1,
    }
}

fn permutations(m: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new()];
    for _ in 0..m {
        let mut next = Vec::new();
        for p in &out {
            for x in 0..m {
                if !p.contains(&x) {
                    let mut q = p.clone();
                    q.push(x);
                    next.push(q);
                }
            }
        }
        out = next;
    }
    out
}

/// The lengths at which two local tables must be compared: every length
/// where either reads it, else the longest (which holds every index).
fn lengths(a: &Local, b: &Local, max_len: usize) -> Vec<usize> {
    if a.reads.length || b.reads.length {
        (1..=max_len).collect()
    } else {
        vec![max_len]
    }
}

/// Whether local `r`'s value determines local `c`'s at every length.
fn local_fixes(r: &Local, c: &Local, max_len: usize, vocab: usize) -> bool {
    let tokens = if r.reads.token || c.reads.token {
        vocab
    } else {
        1
    };
    for n in lengths(r, c, max_len) {
        let mut seen: HashMap<AtomKey, Option<AtomKey>> = HashMap::new();
        for k in 0..n {
            for t in 0..tokens {
                let ctx = Context {
                    token: t,
                    index: k,
                    length: n,
                };
                let Some(rv) = r.at(ctx) else { continue };
                let cv = c.at(ctx).map(Atom::key);
                match seen.get(&rv.key()) {
                    Some(prev) if *prev != cv && prev.is_some() && cv.is_some() => return false,
                    Some(_) => {}
                    None => {
                        seen.insert(rv.key(), cv);
                    }
                }
            }
        }
    }
    true
}
