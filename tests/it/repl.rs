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

mod survives_any_line {
    //! The backend (`rasp::repl::Session`, no terminal) takes any line:
    //! random bytes, token soup and commands, then still evaluates a simple
    //! statement.

    use proptest::prelude::*;
    use rasp::repl::Session;

    /// The REPL's own words, beside the language's tokens.
    const REPL_WORDS: &[&str] = &[
        "\"", "#", "set", "example", "show", "examples", "on", "off", "full", "seq", "display",
        ":type", ":names", ":analyze", ":help", "\t", "é", "\u{0}",
    ];

    fn words() -> Vec<&'static str> {
        crate::fuzz::TOKENS
            .iter()
            .chain(REPL_WORDS)
            .copied()
            .collect()
    }

    /// Commands that write files or take long are left out: `:draw`,
    /// `:compile`, `:load`.
    fn harmless(line: String) -> String {
        let head = line.trim_start();
        if [":d", ":c", ":l"].iter().any(|c| head.starts_with(c)) {
            format!(" {}", &head[1..])
        } else {
            line
        }
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..80)
                .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            prop::collection::vec(prop::sample::select(words()), 0..25).prop_map(|w| w.join(" ")),
            prop::collection::vec(prop::sample::select(words()), 0..10)
                .prop_map(|w| format!("set example {}", w.join(""))),
            Just("def g(a) {".to_string()),
            Just("x = select(tokens, tokens, ==);".to_string()),
            Just("y = aggregate(x, indices);".to_string()),
            Just("show example".to_string()),
            Just("full seq display on".to_string()),
        ]
        .prop_map(harmless)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: crate::proptest_cases(200), .. ProptestConfig::default() })]

        #[test]
        fn the_repl_survives_any_line(lines in prop::collection::vec(line(), 1..12)) {
            let mut session = Session::new().expect("starts");
            for line in &lines {
                let _ = session.feed(line);
            }
            let _ = session.finish();
            // Whatever happened, an abandoned statement aside, the session
            // still evaluates.
            session.cancel();
            let out = session.feed("zz = 1 + 2;");
            prop_assert!(out.text.contains("zz = 3"), "{:?}\n{}", lines, out.text);
            prop_assert!(!session.is_pending());
        }
    }
}
