//! `rasp`: an implementation of RASP, the language of "Thinking Like
//! Transformers" (Weiss, Goldberg, Yahav 2021).
//!
//! The pipeline is described in `ARCHITECTURE.md`: source text is lexed and
//! parsed by [`syntax`], then run by [`eval`], which builds the lazy s-op DAG
//! that later stages consume.

pub mod analyze;
#[cfg(feature = "cli")]
pub mod cli;
pub mod compile;
pub mod diagnostics;
pub mod draw;
pub mod error;
pub mod eval;
pub mod files;
pub mod memory;
pub mod model;
#[cfg(feature = "plot")]
pub mod plot;
pub mod repl;
pub mod sample;
pub mod syntax;
pub mod view;

pub use error::Error;
pub use eval::Interpreter;

// The crate's own unit tests count allocations as the binary does.
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: memory::Counting = memory::Counting;
