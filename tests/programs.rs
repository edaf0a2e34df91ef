//! Runs every golden case in `tests/programs/`, every program of the corpus
//! in `tests/corpus/` and every example in `examples/` through the
//! interpreter, one test per file (see `support/golden.rs` for the format).

#[path = "support/golden.rs"]
mod golden;

use std::path::{Path, PathBuf};

use golden::{parse_case, Case, Expected};
use libtest_mimic::{Arguments, Failed, Trial};
use rasp::eval::atom::Atom;
use rasp::eval::print::{sequence_text, value_text};
use rasp::eval::run::eval_sop;
use rasp::eval::value::Value;
use rasp::eval::Event;
use rasp::syntax::span::source;
use rasp::Interpreter;

/// Allocations counted as the `rasp` binary counts them (memory limits,
/// leak checks).
#[global_allocator]
static ALLOCATOR: rasp::memory::Counting = rasp::memory::Counting;

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let programs = rasp_files(&root.join("tests/programs"));
    assert!(
        programs.len() >= 100,
        "expected at least 100 golden programs"
    );
    let corpus = rasp_files(&root.join("tests/corpus"));
    assert!(corpus.len() >= 32, "expected at least 32 corpus programs");
    let examples = rasp_files(&root.join("examples"));
    assert!(!examples.is_empty(), "expected examples");
    let mut trials = Vec::new();
    for (prefix, files) in [
        ("", programs),
        ("corpus::", corpus),
        ("examples::", examples),
    ] {
        for path in files {
            let name = path
                .file_stem()
                .map(|s| format!("{prefix}{}", s.to_string_lossy()))
                .unwrap_or_default();
            trials.push(Trial::test(name, move || check(&path)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

fn rasp_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "rasp"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn check(path: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case = parse_case(&text).map_err(|e| e.to_string())?;
    let mut interp = Interpreter::new().map_err(|e| e.to_string())?;
    let src = source(path.display().to_string(), text);
    let mut prints = Vec::new();
    let mut last_sop = None;
    interp
        .run(&src, path.parent(), &mut |event| match event {
            Event::Value { value, .. } => {
                if let Value::SOp(s) = &value {
                    last_sop = Some(s.clone());
                }
                prints.push(value_text(&value));
            }
            Event::Assigned(bound) => {
                for (_, v) in bound {
                    if let Value::SOp(s) = v {
                        last_sop = Some(s);
                    }
                }
            }
            // Golden programs check values; drawings are tested in
            // tests/it/draw.rs, REPL commands in tests/repl/.
            Event::Draw { .. } | Event::SetExample { .. } | Event::Command(_) => {}
        })
        .map_err(|e| {
            format!(
                "the program failed: {}",
                rasp::diagnostics::render(&e, false)
            )
        })?;
    let mut problems = Vec::new();
    if path.parent().is_some_and(|d| d.ends_with("examples")) && case.inputs.is_empty() {
        problems.push("an example must show at least one input and its output".to_string());
    }
    if path.parent().is_some_and(|d| d.ends_with("corpus")) {
        problems.extend(corpus_problems(&case));
    }
    if prints != case.prints {
        problems.push(format!("printed {prints:?}, expected {:?}", case.prints));
    }
    let sop = match &case.sop {
        Some(name) => match interp.get(name) {
            Some(Value::SOp(s)) => Some(s),
            _ => return Err(format!("`{name}` is not an s-op").into()),
        },
        None => last_sop,
    };
    if !case.inputs.is_empty() {
        let sop = sop.ok_or("the program defines no s-op")?;
        for (input_text, expected) in &case.inputs {
            let input = Interpreter::parse_input(input_text)
                .map_err(|e| format!("bad input `{input_text}`: {e}"))?;
            let got = eval_sop(&sop, &input);
            match (got, expected) {
                (Ok(seq), Expected::Output(want)) => {
                    let shown = sequence_text(&seq);
                    if &shown != want {
                        problems.push(format!(
                            "input `{input_text}`: got {shown}, expected {want}"
                        ));
                    }
                }
                (Ok(seq), Expected::Error) => problems.push(format!(
                    "input `{input_text}`: got {}, expected an error",
                    sequence_text(&seq)
                )),
                (Err(e), Expected::Output(want)) => problems.push(format!(
                    "input `{input_text}`: failed ({e}), expected {want}"
                )),
                (Err(_), Expected::Error) => {}
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

/// A corpus program must name its vocabulary, show at least 4 and at most 10
/// inputs, and use only tokens of that vocabulary in them.
fn corpus_problems(case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    if !(4..=10).contains(&case.inputs.len()) {
        problems.push(format!(
            "a corpus program must show 4 to 10 inputs, not {}",
            case.inputs.len()
        ));
    }
    let Some(vocab_text) = &case.vocab else {
        problems.push("a corpus program must have a `#> vocab:` line".to_string());
        return problems;
    };
    let vocab = match Interpreter::parse_vocab(vocab_text) {
        Ok(vocab) => vocab,
        Err(e) => {
            problems.push(format!("bad vocabulary `{vocab_text}`: {e}"));
            return problems;
        }
    };
    let known = |t: &Atom| {
        vocab
            .iter()
            .any(|v| v.type_name() == t.type_name() && v.py_eq(t))
    };
    for (input_text, _) in &case.inputs {
        if let Ok(tokens) = Interpreter::parse_input(input_text) {
            if let Some(t) = tokens.iter().find(|t| !known(t)) {
                problems.push(format!(
                    "input `{input_text}` uses `{}`, not in the vocabulary {vocab_text}",
                    value_text(&Value::Atom(t.clone()))
                ));
            }
        }
    }
    problems
}
