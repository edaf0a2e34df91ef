//! Selections that are never materialised: `aggregate` and `selector_width`
//! over selectors built from comparisons, in O(n log n).
//!
//! # Which selectors
//!
//! A selector reaches this module as a *normal form*: a conjunction of
//! comparisons `keys[k] op queries[q]`, possibly negated as a whole
//! (`not`, and `or` through De Morgan, fold into that flag; the negation of a
//! single comparison is the opposite comparison). A normal form has a
//! [`RangePlan`] when it is
//!
//! - any number of `==` comparisons and at most one order comparison
//!   (`<`, `<=`, `>`, `>=`), e.g. `select(k, k, ==) and select(i, i, <)`;
//! - or a single `!=` (the negation of `==`).
//!
//! Everything else (two order comparisons, `!=` inside a conjunction, an `or`
//! of two conjunctions) is left to the bit matrices of `matrix.rs`.
//!
//! # How
//!
//! Keys are grouped by the tuple of their `==` keys (a counting sort, so
//! positions stay ascending inside a group), and each group is sorted by the
//! order comparison's key. A query then selects one contiguous range of that
//! layout: its group, cut by two binary searches. A negated form selects the
//! complement, at most two ranges. With the layout fixed, a query's width is
//! the ranges' length, a mean of ints is a difference of prefix sums (exact,
//! in `i128`), and "all selected values are identical" is a run-length
//! lookup. Means of floats are summed position by position in position order,
//! as the reference sums them, once per distinct range.
//!
//! Keys and queries are compared as `f64` (numbers that `f64` holds exactly,
//! or string ranks), so every comparison here is exact; columns that do not
//! fit (ints beyond 2^53, NaN, strings against numbers) never get a plan.

use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use super::atom::{Atom, AtomKey};
use super::error::ErrorKind;
use super::value::{SeqType, Sequence};
use crate::syntax::ast::CmpOp;

/// One comparison `keys[k] op queries[q]` over exact `f64` keys.
#[derive(Clone, Debug)]
pub struct Compare {
    pub keys: Rc<Vec<f64>>,
    pub queries: Rc<Vec<f64>>,
    pub op: CmpOp,
}

/// A selector as a conjunction of comparisons, negated as a whole when
/// `negated`.
#[derive(Clone, Debug)]
pub struct NormalForm {
    pub negated: bool,
    pub conjuncts: Vec<Compare>,
}

/// Conjunctions longer than this are materialised instead.
const MAX_CONJUNCTS: usize = 8;

impl NormalForm {
    pub fn compare(compare: Compare) -> NormalForm {
        NormalForm {
            negated: false,
            conjuncts: vec![compare],
        }
        .canonical()
    }

    /// `not self`.
    pub fn not(&self) -> NormalForm {
        NormalForm {
            negated: !self.negated,
            conjuncts: self.conjuncts.clone(),
        }
        .canonical()
    }

    /// `self and other`, if it is still a plain conjunction.
    pub fn and(&self, other: &NormalForm) -> Option<NormalForm> {
        if self.negated
            || other.negated
            || self.conjuncts.len() + other.conjuncts.len() > MAX_CONJUNCTS
        {
            return None;
        }
        let mut conjuncts = self.conjuncts.clone();
        conjuncts.extend(other.conjuncts.iter().cloned());
        Some(
            NormalForm {
                negated: false,
                conjuncts,
            }
            .canonical(),
        )
    }

    /// `self or other`, as `not (not self and not other)`.
    pub fn or(&self, other: &NormalForm) -> Option<NormalForm> {
        Some(self.not().and(&other.not())?.not())
    }

    /// A single comparison is never negated (its negation is the opposite
    /// comparison, exact on NaN-free keys), and a single `!=` is a negated `==`.
    fn canonical(mut self) -> NormalForm {
        if let [only] = self.conjuncts.as_mut_slice() {
            if self.negated {
                only.op = opposite(only.op);
                self.negated = false;
            }
            if only.op == CmpOp::Ne {
                only.op = CmpOp::Eq;
                self.negated = true;
            }
        }
        self
    }

    /// Whether [`RangePlan::build`] accepts this form: `==` comparisons and
    /// at most one order comparison.
    pub fn has_plan(&self) -> bool {
        let orders = self.conjuncts.iter().filter(|c| c.op != CmpOp::Eq).count();
        let no_ne = self.conjuncts.iter().all(|c| c.op != CmpOp::Ne);
        orders <= 1 && no_ne
    }
}

/// The comparison that holds exactly when `op` does not (on NaN-free keys).
fn opposite(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Eq => CmpOp::Ne,
        CmpOp::Ne => CmpOp::Eq,
        CmpOp::Lt => CmpOp::Ge,
        CmpOp::Ge => CmpOp::Lt,
        CmpOp::Gt => CmpOp::Le,
        CmpOp::Le => CmpOp::Gt,
    }
}

