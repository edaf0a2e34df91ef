//! The `rasp` binary, end to end: the README's command, every example of
//! the language specification (the `langdoc_*` golden programs) through
//! `rasp run`, JSON output, standard input, and exit statuses.

use std::path::PathBuf;
use std::process::Output;

use crate::{files_in, rasp};

use crate::golden::{parse_case, Expected};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write_program(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rasp-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write program");
    path
}

#[test]
fn readme_command_reverses_hello() {
    let out = rasp(&["run", "examples/reverse.rasp", "--input", "hello"], None);
    assert_eq!(
        stdout(&out),
        "[o, l, l, e, h]\n",
        "stderr: {}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn every_language_example_runs_through_rasp_run() {
    let files = files_in("tests/programs", "langdoc_", ".rasp");
    assert!(files.len() >= 20, "expected the language examples");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let case = parse_case(&text).expect("valid case");
        let path = file.to_string_lossy().into_owned();
        let mut args = vec!["run".to_string(), path.clone(), "--verbose".into()];
        if let Some(sop) = &case.sop {
            args.push("--sop".into());
            args.push(sop.clone());
        }
        for (input, _) in &case.inputs {
            args.push(format!("--input={input}"));
        }
        if case.inputs.is_empty() {
            // Nothing to run on: the program's prints are the whole result.
            args.push("--input=x".into());
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = rasp(&argv, None);
        let mut want: Vec<String> = case.prints.clone();
        let mut failures = 0;
        for (_, expected) in &case.inputs {
            match expected {
                Expected::Output(o) => want.push(o.clone()),
                // An error line in the input's place.
                Expected::Error => {
                    failures += 1;
                    want.push("error: ...".into());
                }
            }
        }
        let got: Vec<String> = stdout(&out)
            .lines()
            .map(|l| {
                if l.starts_with("error: ") {
                    "error: ...".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect();
        if case.inputs.is_empty() {
            // The extra line is the default s-op on `x`, if there is one.
            assert!(
                got.starts_with(&want),
                "{path}: printed {got:?}, expected {want:?}"
            );
            continue;
        }
        assert_eq!(got, want, "{path}: stderr: {}", stderr(&out));
        let code = if failures > 0 { 1 } else { 0 };
        assert_eq!(out.status.code(), Some(code), "{path}: {}", stderr(&out));
    }
}

#[test]
fn inputs_come_from_standard_input_one_per_line() {
    let out = rasp(
        &["run", "examples/reverse.rasp"],
        Some("abc\n\n[1, 2, 3]\n"),
    );
    assert_eq!(stdout(&out), "[c, b, a]\n[3, 2, 1]\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn json_output_keeps_real_types() {
    let prog = write_program(
        "mean.rasp",
        "m = aggregate(select(indices, indices, <=), tokens_int);\n",
    );
    let out = rasp(
        &[
            "run",
            prog.to_str().expect("utf-8"),
            "--json",
            "--input",
            "[1, 2, 4]",
        ],
        None,
    );
    assert_eq!(
        stdout(&out),
        "{\"input\":[1,2,4],\"output\":[1,1.5,2.3333333333333335]}\n",
        "{}",
        stderr(&out)
    );
    let out = rasp(
        &[
            "run",
            "examples/reverse.rasp",
            "--json",
            "--input",
            "[true]",
            "--input",
            "ab",
        ],
        None,
    );
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("{\"input\":\"[true]\",\"error\":\"invalid input: `true` is a name"),
        "{lines:?}"
    );
    assert_eq!(
        lines[1],
        "{\"input\":[\"a\",\"b\"],\"output\":[\"b\",\"a\"]}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_failing_input_does_not_stop_the_others() {
    let prog = write_program(
        "lookup.rasp",
        "d = {\"a\": 1, \"b\": 2};\nlooked = d[tokens];\n",
    );
    let p = prog.to_str().expect("utf-8");
    let out = rasp(
        &["run", p, "--input", "ab", "--input", "az", "--input", "ba"],
        None,
    );
    // The failing input's line is an error line in its place.
    assert_eq!(
        stdout(&out),
        "[1, 2]\nerror: key 'z' is not in the dict\n[2, 1]\n"
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("rasp::eval::missing_key"), "{err}");
    assert!(err.contains("position 1 of input `az`"), "{err}");
}

#[test]
fn exit_statuses() {
    let out = rasp(&["run", "examples/reverse.rasp", "--no-such-flag"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = rasp(
        &[
            "run",
            "examples/reverse.rasp",
            "--sop",
            "nothing",
            "--input",
            "a",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("rasp::cli::not_an_sop"));
    let out = rasp(&["run", "no/such/file.rasp", "--input", "a"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("rasp::cli::read_file"));
    let bad = write_program("bad.rasp", "x = 1 +;\n");
    let out = rasp(&["run", bad.to_str().expect("utf-8"), "--input", "a"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("rasp::syntax::"), "{}", stderr(&out));
    let none = write_program("none.rasp", "x = 1;\n");
    let out = rasp(
        &["run", none.to_str().expect("utf-8"), "--input", "a"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("rasp::cli::no_sop"));
}

#[test]
fn repl_commands_in_a_program() {
    // The REPL's display commands do nothing in `rasp run`; `exit` ends the
    // program, so nothing after it runs; the inputs still do.
    let program = write_program(
        "commands.rasp",
        "set example \"abc\"\nshow example\nexamples off\nfull seq display on\n\
         r = reverse(tokens);\nexit\nr = 1 / 0;\n",
    );
    let path = program.to_str().expect("utf-8");
    let out = rasp(&["run", path], Some("hey\nxy\n"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "[y, e, h]\n[y, x]\n");
    assert_eq!(stderr(&out), "");
    let out = rasp(&["analyze", path], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // `set example` must give an input.
    let bad = write_program("bad_example.rasp", "set example 5\nr = tokens;\n");
    let out = rasp(&["run", bad.to_str().expect("utf-8"), "--input", "a"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("rasp::eval::invalid_input"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sop_flag_and_verbose_printing() {
    let prog = write_program(
        "two.rasp",
        "a = tokens_int + 1;\nb = tokens_int * 10;\n2 ^ 3 ^ 2;\n[1, \"x\"];\n",
    );
    let p = prog.to_str().expect("utf-8");
    let out = rasp(&["run", p, "--input", "[1, 2]"], None);
    assert_eq!(stdout(&out), "[10, 20]\n");
    let out = rasp(
        &["run", p, "--sop", "a", "--verbose", "--input", "[1, 2]"],
        None,
    );
    assert_eq!(stdout(&out), "64\n[1, 'x']\n[2, 3]\n");
}

#[test]
fn every_example_runs_through_rasp_run() {
    let mut count = 0;
    for path in files_in("examples", "", ".rasp") {
        let case = parse_case(&std::fs::read_to_string(&path).expect("read")).expect("valid");
        for (input, expected) in &case.inputs {
            let out = rasp(
                &["run", path.to_str().expect("utf-8"), "--input", input],
                None,
            );
            let Expected::Output(want) = expected else {
                panic!("examples show outputs");
            };
            assert_eq!(stdout(&out).trim_end(), want, "{}", path.display());
            count += 1;
        }
    }
    assert!(count >= 8);
}

#[test]
fn analyze_prints_layers_and_json() {
    let out = rasp(&["analyze", "examples/reverse.rasp"], None);
    let text = stdout(&out);
    assert!(text.starts_with("reversed: 2 attention layers"), "{text}");
    let out = rasp(&["analyze", "examples/histogram.rasp", "--json"], None);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(json["layers"], 1);
    assert_eq!(json["heads_per_layer"], serde_json::json!([1]));
}

#[test]
fn large_batches_print_in_input_order_with_failures_in_place() {
    let prog = write_program(
        "lookup_batch.rasp",
        "d = {\"a\": 1, \"b\": 2};\nlooked = d[tokens];\n",
    );
    let p = prog.to_str().expect("utf-8");
    let lines: Vec<String> = (0..60)
        .map(|i| match i % 3 {
            0 => "ab".repeat(1 + i % 4),
            1 => "ba".to_string(),
            _ => "az".to_string(),
        })
        .collect();
    let out = rasp(&["run", p], Some(&(lines.join("\n") + "\n")));
    let expected: String = lines
        .iter()
        .map(|l| {
            if l.contains('z') {
                return "error: key 'z' is not in the dict\n".to_string();
            }
            let values: Vec<&str> = l
                .chars()
                .map(|c| if c == 'a' { "1" } else { "2" })
                .collect();
            format!("[{}]\n", values.join(", "))
        })
        .collect();
    assert_eq!(stdout(&out), expected);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).matches("rasp::eval::missing_key").count(), 20);
}

#[test]
fn exec_prints_what_run_prints_on_a_large_batch() {
    let dir = std::env::temp_dir().join(format!("rasp-cli-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let model = dir.join("sort5.safetensors");
    let m = model.to_str().expect("utf-8");
    let out = rasp(
        &[
            "compile",
            "examples/sort.rasp",
            "--vocab",
            "a,b,c",
            "--max-len",
            "5",
            "-o",
            m,
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Plain strings (the fast path), lists (the parser's path), and inputs
    // the model cannot take, mixed.
    let valid = ["cab", "[\"b\", \"a\"]", "a", "ccbba", "  [\"c\"]"];
    let lines: Vec<&str> = (0..40).map(|i| valid[i % valid.len()]).collect();
    let text = lines.join("\n") + "\n";
    for json in [false, true] {
        let flag: &[&str] = if json { &["--json"] } else { &[] };
        let ran = rasp(
            &[&["run", "examples/sort.rasp"], flag].concat(),
            Some(&text),
        );
        let executed = rasp(&[&["exec", m], flag].concat(), Some(&text));
        assert!(ran.status.success() && executed.status.success());
        assert_eq!(stdout(&executed), stdout(&ran));
        assert_eq!(stdout(&executed).lines().count(), 40);
    }
    let bad = "abc\nabz\nabcabc\n[1, 2]\nba\n";
    let out = rasp(&["exec", m, "--json"], Some(bad));
    let printed = stdout(&out);
    let printed: Vec<&str> = printed.lines().collect();
    assert_eq!(printed.len(), 5, "{printed:?}");
    assert!(printed[0].contains("\"output\":[\"a\",\"b\",\"c\"]"));
    assert!(printed[1].contains("\"error\"") && printed[2].contains("\"error\""));
    assert!(printed[3].contains("\"error\""));
    assert!(printed[4].contains("\"output\":[\"a\",\"b\"]"));
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn verify_refuses_zero_samples_as_usage() {
    let out = rasp(
        &[
            "verify",
            "examples/sort.rasp",
            "--vocab",
            "a,b",
            "--max-len",
            "3",
            "--samples",
            "0",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(err.contains("rasp::cli::no_samples"), "{err}");
    assert!(err.contains("`--samples` must be at least 1"), "{err}");
    assert!(err.contains("help:"), "{err}");
    // And at most a hundred million: 2^64 - 1 would run for ever.
    let out = rasp(
        &[
            "verify",
            "examples/sort.rasp",
            "--vocab",
            "a,b",
            "--max-len",
            "3",
            "--samples",
            "18446744073709551615",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("rasp::cli::too_many_samples"), "{err}");
    assert!(err.contains("at most 100000000"), "{err}");
}

#[test]
fn verify_samples_the_hard_inputs_first() {
    let vocab = "a,b,c,d,e,f,g,h,i,j,k";
    let args = [
        "verify",
        "examples/sort.rasp",
        "--vocab",
        vocab,
        "--max-len",
        "8",
        "--samples",
        "500",
        "--json",
    ];
    let out = rasp(&args, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    // 11 constant, 110 alternating, 220 with one other token first or last.
    assert_eq!(
        report["checked"],
        "500 inputs (341 hard ones, then random; seed 1)"
    );
    assert_eq!(
        (report["inputs"].clone(), report["agree"].clone()),
        (500.into(), 500.into())
    );
}

#[test]
fn verify_fails_when_the_program_fails_on_every_input() {
    let dir = std::env::temp_dir().join(format!("rasp-cli-undefined-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("undefined.rasp");
    std::fs::write(&file, "y = 10 / (indices - indices);\n").expect("writes");
    let file = file.display().to_string();
    // No model computes it: the compiler refuses, naming the failing map
    // and one failing case, for compile and verify alike.
    for command in ["verify", "compile"] {
        for vocab in ["a,b", "a,b,c,d,e,f,g,h,i,j,k"] {
            let out_path = dir.join("undefined.safetensors").display().to_string();
            let mut args = vec![command, &file, "--vocab", vocab, "--max-len", "8"];
            if command == "compile" {
                args.extend(["-o", &out_path]);
            }
            let out = rasp(&args, None);
            assert_eq!(out.status.code(), Some(1), "{command} {vocab}");
            let err = stderr(&out);
            assert!(err.contains("rasp::compile::map_fails"), "{err}");
            assert!(err.contains("`y` fails on every input"), "{err}");
            assert!(err.contains("division by zero"), "{err}");
        }
    }
    // Defined only on inputs of length 1: the compiler accepts it, and a
    // sampled check that meets no such input fails verification.
    std::fs::write(&file, "y = 10 / ((length == 1) + indices - indices);\n").expect("writes");
    for json in [false, true] {
        let mut args = vec![
            "verify",
            &file,
            "--vocab",
            "a,b,c,d,e,f,g,h,i,j,k",
            "--max-len",
            "8",
            "--samples",
            "5",
        ];
        if json {
            args.push("--json");
        }
        let out = rasp(&args, None);
        assert_eq!(out.status.code(), Some(1), "{json}");
        let err = stderr(&out);
        assert!(err.contains("rasp::cli::always_undefined"), "{err}");
        assert!(
            err.contains("the program fails on every input checked"),
            "{err}"
        );
        assert!(
            err.contains("rasp::eval::division_by_zero") && err.contains("on the first, [a"),
            "{err}"
        );
        if json {
            let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
            assert_eq!(report["undefined"], report["inputs"]);
            assert_eq!(report["agree"], 0);
        } else {
            assert!(stdout(&out).contains("0 agree"), "{}", stdout(&out));
        }
    }
    // Undefined on some inputs only is fine.
    std::fs::write(&file, "y = 10 / (indices - 1);\n").expect("writes");
    let out = rasp(&["verify", &file, "--vocab", "a,b", "--max-len", "4"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("2 agree, 28 undefined"),
        "{}",
        stdout(&out)
    );
    std::fs::remove_dir_all(&dir).expect("cleans up");
}

#[test]
fn verify_checks_every_input_on_all_cores_without_a_bar_on_a_pipe() {
    let out = rasp(
        &[
            "verify",
            "examples/dyck2.rasp",
            "--vocab",
            "(,),{,}",
            "--max-len",
            "5",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1364 inputs, 1364 agree, 0 undefined"),
        "{}",
        stdout(&out)
    );
    assert_eq!(stderr(&out), "");
}

#[test]
fn compile_warns_of_a_map_that_fails_on_some_inputs() {
    // `6 / tokens_int` fails where the token is 0: the model is built (the
    // other tokens have outputs), and the compiler says which map fails on
    // which values, as a warning with its span.
    let model =
        std::env::temp_dir().join(format!("rasp-partial-{}.safetensors", std::process::id()));
    let compile = |name: &str, text: &str| {
        let program = write_program(name, text);
        crate::rasp(
            &[
                "compile",
                program.to_str().expect("path"),
                "--vocab",
                "[0, 1, 2]",
                "--max-len",
                "3",
                "-o",
                model.to_str().expect("path"),
            ],
            None,
        )
    };
    let out = compile("partial_failure.rasp", "task = 6 / tokens_int;\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("rasp::compile::partial"), "{err}");
    assert!(err.contains("on (6, 0): division by zero"), "{err}");
    assert!(err.contains("6 / tokens_int"), "the span is shown: {err}");
    assert!(err.contains("help:"), "{err}");
    // A program that fails nowhere compiles without a word on stderr.
    let out = compile("no_failure.rasp", "task = 6 / (tokens_int + 1);\n");
    assert!(out.status.success());
    assert_eq!(stderr(&out), "");
    let _ = std::fs::remove_file(&model);
}

#[test]
fn a_full_disk_is_a_diagnostic_and_a_failure_for_every_command() {
    // Standard output that cannot be written (`> /dev/full`): no panic, no
    // exit 0 with the output lost, but one diagnostic and exit 1.
    let full = std::path::Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    let program = write_program("full_disk.rasp", "task = reverse(tokens);\n");
    let program = program.to_str().expect("path");
    let model = std::env::temp_dir().join(format!("rasp-full-{}.safetensors", std::process::id()));
    let model = model.to_str().expect("path");
    let built = crate::rasp(
        &[
            "compile",
            program,
            "--vocab",
            "a,b",
            "--max-len",
            "4",
            "-o",
            model,
        ],
        None,
    );
    assert!(built.status.success(), "{}", stderr(&built));
    let commands: Vec<(Vec<&str>, Option<&str>)> = vec![
        (vec!["analyze", program], None),
        (vec!["analyze", program, "--json"], None),
        (vec!["run", program, "--input", "abc"], None),
        (vec!["run", program], Some("abc\nba\n")),
        (
            vec![
                "compile",
                program,
                "--vocab",
                "a,b",
                "--max-len",
                "4",
                "-o",
                model,
            ],
            None,
        ),
        (
            vec![
                "compile",
                program,
                "--vocab",
                "a,b",
                "--max-len",
                "4",
                "-o",
                model,
                "--json",
            ],
            None,
        ),
        (
            vec!["verify", program, "--vocab", "a,b", "--max-len", "4"],
            None,
        ),
        (vec!["exec", model, "--input", "ab"], None),
        (vec!["inspect", model], None),
        (vec!["draw", program, "--input", "ab", "-o", "-"], None),
        (vec!["completions", "bash"], None),
        (vec![], Some("tokens;\n")),
    ];
    for (args, input) in commands {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rasp"))
            .args(&args)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::fs::File::create(full).expect("/dev/full opens"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("rasp starts");
        if let Some(text) = input {
            use std::io::Write;
            let _ = child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes());
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().expect("rasp finishes");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("rasp::cli::write"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let _ = std::fs::remove_file(model);
}

/// `rasp args` with raw bytes on standard input.
fn rasp_bytes(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rasp"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rasp starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let bytes = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    let out = child.wait_with_output().expect("rasp finishes");
    let _ = writer.join();
    out
}

#[test]
fn a_line_that_is_not_an_input_gets_its_error_in_its_place() {
    // Invalid UTF-8 and an over-long line are errors at their line; the
    // lines around them still run, and with --json every line has its line.
    let reverse = crate::files_in("examples", "reverse", ".rasp");
    let program = reverse[0].to_str().expect("path");
    let out = rasp_bytes(&["run", program, "--json"], b"ab\n\xff\xfex\nba\n");
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout)
        .expect("utf-8")
        .lines()
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].contains(r#""output":["b","a"]"#), "{}", lines[0]);
    assert!(
        lines[1].contains("line 2 of standard input is not an input: it is not valid UTF-8"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains(r#""output":["a","b"]"#), "{}", lines[2]);
    assert!(stderr(&out).contains("rasp::cli::input_line"));
    let mut long = b"ab\n".to_vec();
    long.extend(std::iter::repeat_n(b'a', rasp::cli::MAX_LINE_BYTES + 1));
    long.extend_from_slice(b"\nba\n");
    let out = rasp_bytes(&["run", program], &long);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "[b, a]\nerror: line 2 of standard input is not an input: it is longer than the limit of 64 MiB\n[a, b]\n"
    );
    assert!(
        stderr(&out).contains(
            "line 2 of standard input is not an input: it is longer than the limit of 64 MiB"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_endless_line_gets_its_error_before_it_ends() {
    // A line that never ends (`< /dev/zero`) is reported as soon as it
    // passes the bound, while it is still being written; its rest is
    // skipped and the next line runs.
    use std::io::{BufRead, Write};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rasp"))
        .args(["run", "examples/reverse.rasp"])
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rasp starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let (more, wait_for_more) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..(rasp::cli::MAX_LINE_BYTES >> 20) + 2 {
            if stdin.write_all(&chunk).is_err() {
                return;
            }
        }
        // The line is not over until the error has been read.
        let _ = wait_for_more.recv();
        let _ = stdin.write_all(b"aaa\nab\n");
    });
    let mut errors = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    while !seen.contains("line 1 of standard input is not an input") {
        let mut line = String::new();
        if errors.read_line(&mut line).expect("stderr reads") == 0 {
            panic!("standard error ended before the line's error: {seen}");
        }
        seen.push_str(&line);
    }
    more.send(()).expect("the writer waits");
    writer.join().expect("writer");
    let out = child.wait_with_output().expect("rasp finishes");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "error: line 1 of standard input is not an input: it is longer than the limit of 64 MiB\n[b, a]\n"
    );
}

#[test]
fn exec_gives_one_line_per_input_and_prints_numbers_as_run_does() {
    // frac_prevs: a mean over one key is the int 1 at the first position,
    // over two keys the float 1.0 at the second; the model holds them as one
    // value, and its record says which type each position has.
    let prog = write_program("fracs.rasp", "f = frac_prevs(tokens, \"a\");\n");
    let p = prog.to_str().expect("utf-8");
    let model =
        std::env::temp_dir().join(format!("rasp-cli-fracs-{}.safetensors", std::process::id()));
    let m = model.to_str().expect("utf-8");
    let out = rasp(
        &["compile", p, "--vocab", "a,b", "--max-len", "5", "-o", m],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let inputs = "a\naab\nbab\nac\nabab\n";
    for json in [false, true] {
        let flag: &[&str] = if json { &["--json"] } else { &[] };
        let ran = rasp(&[&["run", p], flag].concat(), Some(inputs));
        let executed = rasp(&[&["exec", m], flag].concat(), Some(inputs));
        let (ran, executed) = (stdout(&ran), stdout(&executed));
        let (ran, executed): (Vec<&str>, Vec<&str>) =
            (ran.lines().collect(), executed.lines().collect());
        assert_eq!(ran.len(), 5);
        assert_eq!(executed.len(), 5, "{executed:?}");
        // Every line but the unknown token's is the same; the model gives
        // that one an error line in its place (the interpreter runs it).
        for (i, (r, e)) in ran.iter().zip(&executed).enumerate() {
            if i == 3 {
                assert!(e.contains("not in the model's vocabulary"), "{e}");
            } else {
                assert_eq!(r, e);
            }
        }
        if !json {
            assert_eq!(executed[1], "[1, 1.0, 0.667]");
            assert!(executed[3].starts_with("error: "), "{}", executed[3]);
        }
    }
    let inspected = rasp(&["inspect", m, "--json"], None);
    let record: serde_json::Value = serde_json::from_str(&stdout(&inspected)).expect("json");
    assert_eq!(
        record["output"]["kinds"],
        serde_json::json!(["int", "float", "float", "float", "float"])
    );
    let _ = std::fs::remove_file(&model);
}

#[test]
fn verbose_shows_sops_on_the_input_and_keeps_json_lines_apart() {
    let prog = write_program(
        "verbose.rasp",
        "tokens;\nx = 1 + 2;\nx;\nselect(indices, indices, ==);\ny = reverse(tokens);\n",
    );
    let p = prog.to_str().expect("utf-8");
    let out = rasp(&["run", p, "--verbose", "--input", "abc"], None);
    assert_eq!(
        stdout(&out),
        "tokens_str(\"abc\") = [a, b, c] (strings)\n3\n(select(indices, indices, ==))(\"abc\") =\n        a b c\n    a | 1\n    b |   1\n    c |     1\n[c, b, a]\n"
    );
    // With --json, standard output holds only JSON lines.
    let out = rasp(&["run", p, "--verbose", "--json", "--input", "abc"], None);
    assert_eq!(
        stdout(&out),
        "{\"input\":[\"a\",\"b\",\"c\"],\"output\":[\"c\",\"b\",\"a\"]}\n"
    );
    assert!(
        stderr(&out).contains("tokens_str(\"abc\") = [a, b, c]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_writes_non_finite_floats_as_tagged_objects() {
    // A string token "inf" and the float infinity must not look alike.
    let prog = write_program(
        "inf.rasp",
        "big = tokens_float * 10.0 ^ 308 * 10;\nlabel = tokens_str;\n",
    );
    let p = prog.to_str().expect("utf-8");
    let out = rasp(
        &["run", p, "--sop", "big", "--json", "--input", "[1.0, -1.0]"],
        None,
    );
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(
        line["output"],
        serde_json::json!([{"float": "inf"}, {"float": "-inf"}])
    );
    let out = rasp(
        &["run", p, "--sop", "label", "--json", "--input", "[\"inf\"]"],
        None,
    );
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(line["output"], serde_json::json!(["inf"]));
}

#[test]
fn draw_refuses_a_file_name_that_says_another_format() {
    for (args, wanted) in [
        (
            &["-o", "flow.png"][..],
            "is not a name for what `rasp draw` writes",
        ),
        (
            &["-o", "flow.svg", "--format", "dot"][..],
            "does not match the name",
        ),
    ] {
        let out = rasp(
            &[&["draw", "examples/sort.rasp", "--input", "abc"], args].concat(),
            None,
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("rasp::cli::draw_format"),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(wanted), "{}", stderr(&out));
    }
    assert!(!std::path::Path::new("flow.png").exists());
}
