//! What the command line says about mistakes outside the program: a
//! program given to `rasp exec`, a bad `--vocab`, an `--input` that is not
//! one. Each diagnostic is a snapshot in `tests/snapshots/cli/`; regenerate
//! with `INSTA_UPDATE=always cargo test --test it cli_diagnostics` and
//! review the diff.

use std::path::Path;

use crate::rasp;

/// Runs `rasp` with `args`, which must fail with `status`; snapshots its
/// standard error as `name`.
fn fails_with(name: &str, args: &[&str], status: i32) {
    let out = rasp(args, None);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(status), "{name}: {stderr}");
    assert!(stderr.starts_with("rasp::"), "{name}: {stderr}");
    let mut settings = crate::snapshot_settings(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/cli"),
    );
    settings.set_description(format!("rasp {}", args.join(" ")));
    settings.bind(|| insta::assert_snapshot!(name, stderr));
}

#[test]
fn exec_of_a_program_says_it_is_one() {
    fails_with(
        "exec_program",
        &["exec", "examples/reverse.rasp", "--input", "abc"],
        1,
    );
    fails_with("exec_text", &["exec", "README.md", "--input", "abc"], 1);
}

#[test]
fn a_bad_vocabulary_is_reported_as_one() {
    let reverse = "examples/reverse.rasp";
    fails_with(
        "vocab_unclosed",
        &[
            "compile",
            reverse,
            "--vocab",
            "[1, 2",
            "--max-len",
            "4",
            "-o",
            "x.st",
        ],
        2,
    );
    fails_with(
        "vocab_mixed",
        &["verify", reverse, "--vocab", "[\"a\", 2]", "--max-len", "4"],
        2,
    );
    // An empty or repeated token would make a model with a token no input
    // can hold, or two ids for one token.
    fails_with(
        "vocab_empty_token",
        &["verify", reverse, "--vocab", "a,,b", "--max-len", "4"],
        2,
    );
    fails_with(
        "vocab_repeated_token",
        &["verify", reverse, "--vocab", "a,b,a", "--max-len", "4"],
        2,
    );
}

#[test]
fn an_input_is_read_as_data_before_the_program_runs() {
    let program = "tests/errors/input_mixed.rasp";
    fails_with("input_mixed", &["run", program, "--input", "[1, \"a\"]"], 1);
    fails_with("input_unclosed", &["run", program, "--input", "[1, 2"], 1);
}
