//! What a selector can select: for each query index, the possible numbers
//! of selected keys and the keys that may be among them; whether it ever
//! selects more than one key (a *read*, whose aggregate is a copy, not a
//! mean); and, for selectors of positions alone, exactly which keys each
//! query selects at each length.
//!
//! A select of position-only nodes (`indices`, `length` and maps of them)
//! is evaluated at every (query index, length) pair. Anything that reads the
//! tokens is bounded instead: its conjuncts that are position-only bound the
//! keys, a reflexive comparison of a node with itself (`==`, `<=`, `>=`)
//! guarantees the query itself, and an `==` on keys that no two positions
//! share (`indices`, `indices - 1`) makes it a read.

use std::collections::HashMap;

use super::local::{Context, Local};
use crate::compile::graph::{Graph, SelId, SelOp};
use crate::eval::atom::{Atom, AtomKey};
use crate::syntax::ast::CmpOp;

/// A node as a selector leaf sees it: a constant or a local table.
pub enum Side<'a> {
    Const(&'a Atom),
    Local(&'a Local),
    /// Not a function of the position (or not tabulated).
    Other,
}

impl Side<'_> {
    fn position_only(&self) -> bool {
        match self {
            Side::Const(_) => true,
            Side::Local(l) => l.reads.position_only(),
            Side::Other => false,
        }
    }

    /// The value at position `k` of a length-`n` input (position-only sides).
    fn at(&self, k: usize, n: usize) -> Option<&Atom> {
        match self {
            Side::Const(a) => Some(a),
            Side::Local(l) => l.at(Context {
                token: 0,
                index: k,
                length: n,
            }),
            Side::Other => None,
        }
    }
}

/// What a selector can select.
#[derive(Debug, Clone)]
pub struct SelFacts {
    /// Every select in it compares position-only nodes.
    pub position_only: bool,
    /// No query ever selects more than one key.
    pub at_most_one: bool,
    /// `counts[i][m]`: a query at index `i` may select `m` keys.
    pub counts: Vec<Vec<bool>>,
    /// `keys[i][k]`: a query at index `i` may select key `k`.
    pub keys: Vec<Vec<bool>>,
    /// For position-only selectors (when small enough): `exact[n-1][i]` is
    /// the ascending list of keys query `i` selects in a length-`n` input.
    pub exact: Option<Vec<Vec<Vec<u16>>>>,
}

/// Work allowed for evaluating a position-only selector at every
/// (query, key, length) triple.
const EXACT_BUDGET: usize = 8_000_000;

impl SelFacts {
    /// The most keys a query at index `i` may select.
    pub fn max_count(&self, i: usize) -> usize {
        self.counts[i].iter().rposition(|&b| b).unwrap_or(0)
    }

    /// Whether a query at index `i` may select nothing.
    pub fn may_be_empty(&self, i: usize) -> bool {
        self.counts[i][0]
    }
}

