//! Plans: a [`Form`] laid out over the keys of one input, and every reader
//! of a selector (`selector_width`, `aggregate`) as sums over it.

use foldhash::HashMap;
use foldhash::HashMapExt;
use std::rc::Rc;

use super::form::{Form, Keys, Literal, Term, EQUAL, GREATER, LESS, MAX_ORDER_COLUMNS};
use super::{dense_ids, Mean, NO_GROUP};
use crate::eval::atom::{Atom, AtomKey};
use crate::eval::error::ErrorKind;
use crate::eval::value::Sequence;

/// A term that is one interval per query: its layout and the intervals.
type Interval<'a> = (&'a [u32], &'a [(u32, u32)]);

/// One term of a form, laid out.
#[derive(Debug)]
enum TermPlan {
    /// Query `q` selects `order[ranges[q].0 .. ranges[q].1]`.
    Line {
        order: Vec<u32>,
        ranges: Vec<(u32, u32)>,
    },
    /// Query `q` selects the keys `k` with `rank[0][k]` in
    /// `rects[q][0] .. rects[q][1]` and `rank[1][k]` in
    /// `rects[q][2] .. rects[q][3]`; `order[d]` lists the keys by `rank[d]`.
    Plane {
        order: [Vec<u32>; 2],
        rank: [Vec<u32>; 2],
        rects: Vec<[u32; 4]>,
    },
}

/// A selection of one input as disjoint terms, each one interval or one
/// rectangle of key layouts.
#[derive(Debug)]
pub struct SelectPlan {
    n: usize,
    terms: Vec<TermPlan>,
}

/// The keys grouped by the tuple of a term's plain `==` literals: each
/// key's group, each query's group ([`NO_GROUP`] if no key has its values),
/// and the keys in group order (positions ascending inside a group) with the
/// start of each group in it.
struct Groups {
    query_group: Vec<u32>,
    order: Vec<u32>,
    starts: Vec<u32>,
}

