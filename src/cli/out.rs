//! Standard output, every write checked. A write that fails (a full disk,
//! `> /dev/full`) is remembered: the command stops taking inputs, reports
//! the failure once as a diagnostic and exits non-zero, rather than
//! panicking or exiting 0 with its output lost. (A reader that closes the
//! pipe early, `| head`, ends the process quietly through SIGPIPE.)

use std::fmt;
use std::io::Write;
use std::process::ExitCode;
use std::sync::OnceLock;

use miette::Diagnostic;

static FAILED: OnceLock<String> = OnceLock::new();

/// Writes `text` to standard output and flushes it; false if that failed
/// now or before (nothing more is written after a failure).
pub fn write(text: &str) -> bool {
    write_bytes(text.as_bytes())
}

/// [`write`] for bytes.
pub fn write_bytes(bytes: &[u8]) -> bool {
    if failed() {
        return false;
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) => {
            let _ = FAILED.set(e.to_string());
            false
        }
    }
}

/// Whether a write to standard output has failed.
pub fn failed() -> bool {
    FAILED.get().is_some()
}

/// A failed write to standard output.
#[derive(Debug)]
pub struct WriteError(pub String);

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write to standard output: {}", self.0)
    }
}

impl std::error::Error for WriteError {}

impl Diagnostic for WriteError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("rasp::cli::write"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(
            "the output was lost from the first failed write on; check the disk or file it goes to",
        ))
    }
}

/// The command's exit code, or a failure (reported here) if a write to
/// standard output failed.
pub fn finish(code: ExitCode) -> ExitCode {
    match FAILED.get() {
        Some(reason) => {
            super::run::report(&WriteError(reason.clone()));
            ExitCode::from(super::EXIT_FAILURE)
        }
        None => code,
    }
}
