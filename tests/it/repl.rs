//! REPL transcripts: each `tests/repl/*.txt` is piped into `rasp` (no
//! terminal, so no prompts or colours) and the output is compared with an
//! insta snapshot in `tests/repl/snapshots/`. Regenerate with
//! `INSTA_UPDATE=always cargo test --test it`.

use std::path::Path;

use crate::{files_in, rasp, snapshot_settings};

/// Runs `rasp` (with `args`) on piped `input`; returns stdout, stderr and
/// the exit status (1 when a statement failed, as for a script).
fn run_repl_status(args: &[&str], input: &str) -> (String, String, Option<i32>) {
    let out = rasp(args, Some(input));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

/// [`run_repl_status`] of input in which every statement succeeds.
fn run_repl(args: &[&str], input: &str) -> (String, String) {
    let (stdout, stderr, code) = run_repl_status(args, input);
    assert_eq!(code, Some(0), "the REPL exits with success: {stdout}");
    (stdout, stderr)
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
        let (stdout, stderr, code) = run_repl_status(&[], &input);
        assert_eq!(stderr, "", "{stem}: nothing on stderr");
        // Piped input is a script: exit 1 when any statement failed.
        let failed = stdout.contains("rasp::");
        assert_eq!(code, Some(i32::from(failed)), "{stem}: exit status");
        let transcript = format!(
            "--- input ---\n{input}--- output ---\n{stdout}--- exit status {} ---\n",
            code.unwrap_or(-1)
        );
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
fn compile_without_a_file_writes_name_safetensors_and_says_so() {
    let dir = std::env::temp_dir().join(format!("rasp-repl-compile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = crate::rasp_in(
        &dir,
        &[],
        Some("rev = reverse(tokens);\n:compile rev a,b 4\n"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("written to rev.safetensors"), "{stdout}");
    let model = rasp::model::Model::load(dir.join("rev.safetensors")).expect("a model");
    assert_eq!(model.meta.sop, "rev");
    let _ = std::fs::remove_dir_all(&dir);
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

/// The REPL on a terminal (a pseudo-terminal made by util-linux `script`),
/// with `TERM` set to `term`: each step's text is typed once the output so
/// far holds the step's marker (or after 30 s), then `settle` seconds pass.
/// All it printed, carriage returns removed, and its exit status.
fn on_a_terminal(term: &str, steps: &[(&str, &str, f64)]) -> Option<(String, Option<i32>)> {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    let available = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("skipped: no `script` (util-linux) to make a terminal");
        return None;
    }
    // `script` runs its command through `$SHELL -c`; a shell that waits
    // for the REPL instead of becoming it dies of the same Ctrl-C (dash
    // does), and `script` reports that. `exec` makes the shell the REPL.
    let binary = env!("CARGO_BIN_EXE_rasp");
    let command = format!("exec '{}'", binary.replace('\'', "'\\''"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .env("TERM", term)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let seen = Arc::new(Mutex::new(String::new()));
    let reader = {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).replace('\r', "");
                if let Ok(mut s) = seen.lock() {
                    s.push_str(&text);
                }
            }
        })
    };
    let mut stdin = child.stdin.take().expect("stdin");
    for &(marker, text, settle) in steps {
        let start = std::time::Instant::now();
        while !seen.lock().map(|s| s.contains(marker)).unwrap_or(true)
            && start.elapsed() < std::time::Duration::from_secs(30)
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // A session that died early closed its end: the output says why.
        let _ = stdin
            .write_all(text.as_bytes())
            .and_then(|()| stdin.flush());
        std::thread::sleep(std::time::Duration::from_secs_f64(settle));
    }
    drop(stdin);
    let status = child.wait().expect("script ends");
    let _ = reader.join();
    let text = seen.lock().map(|s| s.clone()).unwrap_or_default();
    Some((text, status.code()))
}

#[test]
fn ctrl_c_stops_an_evaluation_and_the_session_goes_on_on_any_terminal() {
    for term in ["xterm", "dumb"] {
        let steps = [
            // The first prompt (line editing is ready), then each answer.
            (
                ">>",
                "def f(n) { x = 0; for i in range(n) { x = x + 1; } return x; }\n",
                0.2,
            ),
            // Nine million steps: seconds, even in an optimised build.
            ("function f(n)", "f(9000000);\n", 1.0),
            ("f(9000000);", "\u{3}", 0.2),
            ("interrupted", "1 + 1;\n", 0.2),
            ("value: 2", "exit\n", 0.2),
        ];
        let Some((text, code)) = on_a_terminal(term, &steps) else {
            return;
        };
        assert!(
            text.contains("the program was interrupted (Ctrl-C)"),
            "TERM={term}: {text}"
        );
        assert!(
            text.contains("value: 2"),
            "TERM={term}: the session goes on: {text}"
        );
        assert_eq!(code, Some(0), "TERM={term}: {text}");
    }
}

#[test]
fn unfinished_input_continues_after_the_continuation_prompt_on_a_terminal() {
    for term in ["xterm", "dumb"] {
        let steps = [
            (">>", "x = [1,\n", 0.2),
            // The session asks for more under its own prompt.
            ("..", "2];\n", 0.2),
            ("list: x = [1, 2]", "exit\n", 0.2),
        ];
        let Some((text, code)) = on_a_terminal(term, &steps) else {
            return;
        };
        // Without the terminal's escape sequences (colour, cursor moves).
        let mut plain = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' && chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            } else {
                plain.push(c);
            }
        }
        assert!(
            plain
                .lines()
                .any(|l| l.trim_start().starts_with(".. ") && l.ends_with("2];")),
            "TERM={term}: {plain}"
        );
        assert_eq!(code, Some(0), "TERM={term}: {text}");
    }
}
