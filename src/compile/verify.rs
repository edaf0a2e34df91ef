//! Checking a compiled model against the interpreter.

use crate::eval::atom::Atom;
use crate::eval::run::eval_sop;
use crate::eval::sop::SOp;
use crate::model::Model;

/// The outcome of comparing a model with the interpreter.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Inputs tried.
    pub total: usize,
    /// Inputs where both agree.
    pub matched: usize,
    /// Inputs on which the interpreter itself fails (not counted against the model).
    pub undefined: usize,
    /// The first disagreements: input, interpreter output, model output.
    pub mismatches: Vec<(Vec<Atom>, Vec<Atom>, Vec<Atom>)>,
    /// How many disagreements there were in all.
    pub mismatch_count: usize,
}

/// How many disagreements a report keeps.
pub const KEPT_MISMATCHES: usize = 10;

/// Whether the model's value equals the interpreter's: the same atom, except
/// that numbers compare by value (`1 == 1.0`, and up to float rounding): a
/// mean over one selected position is an int in the interpreter and a mean
/// over several a float, a distinction the model's numerical means do not
/// carry, and float sums in another order differ in their last bits.
pub fn same_output(want: &Atom, got: &Atom) -> bool {
    match (want, got) {
        (Atom::Int(_) | Atom::Float(_), Atom::Int(_) | Atom::Float(_)) => {
            super::values::nearly_equal(super::values::as_f64(want), super::values::as_f64(got))
        }
        _ => want.type_name() == got.type_name() && want.py_eq(got),
    }
}

/// Runs `inputs` through both and compares, in batches.
pub fn verify(
    model: &Model,
    sop: &SOp,
    inputs: impl Iterator<Item = Vec<Atom>>,
    mut progress: impl FnMut(usize),
) -> Report {
    let mut report = Report::default();
    let mut batch: Vec<(Vec<Atom>, Vec<Atom>)> = Vec::new();
    let flush = |batch: &mut Vec<(Vec<Atom>, Vec<Atom>)>, report: &mut Report| {
        let ids: Vec<Vec<u32>> = batch
            .iter()
            .filter_map(|(input, _)| model.encode(input).ok())
            .collect();
        if ids.len() != batch.len() {
            // Inputs outside the model's vocabulary or length cannot occur here.
            report.mismatch_count += batch.len() - ids.len();
        }
        if let Ok(fwd) = model.forward(&ids, false) {
            for ((input, want), got) in batch.iter().zip(model.decode(&fwd)) {
                let agree = want.len() == got.len()
                    && want.iter().zip(&got).all(|(w, g)| same_output(w, g));
                if agree {
                    report.matched += 1;
                } else {
                    report.mismatch_count += 1;
                    if report.mismatches.len() < KEPT_MISMATCHES {
                        report.mismatches.push((input.clone(), want.clone(), got));
                    }
                }
            }
        }
        batch.clear();
    };
    for input in inputs {
        report.total += 1;
        match eval_sop(sop, &input) {
            Ok(seq) => batch.push((input, seq.values)),
            Err(_) => report.undefined += 1,
        }
        if batch.len() == 512 {
            flush(&mut batch, &mut report);
            progress(report.total);
        }
    }
    flush(&mut batch, &mut report);
    progress(report.total);
    report
}

/// Every input of length `1..=max_len` over `vocab`, shortest first, if
/// there are at most `limit`.
pub fn all_inputs(
    vocab: &[Atom],
    max_len: usize,
    limit: u128,
) -> Option<impl Iterator<Item = Vec<Atom>> + '_> {
    let v = vocab.len() as u128;
    let mut count: u128 = 0;
    let mut power: u128 = 1;
    for _ in 0..max_len {
        power = power.checked_mul(v)?;
        count = count.checked_add(power)?;
    }
    if count > limit || vocab.is_empty() {
        return None;
    }
    Some((1..=max_len).flat_map(move |n| {
        let total = (vocab.len() as u128).pow(n as u32);
        (0..total).map(move |mut code| {
            let mut input = Vec::with_capacity(n);
            for _ in 0..n {
                input.push(vocab[(code % vocab.len() as u128) as usize].clone());
                code /= vocab.len() as u128;
            }
            input
        })
    }))
}

/// `count` random inputs of random lengths `1..=max_len` (a fixed-seed
/// generator, so runs repeat).
pub fn random_inputs(
    vocab: &[Atom],
    max_len: usize,
    count: usize,
    seed: u64,
) -> impl Iterator<Item = Vec<Atom>> + '_ {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    };
    (0..count).map(move |_| {
        let n = 1 + (next() as usize) % max_len.max(1);
        (0..n)
            .map(|_| vocab[(next() as usize) % vocab.len()].clone())
            .collect()
    })
}