/// Analyses selector `sel`; `side(node)` describes keys and queries nodes.
pub fn analyse<'a>(
    graph: &Graph,
    sel: SelId,
    max_len: usize,
    side: &dyn Fn(usize) -> Side<'a>,
    distinct: &dyn Fn(usize) -> bool,
) -> SelFacts {
    let n_max = max_len;
    let leaves = graph.leaves(sel);
    let leaf_sides: Vec<(Side, Side, CmpOp)> = leaves
        .iter()
        .map(|&l| match graph.selectors[l].op {
            SelOp::Select { keys, queries, op } => (side(keys), side(queries), op),
            _ => (Side::Other, Side::Other, CmpOp::Eq),
        })
        .collect();
    let position_only = leaf_sides
        .iter()
        .all(|(k, q, _)| k.position_only() && q.position_only());
    let work = n_max * n_max * n_max / 6 * leaves.len().max(1);
    if position_only && work <= EXACT_BUDGET {
        return exact_facts(graph, sel, &leaves, &leaf_sides, n_max);
    }
    if let (true, [(keys, queries, CmpOp::Eq)]) = (position_only, leaf_sides.as_slice()) {
        return equality_facts(keys, queries, n_max);
    }
    // Bounds from the conjuncts.
    let conjuncts = graph.conjuncts(sel);
    let mut keys: Vec<Vec<bool>> = vec![vec![true; n_max]; n_max];
    let mut upper: Vec<usize> = (0..n_max).map(|_| n_max).collect();
    let mut lower: Vec<usize> = vec![0; n_max];
    let mut at_most_one = false;
    let mut reflexive = true;
    let mut has_other = false;
    for &c in &conjuncts {
        let c_leaves = graph.leaves(c);
        let sides: Vec<(Side, Side, CmpOp)> = c_leaves
            .iter()
            .map(|&l| match graph.selectors[l].op {
                SelOp::Select { keys, queries, op } => (side(keys), side(queries), op),
                _ => (Side::Other, Side::Other, CmpOp::Eq),
            })
            .collect();
        let c_pos = sides
            .iter()
            .all(|(k, q, _)| k.position_only() && q.position_only());
        if let SelOp::Select {
            keys: kn,
            queries: qn,
            op,
        } = graph.selectors[c].op
        {
            if op == CmpOp::Eq && distinct(kn) {
                at_most_one = true;
            }
            if !c_pos {
                has_other = true;
                reflexive &= kn == qn && matches!(op, CmpOp::Eq | CmpOp::Le | CmpOp::Ge);
            }
        } else if !c_pos {
            has_other = true;
            reflexive = false;
        }
        if c_pos && c_leaves.len() * work / leaves.len().max(1) > EXACT_BUDGET {
            // Not evaluated: nothing is known of whether it keeps the query.
            lower.iter_mut().for_each(|l| *l = usize::MAX);
        }
        if c_pos && c_leaves.len() * work / leaves.len().max(1) <= EXACT_BUDGET {
            let facts = exact_facts(graph, c, &c_leaves, &sides, n_max);
            for i in 0..n_max {
                for k in 0..n_max {
                    keys[i][k] &= facts.keys[i][k];
                }
                upper[i] = upper[i].min(facts.max_count(i));
                // The query itself is always selected by this conjunct.
                let has_self = facts.exact.as_ref().is_some_and(|e| {
                    (i + 1..=n_max).all(|n| e[n - 1][i].binary_search(&(i as u16)).is_ok())
                });
                if !has_self {
                    lower[i] = usize::MAX;
                }
            }
        }
    }
    let mut counts = vec![vec![false; n_max + 1]; n_max];
    for i in 0..n_max {
        let lo = if reflexive && has_other && lower[i] != usize::MAX {
            1
        } else {
            0
        };
        let hi = upper[i].min(keys[i].iter().filter(|b| **b).count());
        let hi = if at_most_one { hi.min(1) } else { hi };
        for m in lo..=hi.max(lo) {
            counts[i][m] = true;
        }
    }
    SelFacts {
        position_only: false,
        at_most_one,
        counts,
        keys,
        exact: None,
    }
}

/// Whether no two positions of one input can hold equal values of a local
/// node (checked at every length where it reads the length).
pub fn distinct_local(l: &Local, n_max: usize) -> bool {
    if !l.reads.index {
        return false;
    }
    let lengths: Vec<usize> = if l.reads.length {
        (1..=n_max).collect()
    } else {
        vec![n_max]
    };
    for n in lengths {
        let mut owner: HashMap<AtomKey, usize> = HashMap::new();
        for k in 0..n {
            for c in l.contexts_at(k) {
                if l.reads.length && c.length != n {
                    continue;
                }
                if let Some(v) = l.at(c) {
                    if *owner.entry(v.key()).or_insert(k) != k {
                        return false;
                    }
                }
            }
        }
    }
    true
}

