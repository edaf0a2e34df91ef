//! Checking a compiled model against the interpreter.
//!
//! Inputs are taken in blocks: each block is encoded, run through the model
//! in chunks (one forward pass each) and through the interpreter, and the
//! chunks' tallies merged in input order, so a report (its first
//! disagreements included) is the same whether the chunks ran on one thread
//! ([`verify`]) or on all cores ([`verify_parallel`]).
//!
//! The inputs: [`all_inputs`] when there are few enough, else
//! [`sample_inputs`], the hard ones ([`hard_inputs`]) first.

use std::collections::HashSet;

use rayon::prelude::*;

use crate::eval::atom::Atom;
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
            super::lower::same_number(
                super::values::set::number(want),
                super::values::set::number(got),
            )
        }
        _ => want.type_name() == got.type_name() && want.py_eq(got),
    }
}

/// Whether a raw number is within its proven `bound` of the interpreter's.
pub fn within(want: &Atom, got: &Atom, bound: Option<f64>) -> bool {
    let (Some(bound), Atom::Int(_) | Atom::Float(_), Atom::Float(x)) = (bound, want, got) else {
        return false;
    };
    (super::values::set::number(want) - x).abs() <= bound
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

/// [`verify`] with every block spread over all cores, every worker reading
/// the same prepared graph.
pub fn verify_parallel(
    model: &Model,
    sop: &SOp,
    inputs: impl Iterator<Item = Vec<Atom>>,
    progress: impl FnMut(usize),
) -> Report {
    let prepared = PreparedSOp::new(sop);
    check_blocks(model, inputs, progress, &|chunks, texts| {
        chunks
            .par_iter()
            .map(|chunk| check_chunk(&prepared, texts, chunk))
            .collect()
    })
}

/// Inputs per block: encoded, checked (in chunks), merged in order.
const BLOCK: usize = 16_384;

/// Inputs per chunk of a block (one forward pass, one thread).
const CHUNK: usize = 256;

/// What a worker thread needs besides the s-op.
struct Texts {
    vocab: Vec<Atom>,
    values: Vec<Atom>,
    /// A raw numerical output's proven error bound.
    bound: Option<f64>,
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
    mismatches: Vec<(usize, Vec<Atom>, Vec<Prediction>)>,
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
        vocab: model.meta.vocab.clone(),
        values: match &model.meta.output {
            OutputDecoding::Categorical { values } | OutputDecoding::Numerical { values, .. } => {
                values.clone()
            }
        },
        bound: match &model.meta.output {
            OutputDecoding::Numerical { bound, .. } => *bound,
            OutputDecoding::Categorical { .. } => None,
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
                                .map(|&id| texts.vocab[id as usize - 1].clone())
                                .collect()
                        })
                        .unwrap_or_default();
                    let got = got
                        .into_iter()
                        .enumerate()
                        .map(|(i, p)| model.prediction_value(p, i))
                        .collect();
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
    let (vocab, values) = (&texts.vocab, &texts.values);
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
                    Prediction::NonFinite => Atom::Float(f64::NAN),
                };
                same_output(w, &g) || within(w, &g, texts.bound)
            });
        if agree {
            checked.matched += 1;
        } else {
            checked.mismatch_count += 1;
            if checked.mismatches.len() < KEPT_MISMATCHES {
                checked
                    .mismatches
                    .push((chunk.first + offset, want.values, got.clone()));
            }
        }
    }
    checked
}

/// `rasp verify` checks every input when there are at most this many.
pub const EXHAUSTIVE_LIMIT: u128 = 1_000_000;

/// What `rasp verify` checks: the inputs, how many, and in words.
pub struct Checks<'a> {
    pub inputs: Box<dyn Iterator<Item = Vec<Atom>> + 'a>,
    pub total: u64,
    /// `every input`, or `N inputs (H hard ones, then random; seed S)`.
    pub mode: String,
}

/// The inputs `rasp verify` checks over `vocab` up to `max_len`: every one
/// when there are at most [`EXHAUSTIVE_LIMIT`], else `samples` of them
/// ([`sample_inputs`], the hard ones first, then random ones of `seed`).
pub fn checks(vocab: &[Atom], max_len: usize, samples: usize, seed: u64) -> Checks<'_> {
    if let Some(inputs) = all_inputs(vocab, max_len, EXHAUSTIVE_LIMIT) {
        return Checks {
            inputs: Box::new(inputs),
            total: count_all(vocab.len(), max_len).map_or(0, |n| n as u64),
            mode: "every input".to_string(),
        };
    }
    let hard = hard_input_count(vocab.len(), max_len)
        .unwrap_or(usize::MAX)
        .min(samples);
    Checks {
        inputs: Box::new(sample_inputs(vocab, max_len, samples, seed)),
        total: samples as u64,
        mode: format!("{samples} inputs ({hard} hard ones, then random; seed {seed})"),
    }
}

