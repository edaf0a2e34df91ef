//! Selections that are never materialised: `aggregate` and `selector_width`
//! over selectors built from comparisons, in O(n log n) or O(n log² n).
//!
//! # Which selectors
//!
//! Any `and`/`or`/`not` combination of comparisons `keys[k] op queries[q]`
//! whose columns compare exactly as `f64` (numbers that `f64` holds, or
//! strings by rank) is kept symbolic as a [`Form`]: a union of disjoint
//! conjunctions (`form.rs`). A form has a [`SelectPlan`] (`plan.rs`) when each
//! of its conjunctions orders by at most two key columns: any number of `==`
//! comparisons, and `<`, `<=`, `>`, `>=`, `!=` on up to two key columns. That
//! covers the stable sort as people write it,
//! `select(k, k, <) or (select(k, k, ==) and select(i, i, <))`, and a
//! selection by two orders, `select(i, i, <) and select(t, t, >)`. Anything
//! else (three order columns, a form past its size limit, a column that is not
//! exact) is left to the bit matrices of `matrix.rs`.
//!
//! # How
//!
//! A conjunction's `==` keys put each key in a group. Each order column lays
//! the keys out sorted by (group, value, position); a query selects one
//! interval of that layout (its group, cut by binary searches). With one order
//! column (or none) a query's keys are one interval: its width is the
//! interval's length and a sum over it is a difference of prefix sums. With
//! two, a query's keys are those whose ranks in the two layouts fall in a
//! rectangle, counted offline by a sweep over the first rank with a Fenwick
//! tree over the second. Every reader is such a sum: the width (of ones), the
//! position of the one key of a width-1 query, an exact `i128` sum of ints,
//! and, for non-numbers, whether all selected values are one class (the sums
//! of class ids and of their squares: all equal exactly when
//! `(Σc)² = w·Σc²`). Means of floats are summed position by position in
//! position order, as the reference sums them, once per distinct selection.
//!
//! Keys and queries are compared as `f64` (numbers that `f64` holds exactly,
//! or string ranks), so every comparison here is exact; columns that do not
//! fit (ints beyond 2^53, NaN, strings against numbers) never get a form.

mod form;
mod plan;

pub use form::{Form, Keys, Literal, Term};
pub use plan::SelectPlan;

use super::atom::Atom;
use super::error::ErrorKind;
use super::value::{SeqType, Sequence};

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

/// Two string columns as ranks (code point order, as Python compares
/// strings): a key's rank is its place among the distinct keys, so it depends
/// on the key column alone; a query between two keys gets the half-way rank,
/// so comparing ranks compares strings.
pub fn string_ranks(keys: &Sequence, queries: &Sequence) -> Option<(Vec<f64>, Vec<f64>)> {
    if keys.ty != SeqType::Str || queries.ty != SeqType::Str {
        return None;
    }
    // Distinct keys first (hashing), then only those sorted.
    let mut seen: foldhash::HashMap<&str, f64> = foldhash::HashMap::default();
    for a in &keys.values {
        match a {
            Atom::Str(s) => {
                seen.entry(&**s).or_insert(0.0);
            }
            _ => return None,
        }
    }
    let mut distinct: Vec<&str> = seen.keys().copied().collect();
    distinct.sort_unstable();
    for (i, s) in distinct.iter().enumerate() {
        seen.insert(s, i as f64);
    }
    let rank = |a: &Atom| -> Option<f64> {
        let Atom::Str(s) = a else {
            return None;
        };
        Some(match seen.get(&**s) {
            Some(&r) => r,
            None => distinct.partition_point(|d| *d < &**s) as f64 - 0.5,
        })
    };
    let key_ranks = keys.values.iter().map(rank).collect::<Option<_>>()?;
    let query_ranks = queries.values.iter().map(rank).collect::<Option<_>>()?;
    Some((key_ranks, query_ranks))
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
