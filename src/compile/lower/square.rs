//! Squared-difference reads: a select `keys == queries` of numbers, where
//! the keys are a function of the index and every query selects some key,
//! needs no one-hot values: [`NumEq`] scores `1 − (q − k)²/g²` (1 on equal
//! values, at most 0 on values at least `g` apart) less the query's own
//! `q²/g²`, the same for every key of one query, so the score is bilinear:
//! `k` and `k²` are position embeddings and `q` is any number.

use super::blocks::{Head, BOS, ONE};
use super::precision::{feasible, sum_rounding};
use super::{Lowerer, Number};
use crate::compile::error::CompileError;
use crate::compile::graph::{NodeId, SelId, SelOp};
use crate::compile::values::set::number;
use crate::compile::values::{Shape, ValueSet};
use crate::eval::atom::Atom;

/// A key node's number and square, centred on `centre` (keeps the scores
/// small), as position-embedded dimensions.
#[derive(Debug, Clone, Copy)]
pub struct SquareKey {
    pub k: usize,
    pub k2: usize,
    pub centre: f64,
    /// The largest `|k − centre|`.
    pub magnitude: f64,
}

/// A select `keys == queries` scored by the squared difference of numbers.
pub struct NumEq {
    pub key: SquareKey,
    pub query: Number,
    /// The smallest difference between a key value and an unequal query value.
    pub gap: f64,
}

/// The squared-difference form of selector `sel`, read by aggregate `id`,
/// where it applies: one `==` select whose keys are numbers of the index
/// alone, whose queries are numbers (not one-hot values built already), and
/// which selects some key for every query; and where float rounding leaves
/// the scores their margins.
pub fn numeric_eq(l: &mut Lowerer, id: NodeId, sel: SelId) -> Result<Option<NumEq>, CompileError> {
    let SelOp::Select {
        keys,
        queries,
        op: crate::syntax::ast::CmpOp::Eq,
    } = l.graph.selectors[sel].op
    else {
        return Ok(None);
    };
    let plain = |set: &ValueSet| {
        !set.is_empty()
            && set.values().iter().all(|v| match v {
                Atom::Int(i) => i.unsigned_abs() < 1 << 40,
                Atom::Float(x) => x.is_finite() && x.abs() < 1e12,
                _ => false,
            })
    };
    let by_index = match &l.an.nodes[keys].shape {
        Shape::Local(t) => t.reads.index && !t.reads.token && !t.reads.length,
        _ => false,
    };
    if !by_index || keys == queries || !plain(&l.an.nodes[keys].all) {
        return Ok(None);
    }
    if !plain(&l.an.nodes[queries].all)
        || matches!(l.an.nodes[queries].shape, Shape::Const(_))
        || l.has_onehot(queries)
        || matches!(l.desc[queries], super::Desc::Table { .. })
    {
        return Ok(None);
    }
    let facts = l.an.facts(l.graph, sel);
    if facts
        .counts
        .iter()
        .any(|c| c.first().copied().unwrap_or(true))
    {
        return Ok(None);
    }
    // The gap between key values and the query values they do not equal.
    let kv: Vec<f64> = l.an.nodes[keys].all.values().iter().map(number).collect();
    let qv: Vec<f64> = l.an.nodes[queries]
        .all
        .values()
        .iter()
        .map(number)
        .collect();
    let mut sorted_q = qv.clone();
    sorted_q.sort_by(f64::total_cmp);
    sorted_q.dedup();
    let mut gap = f64::INFINITY;
    for &k in &kv {
        // The nearest query values below and above `k`, other than `k`.
        let below = sorted_q.partition_point(|&q| q < k);
        let above = sorted_q.partition_point(|&q| q <= k);
        if below > 0 {
            gap = gap.min(k - sorted_q[below - 1]);
        }
        if let Some(&q) = sorted_q.get(above) {
            gap = gap.min(q - k);
        }
    }
    if gap.is_infinite() {
        gap = 1.0;
    }
    if gap <= 0.0 {
        return Ok(None);
    }
    let lo = kv.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = kv.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let centre = ((lo + hi) / 2.0).round();
    let k_mag = (hi - centre).abs().max((lo - centre).abs());
    let q_mag = qv.iter().map(|q| (q - centre).abs()).fold(0.0, f64::max);
    let g2 = gap * gap;
    // The scores' float rounding, against s (a dot product of four
    // coordinates): every score within s/32 keeps the margins below.
    let rounding = sum_rounding(l.dtype, (2.0 * q_mag * k_mag + k_mag * k_mag) / g2 + 2.0, 4);
    if !feasible(rounding, 1.0 / 32.0) {
        return Ok(None);
    }
    let query = l.number_of(queries)?;
    // A query off by δ < g/4 leaves the selected key a margin over another
    // key (`s(d² − 2δd)/g²`, `d ≥ g`) of at least `s/2`, and over BOS of at
    // least `s(1/2 − 1/16)`: less twice the rounding, the `3s/8` every head
    // keeps.
    let q_tolerance = gap / 4.0;
    let form_rounding = sum_rounding(
        l.dtype,
        query.form.magnitude(&l.magnitude) + centre.abs(),
        query.form.terms.len() + 2,
    );
    let q_err = query.err.plus(form_rounding);
    if !feasible(q_err, q_tolerance) {
        return Ok(None);
    }
    let label = l.graph.nodes[id].label.clone();
    l.require(
        id,
        q_err,
        q_tolerance,
        format!("the queries of `{label}` as numbers (gap {gap:.3e})"),
    );
    l.require(
        id,
        rounding,
        1.0 / 32.0,
        format!("the scores of `{label}` (squared differences)"),
    );
    let key = square_key(l, keys, centre, k_mag);
    Ok(Some(NumEq {
        key,
        query: Number {
            err: q_err,
            ..query
        },
        gap,
    }))
}

