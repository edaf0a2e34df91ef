//! Integration tests: diagnostics snapshots, the command line, and property
//! tests of the whole pipeline. (One test binary keeps build times down.)

mod analyze;
mod cli;
mod cli_diagnostics;
mod compile;
mod corpus;
mod diagnostics;
mod draw;
mod dtype;
mod format;
mod fuzz;
mod generate;
#[path = "../support/golden.rs"]
mod golden;
mod kernels;
mod limits;
mod precision;
mod readme;
mod repl;
mod view;

/// Allocations counted as the `rasp` binary counts them (memory limits,
/// leak checks).
#[global_allocator]
static ALLOCATOR: rasp::memory::Counting = rasp::memory::Counting;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Runs the `rasp` binary from the crate root without colours, feeding
/// `stdin` (or nothing) to it.
pub fn rasp(args: &[&str], stdin: Option<&str>) -> Output {
    rasp_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, stdin)
}

/// [`rasp`], run in the directory `dir`.
pub fn rasp_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rasp"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rasp starts");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("rasp finishes")
}

/// The files of `dir` (relative to the crate root) whose names start with
/// `prefix` and end with `suffix`, sorted.
pub fn files_in(dir: &str, prefix: &str, suffix: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with(prefix) && n.ends_with(suffix)
            })
        })
        .collect();
    files.sort();
    files
}

/// Insta settings writing snapshots named by file stem into `dir`.
pub fn snapshot_settings(dir: &Path) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

/// How many cases a property test runs: `PROPTEST_CASES` if set (for long
/// runs), else `default` (what CI runs).
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Runs a golden-case program file and returns its text and the s-op it
/// names (`#> sop:`), or else the last s-op it assigned, with that name.
pub fn program_sop(
    file: &Path,
    case: &crate::golden::Case,
) -> (String, String, rasp::eval::sop::SOp) {
    use rasp::eval::value::Value;
    use rasp::eval::Interpreter;
    let text = std::fs::read_to_string(file).expect("read");
    let mut interp = Interpreter::new().expect("starts");
    let mut last = None;
    interp
        .run(
            &rasp::syntax::span::source(file.display().to_string(), text.clone()),
            file.parent(),
            &mut |e| {
                if let rasp::eval::Event::Assigned(bound) = e {
                    for (name, v) in bound {
                        if let Value::SOp(s) = v {
                            last = Some((name.to_string(), s));
                        }
                    }
                }
            },
        )
        .expect("runs");
    let (name, sop) = match &case.sop {
        Some(n) => match interp.get(n) {
            Some(Value::SOp(s)) => (n.clone(), s),
            _ => panic!("{n} is an s-op"),
        },
        None => last.expect("an s-op"),
    };
    (text, name, sop)
}