/// The report as `rasp verify --json` prints it: the model's sizes, what
/// was checked (`mode`), the counts, the time taken, and the first
/// disagreements.
pub fn report_json(
    model: &Model,
    report: &Report,
    mode: &str,
    max_len: usize,
    seconds: f64,
) -> serde_json::Value {
    use crate::eval::print::atoms_json;
    serde_json::json!({
        "sop": model.meta.sop,
        "n_layers": model.config.n_layers,
        "d_model": model.config.d_model,
        "parameters": model.parameter_count(),
        "nonzero_parameters": model.nonzero_parameter_count(),
        "checked": mode,
        "max_len": max_len,
        "inputs": report.total,
        "agree": report.matched,
        "undefined": report.undefined,
        "disagree": report.mismatch_count,
        "seconds": seconds,
        "mismatches": report.mismatches.iter().map(|(input, want, got)| serde_json::json!({
            "input": atoms_json(input),
            "interpreter": atoms_json(want),
            "model": atoms_json(got),
        })).collect::<Vec<_>>(),
    })
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
    let mut next = generator(seed);
    (0..count).map(move |_| {
        let n = 1 + (next() as usize) % max_len.max(1);
        (0..n)
            .map(|_| vocab[(next() as usize) % vocab.len()].clone())
            .collect()
    })
}

/// How many distinct hard inputs [`sample_inputs`] puts first for `vocab_len`
/// tokens and inputs of length `max_len` (see [`hard_inputs`]), if it fits.
pub fn hard_input_count(vocab_len: usize, max_len: usize) -> Option<usize> {
    let v = vocab_len;
    let pairs = v.checked_mul(v.saturating_sub(1))?;
    let per_pair = match max_len {
        0 => return Some(0),
        1 => 0,
        // Alternating (both phases); one token then another is alternating too.
        2 => 1,
        // Alternating, and one token repeated but at the end or at the start.
        _ => 3,
    };
    pairs.checked_mul(per_pair)?.checked_add(v)
}

/// The hard inputs of length `max_len` over `vocab_len` tokens, as token
/// indices, in this order, without repeats: every constant sequence (one
/// per token), the alternating sequences of every two tokens `a b a b ...`
/// (every ordered pair, so both phases), every sequence of one token
/// repeated but another at the last position, and at the first (none for
/// `max_len` 0). These are where compiled selectors and widths reach their
/// extremes (every key selected or none, widths of `max_len`, the longest
/// runs), so a check that samples must not leave them to chance.
pub fn hard_inputs(vocab_len: usize, max_len: usize) -> impl Iterator<Item = Vec<usize>> {
    let n = max_len;
    let v = vocab_len;
    let pairs =
        move || (0..v).flat_map(move |a| (0..v).filter(move |&b| b != a).map(move |b| (a, b)));
    let constants = (0..v).filter(move |_| n >= 1).map(move |a| vec![a; n]);
    let alternating = pairs()
        .filter(move |_| n >= 2)
        .map(move |(a, b)| (0..n).map(|i| if i % 2 == 0 { a } else { b }).collect());
    let last = pairs().filter(move |_| n >= 3).map(move |(a, b)| {
        let mut input = vec![a; n];
        input[n - 1] = b;
        input
    });
    let first = pairs().filter(move |_| n >= 3).map(move |(a, b)| {
        let mut input = vec![a; n];
        input[0] = b;
        input
    });
    constants.chain(alternating).chain(last).chain(first)
}

/// The inputs `rasp verify` checks when there are too many to check them
/// all: exactly `samples` inputs (none if `vocab` is empty or `max_len` is
/// 0), in this order:
///
/// 1. the [`hard_inputs`] of length `max_len`, as many as fit;
/// 2. a quarter of what is left, at most [`MAX_FULL_LENGTH`]: distinct
///    uniformly random inputs of length `max_len` that are not hard ones
///    (fewer if the draws keep repeating, in a space barely larger than
///    them);
/// 3. the rest: [`random_inputs`] of random lengths with `seed`, as
///    before, which may repeat an input.
///
/// The inputs are made as they are taken; what is kept is one 128-bit
/// fingerprint per input of part 2. Everything depends only on the
/// arguments, so runs repeat.
pub fn sample_inputs(
    vocab: &[Atom],
    max_len: usize,
    samples: usize,
    seed: u64,
) -> impl Iterator<Item = Vec<Atom>> + '_ {
    let (samples, n) = if vocab.is_empty() || max_len == 0 {
        (0, 0)
    } else {
        (samples, max_len)
    };
    let hard = hard_input_count(vocab.len(), n)
        .unwrap_or(usize::MAX)
        .min(samples);
    let full_length = ((samples - hard) / 4).min(MAX_FULL_LENGTH);
    Samples {
        vocab,
        max_len: n,
        seed,
        hard: Box::new(hard_inputs(vocab.len(), n).take(hard)),
        full_length,
        attempts: full_length.saturating_mul(4).saturating_add(64),
        draw: Box::new(generator(seed ^ 0x5DEE_CE66_D1CE_4E5B)),
        seen: HashSet::new(),
        left: samples,
        rest: None,
    }
}

