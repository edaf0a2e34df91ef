//! Checking a compiled model against the interpreter.
//!
//! Inputs are taken in blocks: each block is encoded, run through the model
//! in chunks (one forward pass each) and through the interpreter, and the
//! chunks' tallies merged in input order, so a report (its first
//! disagreements included) is the same whether the chunks ran on one thread
//! ([`verify`]) or on all cores ([`verify_parallel`]).

use rayon::prelude::*;

use crate::eval::atom::Atom;
use crate::eval::batch::Shared;
use crate::eval::run::PreparedSOp;
use crate::eval::sop::SOp;
use crate::model::forward::{Prediction, Runner};
use crate::model::{Model, OutputDecoding};

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

/// Runs `inputs` through both and compares, with the interpreter on this
/// thread. `progress` is told how many inputs have been checked after each
/// block.
pub fn verify(
    model: &Model,
    sop: &SOp,
    inputs: impl Iterator<Item = Vec<Atom>>,
    progress: impl FnMut(usize),
) -> Report {
    let prepared = PreparedSOp::new(sop);
    check_blocks(model, inputs, progress, &|chunks, texts| {
        chunks
            .iter()
            .map(|chunk| check_chunk(&prepared, texts, chunk))
            .collect()
    })
}

/// [`verify`] with every block spread over all cores: `build` makes each
/// worker thread's own copy of the s-op (see [`crate::eval::batch`]).
pub fn verify_parallel(
    model: &Model,
    build: &(dyn Fn() -> Option<SOp> + Sync),
    inputs: impl Iterator<Item = Vec<Atom>>,
    progress: impl FnMut(usize),
) -> Report {
    let shared = Shared::new(build);
    check_blocks(model, inputs, progress, &|chunks, texts| {
        chunks
            .par_iter()
            .map(|chunk| {
                shared.with(|sop| match sop {
                    Some(sop) => check_chunk(sop, texts, chunk),
                    // The program ran on the calling thread, so it runs here.
                    None => Checked {
                        undefined: chunk.ids.len(),
                        ..Checked::default()
                    },
                })
            })
            .collect()
    })
}

/// Inputs per block: encoded, checked (in chunks), merged in order.
const BLOCK: usize = 16_384;

/// Inputs per chunk of a block (one forward pass, one thread).
const CHUNK: usize = 256;

/// What a worker thread needs besides the s-op: atoms without `Rc`s.
struct Texts {
    vocab: Vec<Owned>,
    values: Vec<Owned>,
}

/// A chunk of inputs, as token ids, with the model's outputs on them.
struct Chunk<'a> {
    /// Where the chunk starts in the run.
    first: usize,
    ids: &'a [Vec<u32>],
    predictions: Vec<Vec<Prediction>>,
}

/// A chunk's tally.
#[derive(Default)]
struct Checked {
    matched: usize,
    undefined: usize,
    mismatch_count: usize,
    /// The first few: input number, interpreter output, model output.
    mismatches: Vec<(usize, Vec<Owned>, Vec<Prediction>)>,
}

