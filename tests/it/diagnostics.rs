//! Snapshot tests of rendered diagnostics: every program in `tests/errors/`
//! must fail, either as a whole or on its `#> input:`, and its diagnostic is
//! compared with `tests/snapshots/`. Regenerate with
//! `INSTA_UPDATE=always cargo test --test it` and review the diff.

use std::path::Path;

use rasp::diagnostics::render;
use rasp::eval::run::eval_sop;
use rasp::eval::value::Value;
use rasp::eval::Event;
use rasp::syntax::span::source;
use rasp::Interpreter;

/// Runs an error program and renders the diagnostic it must produce, with
/// its code on the first line.
fn diagnose(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("readable test file");
    let input = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("#> input:"))
        .map(|s| s.trim().to_string());
    let name = path
        .file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned();
    let mut interp = Interpreter::new().expect("interpreter starts");
    let mut last = None;
    let src = source(&name, text.clone());
    let result = interp.run(&src, path.parent(), &mut |e| {
        if let Event::Assigned(bound) = e {
            for (_, v) in bound {
                if let Value::SOp(s) = v {
                    last = Some(s);
                }
            }
        }
    });
    match (result, input) {
        (Err(e), None) => format!("{}\n{}", e.code_name(), render(&e, false)),
        (Ok(()), Some(input)) => {
            let atoms = match Interpreter::parse_input(&input) {
                Ok(atoms) => atoms,
                Err(e) => return format!("{}\n{}", e.code_name(), render(&e, false)),
            };
            let sop = last.expect("the program binds an s-op");
            match eval_sop(&sop, &atoms) {
                Ok(seq) => panic!(
                    "{name}: expected an error on `{input}`, got {:?}",
                    seq.values
                ),
                Err(e) => {
                    let e = e.on_input(&input);
                    format!("{}\n{}", e.code_name(), render(&e, false))
                }
            }
        }
        (Ok(()), None) => panic!("{name}: the program was expected to fail"),
        (Err(e), Some(_)) => panic!("{name}: the program itself failed: {e}"),
    }
}

#[test]
fn error_programs_render_their_diagnostics() {
    let files = crate::files_in("tests/errors", "", ".rasp");
    assert!(files.len() >= 25, "expected at least 25 error programs");
    let settings =
        crate::snapshot_settings(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
    for file in files {
        let stem = file
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let rendered = diagnose(&file);
        assert!(
            rendered.starts_with("rasp::"),
            "{stem}: no diagnostic code:\n{rendered}"
        );
        settings.bind(|| insta::assert_snapshot!(stem, rendered));
    }
}

/// A program of 200 KB on one line: the diagnostic shows about 120 columns
/// around what it points at, with `…` where the line is cut, and the
/// header still gives the original column.
#[test]
fn long_lines_are_cut_around_the_span() {
    let text = format!(
        "x = [{}nosuch, {}3];\n",
        "2, ".repeat(33_000),
        "3, ".repeat(33_000)
    );
    assert!(text.len() > 190_000);
    let mut interp = Interpreter::new().expect("interpreter starts");
    let err = interp
        .run(&source("long_line.rasp", text), None, &mut |_| {})
        .expect_err("an undefined name");
    let rendered = render(&err, false);
    assert!(rendered.len() < 1_000, "{} bytes", rendered.len());
    assert!(rendered.contains("long_line.rasp:1:99006]"), "{rendered}");
    let settings =
        crate::snapshot_settings(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
    settings.bind(|| insta::assert_snapshot!("long_line", rendered));
}