/// A column as exact `f64` keys: numbers that `f64` holds exactly, with no
/// NaN (so `==` and `<` mean what they mean on the atoms) and `-0.0` as `0.0`.
pub fn exact_keys(col: &Sequence) -> Option<Vec<f64>> {
    const EXACT: i64 = 1 << 53;
    col.values
        .iter()
        .map(|v| match v {
            Atom::Int(i) if (-EXACT..=EXACT).contains(i) => Some(*i as f64),
            Atom::Bool(b) => Some(f64::from(u8::from(*b))),
            Atom::Float(x) if !x.is_nan() => Some(*x + 0.0),
            _ => None,
        })
        .collect()
}

/// Two string columns as ranks in their joint sorted order (code point
/// order, as Python compares strings), so comparing ranks compares strings.
pub fn string_ranks(keys: &Sequence, queries: &Sequence) -> Option<(Vec<f64>, Vec<f64>)> {
    if keys.ty != SeqType::Str || queries.ty != SeqType::Str {
        return None;
    }
    let text = |a: &Atom| match a {
        Atom::Str(s) => Some(s.clone()),
        _ => None,
    };
    let mut distinct: HashMap<Rc<str>, f64> = HashMap::new();
    for a in keys.values.iter().chain(&queries.values) {
        let s = text(a)?;
        distinct.entry(s).or_insert(0.0);
    }
    let mut sorted: Vec<Rc<str>> = distinct.keys().cloned().collect();
    sorted.sort_unstable();
    for (rank, s) in sorted.iter().enumerate() {
        distinct.insert(s.clone(), rank as f64);
    }
    let rank = |col: &Sequence| -> Option<Vec<f64>> {
        col.values
            .iter()
            .map(|a| text(a).and_then(|s| distinct.get(&s).copied()))
            .collect()
    };
    Some((rank(keys)?, rank(queries)?))
}

/// No group: a query whose `==` keys match no key.
const NO_GROUP: u32 = u32::MAX;

/// Dense group ids for `keys` and `queries` under `==`: equal values get
/// equal ids; a query value no key has gets [`NO_GROUP`].
fn dense_ids(keys: &[f64], queries: &[f64]) -> (Vec<u32>, Vec<u32>) {
    let same = std::ptr::eq(keys, queries);
    // Integers in a range not much wider than the column index directly.
    let (lo, hi) = keys
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let integral = keys.iter().all(|v| v.fract() == 0.0);
    let width = hi - lo;
    if integral && width.is_finite() && width <= 4.0 * keys.len() as f64 + 64.0 {
        let id = |v: f64| {
            if v.fract() == 0.0 && v >= lo && v <= hi {
                (v - lo) as u32
            } else {
                NO_GROUP
            }
        };
        let key_ids: Vec<u32> = keys.iter().map(|&v| id(v)).collect();
        let query_ids = if same {
            key_ids.clone()
        } else {
            queries.iter().map(|&v| id(v)).collect()
        };
        return (key_ids, query_ids);
    }
    let mut distinct: Vec<f64> = keys.to_vec();
    distinct.sort_unstable_by(f64::total_cmp);
    distinct.dedup();
    let id = |v: &f64| {
        distinct
            .binary_search_by(|d| d.total_cmp(v))
            .map_or(NO_GROUP, |i| i as u32)
    };
    let key_ids: Vec<u32> = keys.iter().map(id).collect();
    let query_ids = if same {
        key_ids.clone()
    } else {
        queries.iter().map(id).collect()
    };
    (key_ids, query_ids)
}

/// A selection as ranges of one ordering of the key positions.
#[derive(Debug, Clone)]
pub struct RangePlan {
    /// The key positions, grouped and sorted.
    order: Vec<u32>,
    /// For each query, the range of `order` it selects (its complement when
    /// `negated`).
    ranges: Vec<(u32, u32)>,
    negated: bool,
}