/// The most distinct random full-length inputs [`sample_inputs`] draws (it
/// keeps 16 bytes for each).
pub const MAX_FULL_LENGTH: usize = 1 << 20;

/// The state of [`sample_inputs`].
struct Samples<'a> {
    vocab: &'a [Atom],
    max_len: usize,
    seed: u64,
    hard: Box<dyn Iterator<Item = Vec<usize>>>,
    /// Random full-length inputs still to draw, and draws left to do it.
    full_length: usize,
    attempts: usize,
    draw: Box<dyn FnMut() -> u64>,
    seen: HashSet<u128>,
    /// Inputs still to give.
    left: usize,
    /// The uniform rest, once the parts before are done.
    rest: Option<Box<dyn Iterator<Item = Vec<Atom>> + 'a>>,
}

impl Iterator for Samples<'_> {
    type Item = Vec<Atom>;

    fn next(&mut self) -> Option<Vec<Atom>> {
        if self.left == 0 {
            return None;
        }
        let atoms = |input: Vec<usize>| input.into_iter().map(|i| self.vocab[i].clone()).collect();
        if let Some(input) = self.hard.next() {
            self.left -= 1;
            return Some(atoms(input));
        }
        while self.full_length > 0 && self.attempts > 0 {
            self.attempts -= 1;
            let input: Vec<usize> = (0..self.max_len)
                .map(|_| (self.draw)() as usize % self.vocab.len())
                .collect();
            if !is_hard(&input) && self.seen.insert(fingerprint(&input)) {
                self.full_length -= 1;
                self.left -= 1;
                return Some(atoms(input));
            }
        }
        let (vocab, max_len, left, seed) = (self.vocab, self.max_len, self.left, self.seed);
        let rest = self
            .rest
            .get_or_insert_with(|| Box::new(random_inputs(vocab, max_len, left, seed)));
        let input = rest.next()?;
        self.left -= 1;
        Some(input)
    }
}

/// Whether `input` is one of the [`hard_inputs`] of its length.
fn is_hard(input: &[usize]) -> bool {
    let n = input.len();
    let (Some(&a), Some(&b)) = (input.first(), input.get(1)) else {
        return true;
    };
    let constant_from =
        |start: usize, end: usize| input[start..end].iter().all(|&t| t == input[start]);
    let alternating = input
        .iter()
        .enumerate()
        .all(|(i, &t)| t == if i % 2 == 0 { a } else { b });
    alternating || constant_from(0, n - 1) || constant_from(1, n)
}

