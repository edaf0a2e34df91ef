//! REPL transcripts: each `tests/repl/*.txt` is piped into `rasp` (no
//! terminal, so no prompts or colours) and the output is compared with an
//! insta snapshot in `tests/repl/snapshots/`. Regenerate with
//! `INSTA_UPDATE=always cargo test --test it`.

use std::path::Path;

use crate::{files_in, rasp, snapshot_settings};

/// Runs `rasp` (with `args`) on piped `input`; returns stdout and stderr.
fn run_repl(args: &[&str], input: &str) -> (String, String) {
    let out = rasp(args, Some(input));
    assert!(out.status.success(), "the REPL exits with success");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn transcripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/repl");
    let files = files_in("tests/repl", "", ".txt");
    assert!(files.len() >= 6, "expected the REPL transcripts");
    let mut settings = snapshot_settings(&dir.join("snapshots"));
    for file in files {
        let stem = file
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let input = std::fs::read_to_string(&file).expect("read transcript");
        let (stdout, stderr) = run_repl(&[], &input);
        assert_eq!(stderr, "", "{stem}: nothing on stderr");
        let transcript = format!("--- input ---\n{input}--- output ---\n{stdout}");
        settings.set_description(format!("piped into `rasp`: tests/repl/{stem}.txt"));
        settings.bind(|| insta::assert_snapshot!(stem, transcript));
    }
}

#[test]
fn repl_subcommand_is_the_same_session() {
    let input = "x = 1 + 2;\nx;\n";
    assert_eq!(run_repl(&["repl"], input), run_repl(&[], input));
    let (stdout, _) = run_repl(&["repl"], input);
    assert_eq!(stdout, "     value: x = 3\n     value: 3\n");
}

#[test]
fn piped_input_has_no_prompt_or_banner() {
    let (stdout, _) = run_repl(&[], "show example\n");
    assert_eq!(stdout, "running example is: \"hello\"\n");
}