fn check_blocks(
    model: &Model,
    inputs: impl Iterator<Item = Vec<Atom>>,
    mut progress: impl FnMut(usize),
    check: &dyn Fn(&[Chunk], &Texts) -> Vec<Checked>,
) -> Report {
    let mut report = Report::default();
    let runner = Runner::new(model).ok();
    let texts = Texts {
        vocab: model.meta.vocab.iter().map(Owned::of).collect(),
        values: match &model.meta.output {
            OutputDecoding::Categorical { values } | OutputDecoding::Numerical { values } => {
                values.iter().map(Owned::of).collect()
            }
        },
    };
    let mut inputs = inputs.peekable();
    let mut ids: Vec<Vec<u32>> = Vec::with_capacity(BLOCK);
    let mut numbers: Vec<usize> = Vec::with_capacity(BLOCK);
    while inputs.peek().is_some() {
        ids.clear();
        numbers.clear();
        for input in inputs.by_ref().take(BLOCK) {
            match model.encode(&input) {
                Ok(i) => {
                    ids.push(i);
                    numbers.push(report.total);
                }
                // Inputs outside the model's vocabulary or length cannot
                // occur here; count them against the model.
                Err(_) => report.mismatch_count += 1,
            }
            report.total += 1;
        }
        let Some(runner) = &runner else {
            report.mismatch_count += ids.len();
            continue;
        };
        let chunks: Vec<Chunk> = ids
            .chunks(CHUNK)
            .zip(numbers.chunks(CHUNK))
            .map(|(ids, numbers)| Chunk {
                first: numbers.first().copied().unwrap_or(0),
                ids,
                predictions: Vec::new(),
            })
            .collect();
        let chunks: Vec<Chunk> = chunks
            .into_par_iter()
            .map(|mut chunk| {
                chunk.predictions = runner.predict_checked(chunk.ids);
                chunk
            })
            .collect();
        for checked in check(&chunks, &texts) {
            report.matched += checked.matched;
            report.undefined += checked.undefined;
            report.mismatch_count += checked.mismatch_count;
            for (number, want, got) in checked.mismatches {
                if report.mismatches.len() < KEPT_MISMATCHES {
                    let input = ids
                        .get(
                            numbers
                                .iter()
                                .position(|&n| n == number)
                                .unwrap_or(usize::MAX),
                        )
                        .map(|ids| {
                            ids[1..]
                                .iter()
                                .map(|&id| texts.vocab[id as usize - 1].atom())
                                .collect()
                        })
                        .unwrap_or_default();
                    let want = want.iter().map(Owned::atom).collect();
                    let got = got.into_iter().map(|p| model.prediction_value(p)).collect();
                    report.mismatches.push((input, want, got));
                }
            }
        }
        progress(report.total);
    }
    report
}

/// Runs the interpreter on a chunk's inputs and compares.
fn check_chunk(prepared: &PreparedSOp, texts: &Texts, chunk: &Chunk) -> Checked {
    let vocab: Vec<Atom> = texts.vocab.iter().map(Owned::atom).collect();
    let values: Vec<Atom> = texts.values.iter().map(Owned::atom).collect();
    let mut checked = Checked::default();
    for (offset, (ids, got)) in chunk.ids.iter().zip(&chunk.predictions).enumerate() {
        let input: Vec<Atom> = ids[1..]
            .iter()
            .filter_map(|&id| vocab.get(id as usize - 1).cloned())
            .collect();
        let Ok(want) = prepared.eval(&input) else {
            checked.undefined += 1;
            continue;
        };
        let agree = want.values.len() == got.len()
            && want.values.iter().zip(got).all(|(w, &g)| {
                let g = match g {
                    Prediction::Value(i) => values
                        .get(i as usize)
                        .cloned()
                        .unwrap_or(Atom::Float(f64::NAN)),
                    Prediction::Number(x) => Atom::Float(x),
                };
                same_output(w, &g)
            });
        if agree {
            checked.matched += 1;
        } else {
            checked.mismatch_count += 1;
            if checked.mismatches.len() < KEPT_MISMATCHES {
                let want = want.values.iter().map(Owned::of).collect();
                checked
                    .mismatches
                    .push((chunk.first + offset, want, got.clone()));
            }
        }
    }
    checked
}

/// An atom that can cross threads.
#[derive(Clone, Debug)]
enum Owned {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Owned {
    fn of(atom: &Atom) -> Owned {
        match atom {
            Atom::Bool(b) => Owned::Bool(*b),
            Atom::Int(i) => Owned::Int(*i),
            Atom::Float(x) => Owned::Float(*x),
            Atom::Str(s) => Owned::Str(s.to_string()),
        }
    }

    fn atom(&self) -> Atom {
        match self {
            Owned::Bool(b) => Atom::Bool(*b),
            Owned::Int(i) => Atom::Int(*i),
            Owned::Float(x) => Atom::Float(*x),
            Owned::Str(s) => Atom::Str(s.as_str().into()),
        }
    }
}

/// How many inputs of length `1..=max_len` there are over `vocab_len`
/// tokens, if it fits in a `u128`.
pub fn count_all(vocab_len: usize, max_len: usize) -> Option<u128> {
    let v = vocab_len as u128;
    let mut count: u128 = 0;
    let mut power: u128 = 1;
    for _ in 0..max_len {
        power = power.checked_mul(v)?;
        count = count.checked_add(power)?;
    }
    Some(count)
}

/// Every input of length `1..=max_len` over `vocab`, shortest first, if
/// there are at most `limit`.
pub fn all_inputs(
    vocab: &[Atom],
    max_len: usize,
    limit: u128,
) -> Option<impl Iterator<Item = Vec<Atom>> + '_> {
    let count = count_all(vocab.len(), max_len)?;
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