/// Two independent 64-bit hashes of an input: equal fingerprints of
/// different inputs are too unlikely to matter.
fn fingerprint(input: &[usize]) -> u128 {
    use std::hash::{Hash, Hasher};
    let mut a = std::collections::hash_map::DefaultHasher::new();
    input.hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    (0x9E37_79B9_u32, input).hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// The fixed-seed generator of [`random_inputs`]: 31-bit draws.
fn generator(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::{hard_input_count, hard_inputs, is_hard, random_inputs, sample_inputs};
    use crate::eval::atom::Atom;

    fn tokens(n: usize) -> Vec<Atom> {
        (0..n).map(|i| Atom::Int(i as i64)).collect()
    }

    fn ints(input: &[Atom]) -> Vec<i64> {
        input
            .iter()
            .map(|a| match a {
                Atom::Int(i) => *i,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn hard_inputs_are_the_extreme_sequences_once_each() {
        for v in 1..=4 {
            for n in 0..=6 {
                let all: Vec<Vec<usize>> = hard_inputs(v, n).collect();
                assert_eq!(Some(all.len()), hard_input_count(v, n), "v {v}, n {n}");
                let distinct: HashSet<&Vec<usize>> = all.iter().collect();
                assert_eq!(distinct.len(), all.len(), "v {v}, n {n}: {all:?}");
                assert!(all.iter().all(|i| i.len() == n && is_hard(i)));
            }
        }
        let all: Vec<Vec<usize>> = hard_inputs(3, 4).collect();
        assert_eq!(&all[..3], [[0; 4], [1; 4], [2; 4]]);
        for expected in [
            [0, 1, 0, 1],
            [1, 0, 1, 0],
            [2, 1, 2, 1],
            [1, 1, 1, 2],
            [0, 0, 0, 1],
            [2, 0, 0, 0],
            [1, 2, 2, 2],
        ] {
            assert!(all.contains(&expected.to_vec()), "{expected:?}");
        }
        assert!(!all.contains(&vec![0, 1, 1, 0]));
        assert!(!all.contains(&vec![0, 1, 2, 0]));
        // Every input of length 2 is hard: constant or alternating.
        assert_eq!(hard_inputs(3, 2).count(), 9);
        assert_eq!(hard_inputs(3, 1).collect::<Vec<_>>(), [[0], [1], [2]]);
        // 3 + 3·2 alternating + 3·2 ending + 3·2 starting differently.
        assert_eq!(hard_input_count(3, 5), Some(21));
        assert_eq!(hard_input_count(usize::MAX, 5), None);
    }

    #[test]
    fn is_hard_knows_the_families() {
        assert!(is_hard(&[4, 4, 4, 4, 4]));
        assert!(is_hard(&[4, 2, 4, 2, 4]));
        assert!(is_hard(&[4, 4, 4, 4, 2]));
        assert!(is_hard(&[2, 4, 4, 4, 4]));
        assert!(!is_hard(&[4, 4, 2, 4, 4]));
        assert!(!is_hard(&[2, 4, 4, 4, 2]));
        assert!(!is_hard(&[4, 2, 4, 2, 2]));
    }

    #[test]
    fn samples_start_with_the_hard_inputs_then_distinct_full_length_ones() {
        let vocab = tokens(3);
        let (n, samples, seed) = (8, 1000, 5);
        let got: Vec<Vec<i64>> = sample_inputs(&vocab, n, samples, seed)
            .map(|i| ints(&i))
            .collect();
        assert_eq!(got.len(), samples);
        let hard: Vec<Vec<i64>> = hard_inputs(3, n)
            .map(|i| i.into_iter().map(|t| t as i64).collect())
            .collect();
        assert_eq!(hard.len(), 21);
        assert_eq!(got[..21], hard[..]);
        // Then a quarter of the rest: distinct, full length, not hard.
        let full = (samples - 21) / 4;
        let share = &got[21..21 + full];
        assert!(share.iter().all(|i| i.len() == n));
        let mut seen: HashSet<&Vec<i64>> = got[..21].iter().collect();
        for input in share {
            assert!(seen.insert(input), "{input:?} twice");
        }
        // Then the inputs `random_inputs` gives with the seed.
        let rest: Vec<Vec<i64>> = random_inputs(&vocab, n, samples - 21 - full, seed)
            .map(|i| ints(&i))
            .collect();
        assert_eq!(got[21 + full..], rest[..]);
        assert!(rest.iter().any(|i| i.len() < n));
        // The same arguments, the same inputs; another seed, other random ones.
        let again: Vec<Vec<i64>> = sample_inputs(&vocab, n, samples, seed)
            .map(|i| ints(&i))
            .collect();
        assert_eq!(again, got);
        let other: Vec<Vec<i64>> = sample_inputs(&vocab, n, samples, seed + 1)
            .map(|i| ints(&i))
            .collect();
        assert_eq!(other[..21], got[..21]);
        assert_ne!(other, got);
    }

    #[test]
    fn samples_are_exactly_as_many_as_asked() {
        let vocab = tokens(4);
        // Fewer samples than hard inputs: the first hard ones.
        let got: Vec<Vec<i64>> = sample_inputs(&vocab, 6, 10, 1).map(|i| ints(&i)).collect();
        let hard: Vec<Vec<i64>> = hard_inputs(4, 6)
            .take(10)
            .map(|i| i.into_iter().map(|t| t as i64).collect())
            .collect();
        assert_eq!(got, hard);
        for (n, samples) in [(1, 50), (2, 50), (3, 7), (5, 1), (12, 3000)] {
            assert_eq!(
                sample_inputs(&vocab, n, samples, 9).count(),
                samples,
                "max_len {n}"
            );
        }
        // Length 2: every full-length input is hard, so no distinct random
        // one can be drawn; the rest is uniform, and the count still holds.
        let got: Vec<Vec<i64>> = sample_inputs(&vocab, 2, 100, 3).map(|i| ints(&i)).collect();
        let rest: Vec<Vec<i64>> = random_inputs(&vocab, 2, 84, 3).map(|i| ints(&i)).collect();
        assert_eq!(got.len(), 100);
        assert_eq!(got[16..], rest[..]);
        assert_eq!(sample_inputs(&vocab, 0, 10, 1).count(), 0);
        assert_eq!(sample_inputs(&[], 5, 10, 1).count(), 0);
        assert_eq!(sample_inputs(&vocab, 5, 0, 1).count(), 0);
    }
}