impl RangePlan {
    /// The plan of `form` on inputs of length `n`; `None` if the form has
    /// none (see [`NormalForm::has_plan`]).
    pub fn build(form: &NormalForm, n: usize) -> Option<RangePlan> {
        if !form.has_plan() || n >= NO_GROUP as usize {
            return None;
        }
        // Group ids: the tuple of `==` keys, combined pairwise.
        let mut key_group = vec![0u32; n];
        let mut query_group = vec![0u32; n];
        let mut groups = 1usize;
        let mut first = true;
        for c in form.conjuncts.iter().filter(|c| c.op == CmpOp::Eq) {
            let keys: &[f64] = &c.keys;
            let queries: &[f64] = if Rc::ptr_eq(&c.keys, &c.queries) {
                keys
            } else {
                &c.queries
            };
            let (k_ids, q_ids) = dense_ids(keys, queries);
            if first {
                groups = k_ids
                    .iter()
                    .filter(|&&g| g != NO_GROUP)
                    .max()
                    .map_or(0, |m| *m as usize + 1);
                key_group = k_ids;
                query_group = q_ids;
                first = false;
                continue;
            }
            let mut pairs: HashMap<(u32, u32), u32> = HashMap::new();
            for (g, id) in key_group.iter_mut().zip(&k_ids) {
                let next = pairs.len() as u32;
                *g = *pairs.entry((*g, *id)).or_insert(next);
            }
            for (g, id) in query_group.iter_mut().zip(&q_ids) {
                *g = if *g == NO_GROUP || *id == NO_GROUP {
                    NO_GROUP
                } else {
                    pairs.get(&(*g, *id)).copied().unwrap_or(NO_GROUP)
                };
            }
            groups = pairs.len();
        }
        // Counting sort by group: positions stay ascending inside a group.
        let mut starts = vec![0u32; groups + 1];
        for &g in &key_group {
            starts[g as usize + 1] += 1;
        }
        for g in 0..groups {
            starts[g + 1] += starts[g];
        }
        let mut next = starts.clone();
        let mut order = vec![0u32; n];
        for (position, &g) in key_group.iter().enumerate() {
            order[next[g as usize] as usize] = position as u32;
            next[g as usize] += 1;
        }
        let block = |g: u32| -> (u32, u32) {
            if g == NO_GROUP {
                (0, 0)
            } else {
                (starts[g as usize], starts[g as usize + 1])
            }
        };
        let ranges = match form.conjuncts.iter().find(|c| c.op != CmpOp::Eq) {
            None => query_group.iter().map(|&g| block(g)).collect(),
            Some(c) => {
                // Sort each group by the order key (ties by position).
                let mut sorted: Vec<(f64, u32)> =
                    order.iter().map(|&p| (c.keys[p as usize], p)).collect();
                for g in 0..groups {
                    let (s, e) = (starts[g] as usize, starts[g + 1] as usize);
                    if e - s > 1 {
                        sorted[s..e]
                            .sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    }
                }
                let values: Vec<f64> = sorted.iter().map(|p| p.0).collect();
                for (slot, (_, p)) in order.iter_mut().zip(&sorted) {
                    *slot = *p;
                }
                query_group
                    .iter()
                    .zip(c.queries.iter())
                    .map(|(&g, &v)| {
                        let (s, e) = block(g);
                        let run = &values[s as usize..e as usize];
                        let below = s + run.partition_point(|&x| x < v) as u32;
                        let up_to = s + run.partition_point(|&x| x <= v) as u32;
                        match c.op {
                            CmpOp::Lt => (s, below),
                            CmpOp::Le => (s, up_to),
                            CmpOp::Gt => (up_to, e),
                            _ => (below, e),
                        }
                    })
                    .collect()
            }
        };
        Some(RangePlan {
            order,
            ranges,
            negated: form.negated,
        })
    }

    /// The ranges of [`RangePlan::order`] that query `q` selects.
    fn parts(&self, q: usize) -> [Range<usize>; 2] {
        let (a, b) = self.ranges[q];
        let (a, b) = (a as usize, b as usize);
        if self.negated {
            [0..a, b..self.order.len()]
        } else {
            [a..b, 0..0]
        }
    }

    /// How many keys query `q` selects.
    pub fn width(&self, q: usize) -> usize {
        self.parts(q).iter().map(|r| r.len()).sum()
    }