impl Groups {
    fn new(equalities: &[&Literal], n: usize) -> Groups {
        let mut key_group = vec![0u32; n];
        let mut query_group = vec![0u32; n];
        let mut groups = 1usize;
        for (i, lit) in equalities.iter().enumerate() {
            let (k_ids, q_ids) = dense_ids(&lit.keys, &lit.queries);
            if i == 0 {
                groups = k_ids
                    .iter()
                    .filter(|&&g| g != NO_GROUP)
                    .max()
                    .map_or(0, |m| *m as usize + 1);
                key_group = k_ids;
                query_group = q_ids;
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
        Groups {
            query_group,
            order,
            starts,
        }
    }

    /// The range of the layout that holds query `q`'s group.
    fn block(&self, q: usize) -> (u32, u32) {
        match self.query_group[q] {
            NO_GROUP => (0, 0),
            g => (self.starts[g as usize], self.starts[g as usize + 1]),
        }
    }

    /// The keys laid out by (group, `column`'s value, position), and for each
    /// query the interval of that layout its `literals` on `column` select.
    fn layout(&self, column: &Keys, literals: &[&Literal]) -> (Vec<u32>, Vec<(u32, u32)>) {
        let mut sorted: Vec<(f64, u32)> = self
            .order
            .iter()
            .map(|&p| (column[p as usize], p))
            .collect();
        for g in self.starts.windows(2) {
            let (s, e) = (g[0] as usize, g[1] as usize);
            if e - s > 1 {
                sorted[s..e].sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            }
        }
        let values: Vec<f64> = sorted.iter().map(|p| p.0).collect();
        let order: Vec<u32> = sorted.iter().map(|p| p.1).collect();
        let ranges = (0..self.query_group.len())
            .map(|q| {
                let (s, e) = self.block(q);
                let run = &values[s as usize..e as usize];
                let (mut lo, mut hi) = (s, e);
                for lit in literals {
                    let v = lit.queries[q];
                    let below = s + run.partition_point(|&x| x < v) as u32;
                    let up_to = s + run.partition_point(|&x| x <= v) as u32;
                    if lit.mask & LESS == 0 {
                        lo = lo.max(if lit.mask & EQUAL == 0 { up_to } else { below });
                    }
                    if lit.mask & GREATER == 0 {
                        hi = hi.min(if lit.mask & EQUAL == 0 { below } else { up_to });
                    }
                }
                (lo, hi.max(lo))
            })
            .collect();
        (order, ranges)
    }
}

fn inverse(order: &[u32]) -> Vec<u32> {
    let mut rank = vec![0u32; order.len()];
    for (r, &k) in order.iter().enumerate() {
        rank[k as usize] = r as u32;
    }
    rank
}

impl TermPlan {
    /// `None` if the term orders by more than two key columns.
    fn build(term: &Term, n: usize) -> Option<TermPlan> {
        let columns = term.order_columns();
        if columns.len() > MAX_ORDER_COLUMNS {
            return None;
        }
        let on = |c: &Keys| -> Vec<&Literal> {
            term.literals
                .iter()
                .filter(|l| Rc::ptr_eq(&l.keys, c))
                .collect()
        };
        let equalities: Vec<&Literal> = term
            .literals
            .iter()
            .filter(|l| !columns.iter().any(|c| Rc::ptr_eq(c, &l.keys)))
            .collect();
        let groups = Groups::new(&equalities, n);
        Some(match columns.as_slice() {
            [] => TermPlan::Line {
                ranges: (0..n).map(|q| groups.block(q)).collect(),
                order: groups.order,
            },
            [c] => {
                let (order, ranges) = groups.layout(c, &on(c));
                TermPlan::Line { order, ranges }
            }
            [a, b] => {
                let (order_a, ranges_a) = groups.layout(a, &on(a));
                let (order_b, ranges_b) = groups.layout(b, &on(b));
                let rects = ranges_a
                    .iter()
                    .zip(&ranges_b)
                    .map(|(&(a0, a1), &(b0, b1))| {
                        if a0 == a1 || b0 == b1 {
                            [0; 4]
                        } else {
                            [a0, a1, b0, b1]
                        }
                    })
                    .collect();
                TermPlan::Plane {
                    rank: [inverse(&order_a), inverse(&order_b)],
                    order: [order_a, order_b],
                    rects,
                }
            }
            _ => return None,
        })
    }

    /// Adds, for every query, the sums of `weights` over the keys it
    /// selects to `out`.
    fn add_sums<const W: usize>(&self, weights: &[[i64; W]], out: &mut [[i128; W]]) {
        match self {
            TermPlan::Line { order, ranges } => {
                let mut prefix = Vec::with_capacity(order.len() + 1);
                let mut total = [0i128; W];
                prefix.push(total);
                for &k in order {
                    for (t, w) in total.iter_mut().zip(&weights[k as usize]) {
                        *t += i128::from(*w);
                    }
                    prefix.push(total);
                }
                for (sums, &(a, b)) in out.iter_mut().zip(ranges) {
                    let (hi, lo) = (&prefix[b as usize], &prefix[a as usize]);
                    for j in 0..W {
                        sums[j] += hi[j] - lo[j];
                    }
                }
            }
            TermPlan::Plane { order, rank, rects } => {
                // Sweep the first layout; at each cut, the Fenwick tree over
                // the second rank holds the keys before the cut.
                let n = order[0].len();
                let mut counts = vec![0u32; n + 2];
                for r in rects.iter().filter(|r| r[0] < r[1]) {
                    counts[r[0] as usize + 1] += 1;
                    counts[r[1] as usize + 1] += 1;
                }
                for x in 0..=n {
                    counts[x + 1] += counts[x];
                }
                let mut events = vec![0u32; counts[n + 1] as usize];
                let mut next = counts.clone();
                for (q, r) in rects.iter().enumerate().filter(|(_, r)| r[0] < r[1]) {
                    for (cut, sign) in [(r[0], 0u32), (r[1], 1u32 << 31)] {
                        events[next[cut as usize] as usize] = q as u32 | sign;
                        next[cut as usize] += 1;
                    }
                }
                let mut tree = Fenwick::<W>::new(n);
                for x in 0..=n {
                    for &event in &events[counts[x] as usize..counts[x + 1] as usize] {
                        let q = (event & !(1 << 31)) as usize;
                        let r = &rects[q];
                        let sums = tree.range(r[2] as usize, r[3] as usize);
                        let add = event & (1 << 31) != 0;
                        for j in 0..W {
                            if add {
                                out[q][j] += sums[j];
                            } else {
                                out[q][j] -= sums[j];
                            }
                        }
                    }
                    if x < n {
                        let k = order[0][x] as usize;
                        tree.add(rank[1][k] as usize, &weights[k]);
                    }
                }
            }
        }
    }

    /// The number of keys query `q` selects (a width-only fast path for
    /// intervals).
    fn line_width(&self, q: usize) -> Option<usize> {
        match self {
            TermPlan::Line { ranges, .. } => Some((ranges[q].1 - ranges[q].0) as usize),
            TermPlan::Plane { .. } => None,
        }
    }

    /// Appends the keys query `q` selects (in no particular order).
    fn push_positions(&self, q: usize, out: &mut Vec<u32>) {
        match self {
            TermPlan::Line { order, ranges } => {
                let (a, b) = ranges[q];
                out.extend_from_slice(&order[a as usize..b as usize]);
            }
            TermPlan::Plane { order, rank, rects } => {
                let r = rects[q];
                // Walk the shorter interval, filter by the other rank.
                let (walk, other, lo, hi, cut) = if r[1] - r[0] <= r[3] - r[2] {
                    (&order[0], &rank[1], r[2], r[3], (r[0], r[1]))
                } else {
                    (&order[1], &rank[0], r[0], r[1], (r[2], r[3]))
                };
                out.extend(
                    walk[cut.0 as usize..cut.1 as usize]
                        .iter()
                        .copied()
                        .filter(|&k| (lo..hi).contains(&other[k as usize])),
                );
            }
        }
    }

    /// What query `q` selects in this term, as numbers (for caching means).
    fn push_signature(&self, q: usize, out: &mut Vec<u32>) {
        match self {
            TermPlan::Line { ranges, .. } => out.extend([ranges[q].0, ranges[q].1]),
            TermPlan::Plane { rects, .. } => out.extend(rects[q]),
        }
    }
}

/// A Fenwick tree of `W` sums.
struct Fenwick<const W: usize> {
    tree: Vec<[i128; W]>,
}

impl<const W: usize> Fenwick<W> {
    fn new(n: usize) -> Fenwick<W> {
        Fenwick {
            tree: vec![[0; W]; n + 1],
        }
    }

    fn add(&mut self, at: usize, weights: &[i64; W]) {
        let mut i = at + 1;
        while i < self.tree.len() {
            for (t, w) in self.tree[i].iter_mut().zip(weights) {
                *t += i128::from(*w);
            }
            i += i & i.wrapping_neg();
        }
    }

    /// The sums over `0..end`.
    fn prefix(&self, end: usize) -> [i128; W] {
        let mut out = [0; W];
        let mut i = end;
        while i > 0 {
            for (o, t) in out.iter_mut().zip(&self.tree[i]) {
                *o += t;
            }
            i &= i - 1;
        }
        out
    }

    fn range(&self, start: usize, end: usize) -> [i128; W] {
        let (hi, lo) = (self.prefix(end), self.prefix(start));
        std::array::from_fn(|j| hi[j] - lo[j])
    }
}

impl SelectPlan {
    /// The plan of `form` on inputs of length `n`; `None` if the form has
    /// none: a term that orders by more than [`MAX_ORDER_COLUMNS`] key
    /// columns, or a form that splits into too many terms.
    pub fn build(form: &Form, n: usize) -> Option<SelectPlan> {
        if n >= (1 << 31) {
            return None;
        }
        let terms = form
            .expanded()?
            .iter()
            .map(|t| TermPlan::build(t, n))
            .collect::<Option<Vec<_>>>()?;
        Some(SelectPlan { n, terms })
    }

    /// For every query, the sums of `weights` over the keys it selects.
    fn sums<const W: usize>(&self, weights: &[[i64; W]]) -> Vec<[i128; W]> {
        let mut out = vec![[0i128; W]; self.n];
        for t in &self.terms {
            t.add_sums(weights, &mut out);
        }
        out
    }

    /// How many keys each query selects.
    pub fn widths(&self) -> Vec<usize> {
        if self
            .terms
            .iter()
            .all(|t| matches!(t, TermPlan::Line { .. }))
        {
            return (0..self.n)
                .map(|q| self.terms.iter().filter_map(|t| t.line_width(q)).sum())
                .collect();
        }
        let ones = vec![[1i64]; self.n];
        self.sums(&ones).iter().map(|s| s[0] as usize).collect()
    }

    /// The key positions query `q` selects, ascending.
    fn positions(&self, q: usize) -> Vec<u32> {
        let mut out = Vec::new();
        for t in &self.terms {
            t.push_positions(q, &mut out);
        }
        out.sort_unstable();
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
        if self
            .terms
            .iter()
            .all(|t| matches!(t, TermPlan::Line { .. }))
            && !(vals.ty.is_numeric() && vals.values.iter().any(|v| matches!(v, Atom::Float(_))))
        {
            return self.aggregate_lines(vals, default);
        }
        let values = &vals.values;
        let n = self.n;
        let mut out = Vec::with_capacity(n);
        if vals.ty.is_numeric() && values.iter().all(|v| !matches!(v, Atom::Float(_))) {
            // Ints (and bools among them): exact sums.
            let weights: Vec<[i64; 3]> = values
                .iter()
                .enumerate()
                .map(|(k, v)| {
                    let x = match v {
                        Atom::Int(i) => *i,
                        Atom::Bool(b) => i64::from(*b),
                        _ => 0,
                    };
                    [1, k as i64, x]
                })
                .collect();
            for [width, position, sum] in self.sums(&weights) {
                out.push(match width {
                    0 => default.clone(),
                    1 => values[position as usize].clone(),
                    _ => Atom::Float(sum as f64 / width as f64),
                });
            }
        } else if vals.ty.is_numeric() {
            // Floats: summed in position order, once per distinct selection.
            let weights: Vec<[i64; 2]> = (0..n).map(|k| [1, k as i64]).collect();
            let mut means: HashMap<Vec<u32>, Atom> = HashMap::new();
            let mut signature = Vec::new();
            for (q, [width, position]) in self.sums(&weights).into_iter().enumerate() {
                out.push(match width {
                    0 => default.clone(),
                    1 => values[position as usize].clone(),
                    _ => {
                        signature.clear();
                        for t in &self.terms {
                            t.push_signature(q, &mut signature);
                        }
                        if let Some(m) = means.get(&signature) {
                            m.clone()
                        } else {
                            let mut acc = Mean::default();
                            for p in self.positions(q) {
                                acc.add(&values[p as usize]).map_err(|e| (e, q))?;
                            }
                            let m = acc.finish();
                            means.insert(signature.clone(), m.clone());
                            m
                        }
                    }
                });
            }
        } else {
            // Non-numbers: identical values are one class; a selection is
            // uniform when its class ids are all equal.
            let (class, first_of) = classes(values);
            let weights: Vec<[i64; 4]> = class
                .iter()
                .enumerate()
                .map(|(k, &c)| {
                    let c = i64::from(c);
                    [1, k as i64, c, c * c]
                })
                .collect();
            for (q, [width, position, sum, squares]) in self.sums(&weights).into_iter().enumerate()
            {
                out.push(match width {
                    0 => default.clone(),
                    1 => values[position as usize].clone(),
                    _ if sum * sum == width * squares => {
                        values[first_of[(sum / width) as usize]].clone()
                    }
                    _ => return Err(self.not_uniform(values, q)),
                });
            }
        }
        Ok(out)
    }

    /// [`SelectPlan::aggregate`] of ints or non-numbers when every term is
    /// one interval of its layout: no sums over rectangles, so no per-key
    /// weight tables. Ints are prefix sums in each layout; non-numbers are
    /// uniform when each nonempty interval lies inside one run of equal
    /// classes in its layout and the runs' classes agree.
    fn aggregate_lines(
        &self,
        vals: &Sequence,
        default: &Atom,
    ) -> Result<Vec<Atom>, (ErrorKind, usize)> {
        let values = &vals.values;
        let lines: Vec<Interval> = self
            .terms
            .iter()
            .filter_map(|t| match t {
                TermPlan::Line { order, ranges } => Some((order.as_slice(), ranges.as_slice())),
                TermPlan::Plane { .. } => None,
            })
            .collect();
        let width =
            |q: usize| -> usize { lines.iter().map(|(_, r)| (r[q].1 - r[q].0) as usize).sum() };
        let single = |q: usize| -> Atom {
            lines.iter().find(|(_, r)| r[q].0 < r[q].1).map_or_else(
                || default.clone(),
                |(o, r)| values[o[r[q].0 as usize] as usize].clone(),
            )
        };
        let mut out = Vec::with_capacity(self.n);
        if vals.ty.is_numeric() {
            let prefixes: Vec<Vec<i128>> = lines
                .iter()
                .map(|(order, _)| {
                    let mut prefix = Vec::with_capacity(order.len() + 1);
                    let mut total = 0i128;
                    prefix.push(0);
                    for &k in order.iter() {
                        total += match &values[k as usize] {
                            Atom::Int(i) => i128::from(*i),
                            Atom::Bool(b) => i128::from(*b),
                            _ => 0,
                        };
                        prefix.push(total);
                    }
                    prefix
                })
                .collect();
            for q in 0..self.n {
                out.push(match width(q) {
                    0 => default.clone(),
                    1 => single(q),
                    w => {
                        let sum: i128 = lines
                            .iter()
                            .zip(&prefixes)
                            .map(|((_, r), p)| p[r[q].1 as usize] - p[r[q].0 as usize])
                            .sum();
                        Atom::Float(sum as f64 / w as f64)
                    }
                });
            }
            return Ok(out);
        }
        let (class, _) = classes(values);
        // For each layout position, where its run of equal classes ends.
        let run_ends: Vec<Vec<u32>> = lines
            .iter()
            .map(|(order, _)| {
                let mut end = vec![0u32; order.len()];
                for i in (0..order.len()).rev() {
                    end[i] = if i + 1 < order.len()
                        && class[order[i] as usize] == class[order[i + 1] as usize]
                    {
                        end[i + 1]
                    } else {
                        i as u32 + 1
                    };
                }
                end
            })
            .collect();
        for q in 0..self.n {
            out.push(match width(q) {
                0 => default.clone(),
                1 => single(q),
                _ => {
                    let mut common: Option<u32> = None;
                    let mut uniform = true;
                    for ((order, r), ends) in lines.iter().zip(&run_ends) {
                        let (a, b) = r[q];
                        if a == b {
                            continue;
                        }
                        let c = class[order[a as usize] as usize];
                        uniform &= ends[a as usize] >= b && common.is_none_or(|x| x == c);
                        common = Some(c);
                    }
                    if !uniform {
                        return Err(self.not_uniform(values, q));
                    }
                    single(q)
                }
            });
        }
        Ok(out)
    }

    /// The error of a query whose selected values are not numbers and not
    /// all the same, showing the first few.
    fn not_uniform(&self, values: &[Atom], q: usize) -> (ErrorKind, usize) {
        let shown: Vec<String> = self
            .positions(q)
            .iter()
            .take(6)
            .map(|&p| values[p as usize].short())
            .collect();
        (
            ErrorKind::AverageNonNumbers(format!("[{}]", shown.join(", "))),
            q,
        )
    }
}

/// Identical values as one class: each value's class id, and the first
/// position of each class.
fn classes(values: &[Atom]) -> (Vec<u32>, Vec<usize>) {
    let mut ids: HashMap<(&'static str, AtomKey), u32> = HashMap::new();
    let mut first_of = Vec::new();
    let class = values
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let next = ids.len() as u32;
            let c = *ids.entry((v.type_name(), v.key())).or_insert(next);
            if c == next {
                first_of.push(k);
            }
            c
        })
        .collect();
    (class, first_of)
}
