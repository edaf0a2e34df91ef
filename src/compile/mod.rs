//! The compiler: RASP s-ops to transformer weights.
//!
//! It consumes the interpreter's s-op DAG (`eval::sop`) and proceeds in
//! named stages: the DAG as flat tables ([`graph`]), each node's values
//! ([`values`]), encodings, heads and MLP units with their error bounds
//! ([`lower`]), and the padded weights of a [`Model`] ([`assemble`]) with
//! the record of what each head and MLP computes ([`record`]); then
//! [`verify`] compares the model with the interpreter.

pub mod assemble;
pub mod error;
pub mod graph;
pub mod lower;
pub mod record;
#[allow(
    clippy::needless_range_loop,
    reason = "loops over query and key positions index several tables at once"
)]
pub mod values;
pub mod verify;

pub use error::{CompileError, CompileWarning};

use crate::eval::atom::Atom;
use crate::eval::sop::SOp;
use crate::model::{Dtype, Model};

/// The longest `max_len` the compiler accepts.
pub const MAX_LEN_LIMIT: usize = 512;

/// How to compile, beyond what to compile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// The model's dtype (default F32): the weights are computed in f64 and,
    /// for F32, rounded to the nearest f32.
    pub dtype: Dtype,
}

/// Compiles `sop` (named `name`, from program text `source`) for inputs
/// over `vocab` of lengths `1..=max_len`, with the default
/// [`CompileOptions`] (an F32 model).
pub fn compile(
    sop: &SOp,
    name: &str,
    source: &str,
    vocab: &[Atom],
    max_len: usize,
) -> Result<Model, CompileError> {
    compile_with(
        sop,
        name,
        source,
        vocab,
        max_len,
        &CompileOptions::default(),
    )
}

/// [`compile`] with `options`.
pub fn compile_with(
    sop: &SOp,
    name: &str,
    source: &str,
    vocab: &[Atom],
    max_len: usize,
    options: &CompileOptions,
) -> Result<Model, CompileError> {
    compile_noting(sop, name, source, vocab, max_len, options).map(|(model, _)| model)
}

/// [`compile_with`], with what the compiler notes about the model (maps
/// that fail on some inputs).
pub fn compile_noting(
    sop: &SOp,
    name: &str,
    source: &str,
    vocab: &[Atom],
    max_len: usize,
    options: &CompileOptions,
) -> Result<(Model, Vec<CompileWarning>), CompileError> {
    if vocab.is_empty() {
        return Err(CompileError::settings("the vocabulary is empty"));
    }
    let distinct = values::ValueSet::from_atoms(vocab.iter().cloned());
    if distinct.len() != vocab.len() {
        return Err(CompileError::settings("the vocabulary lists a token twice"));
    }
    if max_len == 0 || max_len > MAX_LEN_LIMIT {
        return Err(CompileError::settings(format!(
            "`--max-len` must be between 1 and {MAX_LEN_LIMIT}, not {max_len}"
        )));
    }
    let graph = graph::Graph::build(sop)?;
    let mut analysis = values::Analysis::run(&graph, vocab, max_len)?;
    // Products of a number by a gate save a table's rows but may cost a
    // layer: where the program has one, the smaller model is kept.
    let mut lowered = match lower::lower(&graph, &mut analysis, options.dtype, true) {
        Ok(with) if with.used_products => {
            match lower::lower(&graph, &mut analysis, options.dtype, false) {
                Ok(without)
                    if assemble::parameters(&without, vocab.len(), max_len)
                        < assemble::parameters(&with, vocab.len(), max_len) =>
                {
                    without
                }
                _ => with,
            }
        }
        Ok(with) => with,
        Err(e) => lower::lower(&graph, &mut analysis, options.dtype, false).map_err(|_| e)?,
    };
    let warnings = analysis
        .partial_failures
        .iter()
        .map(|p| CompileWarning::partial_failure(&graph.nodes[p.node], &p.example))
        .collect();
    let shadow = lower::precision::Shadow::of(&mut lowered);
    let mut model = assemble::assemble(&graph, lowered, vocab, max_len, source, name)?
        .with_dtype(options.dtype);
    model.meta.safe_dtypes = Some(shadow.safe_types(&model));
    Ok((model, warnings))
}