/// The centred number and square of key node `keys` (built once).
pub(super) fn square_key(l: &mut Lowerer, keys: NodeId, centre: f64, magnitude: f64) -> SquareKey {
    if let Some(k) = l.squares.get(&keys) {
        if k.centre == centre {
            return *k;
        }
    }
    let label = l.graph.nodes[keys].label.clone();
    let k = l.alloc(format!("{label}−{centre}"), 0.0, magnitude);
    let k2 = l.alloc(format!("({label}−{centre})²"), 0.0, magnitude * magnitude);
    if let Shape::Local(t) = &l.an.nodes[keys].shape {
        let t = t.clone();
        for r in 0..l.n {
            let c = crate::compile::values::local::Context {
                token: 0,
                index: r,
                length: l.n,
            };
            if let Some(v) = t.at(c) {
                let x = number(v) - centre;
                l.pos_embed.push((r, k, x));
                l.pos_embed.push((r, k2, x * x));
            }
        }
    }
    let key = SquareKey {
        k,
        k2,
        centre,
        magnitude,
    };
    l.squares.insert(keys, key);
    key
}

/// The query and key maps of a squared-difference select (sharpness 1).
pub(super) fn square_score_maps(l: &Lowerer, eq: &NumEq, bos_score: f64, head: &mut Head) {
    let g2 = eq.gap * eq.gap;
    // Column 0: 2(q − c)·(k − c)/g², with q − c zero at BOS.
    head.k.push((eq.key.k, 0, 1.0));
    let mut at_bos = eq.query.form.constant - eq.key.centre;
    for &(d, w) in &eq.query.form.terms {
        head.q.push((d, 0, 2.0 * w / g2));
        at_bos += w * l.bos[d];
    }
    head.q
        .push((ONE, 0, 2.0 * (eq.query.form.constant - eq.key.centre) / g2));
    head.q.push((BOS, 0, -2.0 * at_bos / g2));
    // Column 1: −(k − c)²/g²; column 2: 1.
    head.k.push((eq.key.k2, 1, 1.0));
    head.q.push((ONE, 1, -1.0 / g2));
    head.k.push((ONE, 2, 1.0));
    head.q.push((ONE, 2, 1.0));
    head.k.push((BOS, 2, -1.0));
    // |2(q − c)(k − c)| + (k − c)² over g², the constant column and BOS's,
    // with the query's form at its largest.
    let q_mag = eq.query.form.magnitude(&l.magnitude) + eq.key.centre.abs();
    let k_mag = eq.key.magnitude;
    head.score_bound = (2.0 * q_mag * k_mag + k_mag * k_mag) / g2 + 2.0 + bos_score;
    let bos_coord = 3;
    head.k.push((BOS, bos_coord, 1.0));
    head.q.push((ONE, bos_coord, bos_score));
    head.q.push((BOS, bos_coord, 4.0));
    head.qk = bos_coord + 1;
}