/// Exact counts and keys of a single `==` select of position-only sides, by
/// hashing the keys of each length (no lists kept).
fn equality_facts(keys_side: &Side, queries_side: &Side, n_max: usize) -> SelFacts {
    let mut counts = vec![vec![false; n_max + 1]; n_max];
    let mut keys = vec![vec![false; n_max]; n_max];
    let mut at_most_one = true;
    for n in 1..=n_max {
        let mut by_value: HashMap<AtomKey, Vec<usize>> = HashMap::new();
        for k in 0..n {
            if let Some(v) = keys_side.at(k, n) {
                by_value.entry(v.key()).or_default().push(k);
            }
        }
        for i in 0..n {
            let found = queries_side
                .at(i, n)
                .and_then(|q| by_value.get(&q.key()))
                .map_or(&[][..], Vec::as_slice);
            counts[i][found.len()] = true;
            at_most_one &= found.len() <= 1;
            for &k in found {
                keys[i][k] = true;
            }
        }
    }
    SelFacts {
        position_only: true,
        at_most_one,
        counts,
        keys,
        exact: None,
    }
}

fn exact_facts(
    graph: &Graph,
    sel: SelId,
    leaves: &[SelId],
    sides: &[(Side, Side, CmpOp)],
    n_max: usize,
) -> SelFacts {
    let mut exact: Vec<Vec<Vec<u16>>> = Vec::with_capacity(n_max);
    let mut counts = vec![vec![false; n_max + 1]; n_max];
    let mut keys = vec![vec![false; n_max]; n_max];
    let mut truth = vec![false; leaves.len()];
    let mut at_most_one = true;
    for n in 1..=n_max {
        let mut rows = Vec::with_capacity(n);
        for i in 0..n {
            let mut row: Vec<u16> = Vec::new();
            for k in 0..n {
                for (t, (ks, qs, op)) in truth.iter_mut().zip(sides) {
                    *t = match (ks.at(k, n), qs.at(i, n)) {
                        (Some(kv), Some(qv)) => Atom::compare(*op, kv, qv).unwrap_or(false),
                        _ => false,
                    };
                }
                if graph.eval_tree(sel, leaves, &truth) {
                    row.push(k as u16);
                    keys[i][k] = true;
                }
            }
            counts[i][row.len()] = true;
            at_most_one &= row.len() <= 1;
            rows.push(row);
        }
        exact.push(rows);
    }
    SelFacts {
        position_only: true,
        at_most_one,
        counts,
        keys,
        exact: Some(exact),
    }
}

/// For a selector that is an `or` with position-only parts (as in
/// `sel or select(indices, 0, ==)`): `anchor[n-1][i]`, the keys those
/// parts select for query `i` at length `n`, which the selector always
/// selects. `None` if it has no such part or they are too costly to list.
pub fn anchor<'a>(
    graph: &Graph,
    sel: SelId,
    max_len: usize,
    side: &dyn Fn(usize) -> Side<'a>,
) -> Option<Vec<Vec<Vec<u16>>>> {
    let mut disjuncts = Vec::new();
    let mut stack = vec![sel];
    while let Some(s) = stack.pop() {
        match graph.selectors[s].op {
            SelOp::Or(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            _ => disjuncts.push(s),
        }
    }
    if disjuncts.len() < 2 {
        return None;
    }
    let mut union: Option<Vec<Vec<Vec<u16>>>> = None;
    for d in disjuncts {
        let leaves = graph.leaves(d);
        let sides: Vec<(Side, Side, CmpOp)> = leaves
            .iter()
            .map(|&l| match graph.selectors[l].op {
                SelOp::Select { keys, queries, op } => (side(keys), side(queries), op),
                _ => (Side::Other, Side::Other, CmpOp::Eq),
            })
            .collect();
        let pos = sides
            .iter()
            .all(|(k, q, _)| k.position_only() && q.position_only());
        if !pos || max_len.pow(3) / 6 * leaves.len() > EXACT_BUDGET {
            continue;
        }
        let Some(lists) = exact_facts(graph, d, &leaves, &sides, max_len).exact else {
            continue;
        };
        union = Some(match union {
            None => lists,
            Some(mut u) => {
                for (urows, rows) in u.iter_mut().zip(lists) {
                    for (urow, row) in urows.iter_mut().zip(rows) {
                        urow.extend(row);
                        urow.sort_unstable();
                        urow.dedup();
                    }
                }
                u
            }
        });
    }
    union.filter(|u| u.iter().flatten().any(|row| !row.is_empty()))
}
