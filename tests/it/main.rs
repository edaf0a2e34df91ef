//! Integration tests: diagnostics snapshots, the command line, and property
//! tests of the whole pipeline. (One test binary keeps build times down.)

mod analyze;
mod cli;
mod compile;
mod diagnostics;
mod fuzz;
mod repl;
