//! The compiler: RASP s-ops to transformer weights.
//!
//! It consumes the interpreter's s-op DAG (`eval::sop`) and proceeds in
//! named stages: value sets ([`values`]), the compile graph with encodings
//! ([`graph`]), schedule and assembly into a [`Model`] ([`assemble`]); then
//! [`verify`] compares the model with the interpreter.

pub mod assemble;
pub mod error;
pub mod graph;
pub mod values;
pub mod verify;

pub use error::CompileError;

use crate::eval::atom::Atom;
use crate::eval::sop::SOp;
use crate::model::Model;

/// The longest `max_len` the compiler accepts.
pub const MAX_LEN_LIMIT: usize = 512;

/// Compiles `sop` (named `name`, from program text `source`) for inputs
/// over `vocab` of lengths `1..=max_len`.
pub fn compile(
    sop: &SOp,
    name: &str,
    source: &str,
    vocab: &[Atom],
    max_len: usize,
) -> Result<Model, CompileError> {
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
    let graph = graph::build(sop, vocab, max_len)?;
    assemble::assemble(&graph, source, name)
}