    /// The key positions query `q` selects, ascending.
    fn positions(&self, q: usize) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .parts(q)
            .into_iter()
            .flat_map(|r| self.order[r].iter().copied())
            .collect();
        if !out.is_sorted() {
            out.sort_unstable();
        }
        out
    }

    /// `aggregate` over this selection for every query: the default where
    /// nothing is selected, the value where one position is, else the mean
    /// (numbers) or the common value (identical non-numbers). An error
    /// gives the failing query.
    pub fn aggregate(
        &self,
        vals: &Sequence,
        default: &Atom,
    ) -> Result<Vec<Atom>, (ErrorKind, usize)> {
        let values = &vals.values;
        let n = self.ranges.len();
        let single = |q: usize| -> Option<Atom> {
            let part = self.parts(q).into_iter().find(|r| !r.is_empty())?;
            Some(values[self.order[part.start] as usize].clone())
        };
        let mut out = Vec::with_capacity(n);
        if vals.ty.is_numeric() && values.iter().all(|v| !matches!(v, Atom::Float(_))) {
            // Ints (and bools among them): prefix sums in layout order.
            let mut prefix = Vec::with_capacity(self.order.len() + 1);
            let mut total: i128 = 0;
            prefix.push(0);
            for &p in &self.order {
                total += match &values[p as usize] {
                    Atom::Int(i) => i128::from(*i),
                    Atom::Bool(b) => i128::from(*b),
                    _ => 0,
                };
                prefix.push(total);
            }
            for q in 0..n {
                let width = self.width(q);
                out.push(match width {
                    0 => default.clone(),
                    1 => single(q).unwrap_or_else(|| default.clone()),
                    _ => {
                        let sum: i128 = self
                            .parts(q)
                            .iter()
                            .map(|r| prefix[r.end] - prefix[r.start])
                            .sum();
                        Atom::Float(sum as f64 / width as f64)
                    }
                });
            }
        } else if vals.ty.is_numeric() {
            // Floats: summed in position order, once per distinct range.
            let mut means: HashMap<(u32, u32), Atom> = HashMap::new();
            for q in 0..n {
                out.push(match self.width(q) {
                    0 => default.clone(),
                    1 => single(q).unwrap_or_else(|| default.clone()),
                    _ => {
                        if let Some(m) = means.get(&self.ranges[q]) {
                            m.clone()
                        } else {
                            let mut acc = Mean::default();
                            for p in self.positions(q) {
                                acc.add(&values[p as usize]).map_err(|e| (e, q))?;
                            }
                            let m = acc.finish();
                            means.insert(self.ranges[q], m.clone());
                            m
                        }
                    }
                });
            }
        } else {
            // Non-numbers: identical values are one class; a range is uniform
            // when its first element's run of equal classes covers it.
            let mut classes: HashMap<(&'static str, AtomKey), u32> = HashMap::new();
            let class_of: Vec<u32> = self
                .order
                .iter()
                .map(|&p| {
                    let v = &values[p as usize];
                    let next = classes.len() as u32;
                    *classes.entry((v.type_name(), v.key())).or_insert(next)
                })
                .collect();
            let mut run_end = vec![0u32; class_of.len()];
            for i in (0..class_of.len()).rev() {
                run_end[i] = if i + 1 < class_of.len() && class_of[i] == class_of[i + 1] {
                    run_end[i + 1]
                } else {
                    i as u32 + 1
                };
            }
            for q in 0..n {
                out.push(match self.width(q) {
                    0 => default.clone(),
                    1 => single(q).unwrap_or_else(|| default.clone()),
                    _ => {
                        let parts = self.parts(q);
                        let mut nonempty = parts.iter().filter(|r| !r.is_empty());
                        let uniform = nonempty.clone().all(|r| run_end[r.start] as usize >= r.end);
                        let first = nonempty.next().map(|r| r.start).unwrap_or(0);
                        let same =
                            uniform && nonempty.all(|r| class_of[r.start] == class_of[first]);
                        if same {
                            values[self.order[first] as usize].clone()
                        } else {
                            let shown: Vec<String> = self
                                .positions(q)
                                .iter()
                                .take(6)
                                .map(|&p| values[p as usize].short())
                                .collect();
                            return Err((
                                ErrorKind::AverageNonNumbers(format!("[{}]", shown.join(", "))),
                                q,
                            ));
                        }
                    }
                });
            }
        }
        Ok(out)
    }
}

/// Python's `sum(values) * 1.0 / len(values)`, one value at a time: ints
/// summed exactly until the first float, then floats left to right.
#[derive(Default)]
pub struct Mean {
    int_sum: i128,
    float_sum: Option<f64>,
    count: usize,
}

impl Mean {
    pub fn add(&mut self, v: &Atom) -> Result<(), ErrorKind> {
        self.count += 1;
        match (v, &mut self.float_sum) {
            (Atom::Float(x), None) => self.float_sum = Some(self.int_sum as f64 + x),
            (Atom::Float(x), Some(acc)) => *acc += x,
            (Atom::Int(i), None) => self.int_sum += i128::from(*i),
            (Atom::Bool(b), None) => self.int_sum += i128::from(*b),
            (Atom::Int(i), Some(acc)) => *acc += *i as f64,
            (Atom::Bool(b), Some(acc)) => *acc += f64::from(u8::from(*b)),
            (Atom::Str(_), _) => return Err(ErrorKind::AverageNonNumbers(v.repr())),
        }
        Ok(())
    }

    pub fn finish(&self) -> Atom {
        let total = self.float_sum.unwrap_or(self.int_sum as f64);
        Atom::Float(total / self.count as f64)
    }
}
