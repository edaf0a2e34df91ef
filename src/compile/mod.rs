//! The compiler: RASP s-ops to transformer weights.
//!
//! It consumes the interpreter's s-op DAG (`eval::sop`) and proceeds in
//! named stages: value sets ([`values`]), encodings, schedule, blocks and
//! assembly (see `ARCHITECTURE.md`).

pub mod values;
