//! The `rasp` binary: parses arguments and calls the library.

use std::process::ExitCode;

/// Counts each thread's allocations, for the memory limits (`rasp::memory`).
#[global_allocator]
static ALLOCATOR: rasp::memory::Counting = rasp::memory::Counting;

/// Deeply nested values (a list built by wrapping itself in a loop) are
/// dropped and printed recursively; a large stack keeps that safe.
const STACK_SIZE: usize = 512 * 1024 * 1024;

fn main() -> ExitCode {
    let worker = std::thread::Builder::new()
        .stack_size(STACK_SIZE)
        .spawn(rasp::cli::main);
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("error: rasp stopped unexpectedly");
            ExitCode::from(rasp::cli::EXIT_FAILURE)
        }
    }
}
