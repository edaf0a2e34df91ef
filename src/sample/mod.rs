//! Corpora of random programs compiled and verified: what `rasp sample`
//! builds for research on compiled transformers (decompilers trained on
//! (program, weights) pairs, benchmarks of interpretability methods).
//!
//! Each attempt draws a program from [`generate`] with its own seed, runs it
//! with the interpreter, compiles its last variable and checks the model
//! against the interpreter ([`crate::compile::verify`]: on every input of
//! lengths `1..=max_len` when there are at most [`EXHAUSTIVE_LIMIT`], else
//! on [`SAMPLES`] of them, the hard ones first). Only models that agree are
//! kept; every other attempt is dropped with its reason ([`Dropped`]).
//! Everything depends only on the settings and the attempt's number, so an
//! attempt can be run again, on any thread, with the same result.

pub mod generate;

use crate::compile::verify::{all_inputs, count_all, sample_inputs, verify};
use crate::compile::{compile_with, CompileOptions};
use crate::eval::atom::Atom;
use crate::eval::value::Value;
use crate::eval::Limits;
use crate::model::inspect::layer_sizes;
use crate::model::{Dtype, Model};
use crate::syntax::span::source;
use crate::Interpreter;

pub use generate::Tokens;

/// The generator's version: a program seed gives the same program as long
/// as this stays the same (a corpus records it, and is extended only by
/// the same version).
pub const GENERATOR_VERSION: u32 = 1;

/// Inputs of a space at most this large are all checked.
pub const EXHAUSTIVE_LIMIT: u128 = 20_000;

/// Inputs checked in a larger space.
pub const SAMPLES: usize = 2_000;

/// The limits programs run under (generated programs are small; these only
/// stop a runaway).
const LIMITS: Limits = Limits {
    max_call_depth: 64,
    max_steps: 100_000,
    max_list_len: 10_000,
};

/// What every attempt of one corpus shares.
#[derive(Debug, Clone)]
pub struct Settings {
    pub vocab: Vec<Atom>,
    pub max_len: usize,
    /// Models of fewer or more layers are dropped.
    pub layers: (usize, usize),
    pub seed: u64,
    pub dtype: Dtype,
}

impl Settings {
    /// The seed of attempt `attempt`: a hash of the corpus seed and the
    /// attempt's number (so neighbouring attempts are unrelated).
    pub fn program_seed(&self, attempt: u64) -> u64 {
        let mut z = self.seed ^ attempt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A program whose model is exact on every input checked.
#[derive(Debug, Clone)]
pub struct Kept {
    pub attempt: u64,
    pub seed: u64,
    pub source: String,
    /// The compiled s-op's name.
    pub sop: String,
    pub model: Model,
    /// Inputs checked, how many the interpreter is defined on (all of
    /// which agree), and whether they were every input.
    pub checked: usize,
    pub defined: usize,
    pub exhaustive: bool,
}

/// Why an attempt was dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dropped {
    /// The interpreter rejects the program (a type error the generator
    /// let through).
    DidNotRun,
    /// The compiler refused it, with this diagnostic code.
    Refused(String),
    /// The model's layer count is outside the asked range.
    Layers(usize),
    /// The interpreter fails on every input checked: nothing to learn from.
    NeverDefined,
    /// The model disagrees with the interpreter on some input (the first
    /// one, in words): a compiler defect, never kept.
    Disagrees(String),
}

impl Dropped {
    /// A short name for counting, e.g. `refused (rasp::compile::limit)`.
    pub fn reason(&self) -> String {
        match self {
            Dropped::DidNotRun => "did not run".into(),
            Dropped::Refused(code) => format!("refused ({code})"),
            Dropped::Layers(n) => {
                format!(
                    "{n} layer{}, outside --layers",
                    if *n == 1 { "" } else { "s" }
                )
            }
            Dropped::NeverDefined => "undefined on every input".into(),
            Dropped::Disagrees(_) => "model disagrees with the interpreter".into(),
        }
    }
}

/// Draws, runs, compiles and checks attempt `attempt`.
pub fn attempt(settings: &Settings, tokens: &Tokens, attempt: u64) -> Result<Kept, Dropped> {
    let seed = settings.program_seed(attempt);
    let text = generate::program_of_seed(seed, tokens);
    let mut kept = check(&text, settings, seed)?;
    kept.attempt = attempt;
    Ok(kept)
}

/// Runs `text` (a program whose last line binds its output), compiles its
/// output and checks the model against the interpreter as [`attempt`]
/// does; `seed` is recorded and picks the sampled inputs of a large space.
pub fn check(text: &str, settings: &Settings, seed: u64) -> Result<Kept, Dropped> {
    let text = text.to_string();
    let attempt = 0;
    let mut interp = Interpreter::with_limits(LIMITS).map_err(|_| Dropped::DidNotRun)?;
    if interp
        .run(&source("<sample>", text.clone()), None, &mut |_| {})
        .is_err()
    {
        return Err(Dropped::DidNotRun);
    }
    let last = text
        .lines()
        .last()
        .and_then(|l| l.split(' ').next())
        .unwrap_or("v0")
        .to_string();
    let Some(Value::SOp(sop)) = interp.get(&last) else {
        return Err(Dropped::DidNotRun);
    };
    let options = CompileOptions {
        dtype: settings.dtype,
    };
    let model = compile_with(
        &sop,
        &last,
        &text,
        &settings.vocab,
        settings.max_len,
        &options,
    )
    .map_err(|e| {
        use miette::Diagnostic;
        Dropped::Refused(e.code().map_or_else(|| "unknown".into(), |c| c.to_string()))
    })?;
    let layers = model.config.n_layers;
    if layers < settings.layers.0 || layers > settings.layers.1 {
        return Err(Dropped::Layers(layers));
    }
    let space = count_all(settings.vocab.len(), settings.max_len);
    let exhaustive = space.is_some_and(|n| n <= EXHAUSTIVE_LIMIT);
    let report = match all_inputs(&settings.vocab, settings.max_len, EXHAUSTIVE_LIMIT) {
        Some(inputs) => verify(&model, &sop, inputs, |_| {}),
        None => verify(
            &model,
            &sop,
            sample_inputs(&settings.vocab, settings.max_len, SAMPLES, seed),
            |_| {},
        ),
    };
    if report.mismatch_count > 0 {
        let first = report
            .mismatches
            .first()
            .map_or_else(String::new, |(input, want, got)| {
                format!("on {input:?} the interpreter gives {want:?}, the model {got:?}")
            });
        return Err(Dropped::Disagrees(first));
    }
    if report.matched == 0 {
        return Err(Dropped::NeverDefined);
    }
    Ok(Kept {
        attempt,
        seed,
        source: text,
        sop: last,
        model,
        checked: report.total,
        defined: report.matched,
        exhaustive,
    })
}

/// One manifest line's sizes: layers, heads per layer, MLP units per layer,
/// `d_model`, parameters and non-zero parameters.
pub fn sizes_json(model: &Model) -> serde_json::Value {
    let sizes = layer_sizes(model);
    serde_json::json!({
        "layers": model.config.n_layers,
        "heads": sizes.iter().map(|s| s.heads.len()).collect::<Vec<_>>(),
        "mlp_units": sizes.iter().map(|s| s.mlp_units).collect::<Vec<_>>(),
        "d_model": model.config.d_model,
        "params": model.parameter_count(),
        "nonzero_params": model.nonzero_parameter_count(),
        "dtype": model.dtype.name(),
    })
}
