//! The compiler's property on generated programs: every program of the
//! library's typed generator (`rasp::sample::generate`) that compiles gives
//! a model equal to the interpreter on every input of a small space; and
//! `rasp sample`, which builds corpora from the same generator.
//!
//! The strategy draws a vector of choices, which the generator turns into a
//! program deterministically (so a failing case shrinks by shrinking the
//! choices). The CI run is bounded and seeded; a longer run:
//! `PROPTEST_CASES=10000 cargo test --release --test it generated_`.

use proptest::prelude::*;
use rasp::eval::atom::Atom;
use rasp::sample::generate;

/// The program the choices describe, over the tokens 0, 1, 2 (read with
/// `tokens_int`).
fn program(choices: &[u32]) -> String {
    generate::program(choices, &generate::Tokens::Ints)
}

/// The strategy: programs as their choices (shrinking shrinks the choices).
fn choices() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<u32>(), 40..160)
}

const MAX_LEN: usize = 4;

/// What happened to one generated program.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The interpreter rejected it (a type error the generator let through).
    DidNotRun,
    /// The compiler rejected it with a diagnostic (a limit, or unsupported).
    DidNotCompile,
    /// Compiled, and checked on every input: how many inputs were defined,
    /// and the model's layers (0 when none was).
    Checked { defined: usize, layers: usize },
}

/// Runs, compiles and checks the program as `rasp sample` does, on every
/// input of length 1 to 4 over 0, 1, 2; a disagreement or an internal
/// compiler error is an error naming the program.
fn check(text: &str) -> Result<Outcome, String> {
    use rasp::sample::{check, Dropped, Settings};
    let settings = Settings {
        vocab: vec![Atom::Int(0), Atom::Int(1), Atom::Int(2)],
        max_len: MAX_LEN,
        layers: (1, usize::MAX),
        seed: 0,
        dtype: rasp::model::Dtype::F32,
    };
    match check(text, &settings, 0) {
        Ok(kept) => {
            assert!(kept.exhaustive, "every input is checked");
            Ok(Outcome::Checked {
                defined: kept.defined,
                layers: kept.model.config.n_layers,
            })
        }
        Err(Dropped::DidNotRun) => Ok(Outcome::DidNotRun),
        Err(Dropped::Refused(code)) if code == "rasp::compile::internal" => {
            Err(format!("internal compiler error\n{text}"))
        }
        Err(Dropped::Refused(_)) => Ok(Outcome::DidNotCompile),
        Err(Dropped::NeverDefined) => Ok(Outcome::Checked {
            defined: 0,
            layers: 0,
        }),
        Err(Dropped::Layers(n)) => Err(format!("{n} layers outside 1.. \n{text}")),
        Err(Dropped::Disagrees(first)) => Err(format!("the model disagrees: {first}\n{text}")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: crate::proptest_cases(150),
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        rng_seed: proptest::test_runner::RngSeed::Fixed(8),
        ..ProptestConfig::default()
    })]

    /// Generated programs that compile give models equal to the interpreter.
    #[test]
    fn generated_programs_compile_exactly(choices in choices()) {
        let text = program(&choices);
        let outcome = check(&text);
        prop_assert!(outcome.is_ok(), "{:?}", outcome);
    }
}

#[test]
fn generated_programs_mostly_run_and_compile() {
    // The generator must not be vacuous: on a fixed seed most programs run,
    // many compile and are checked on inputs where the interpreter is defined.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = choices();
    let total = crate::proptest_cases(150) as usize;
    let (mut ran, mut checked) = (0, 0);
    let mut layers = 0;
    for _ in 0..total {
        let tree = strategy.new_tree(&mut runner).expect("a program");
        let text = program(&proptest::strategy::ValueTree::current(&tree));
        match check(&text) {
            Ok(Outcome::DidNotRun) => {}
            Ok(Outcome::DidNotCompile) => ran += 1,
            Ok(Outcome::Checked { defined, layers: n }) => {
                ran += 1;
                checked += usize::from(defined > 0);
                layers = layers.max(n);
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(ran * 10 >= total * 9, "only {ran} of {total} programs ran");
    // Some `or`s and `not`s of selects over different keys or queries are
    // beyond the compiler (a diagnostic); about 90 % compile.
    assert!(
        checked * 4 >= total * 3,
        "only {checked} of {total} programs were compiled and checked"
    );
    eprintln!(
        "{total} generated programs: {ran} ran, {checked} compiled and checked \
         (on every input of length 1..={MAX_LEN} over 0, 1, 2), deepest model {layers} layers"
    );
    assert!(layers >= 3, "programs stack several layers");
}

#[test]
fn the_generator_covers_every_form() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = choices();
    let mut all = String::new();
    for _ in 0..150 {
        let tree = strategy.new_tree(&mut runner).expect("a program");
        all.push_str(&program(&proptest::strategy::ValueTree::current(&tree)));
    }
    for form in [
        "select(",
        "aggregate(",
        "selector_width(",
        " and ",
        " or ",
        "(not ",
        " == ",
        " != ",
        " < ",
        " > ",
        " <= ",
        " >= ",
        "\"z\")",
        "True)",
        " % ",
        " if ",
        "(indices + 1) * ",
        "indices - 1, ==)",
        "round(",
    ] {
        assert!(all.contains(form), "no generated program uses `{form}`");
    }
}

/// `rasp sample` in a fresh directory under the temp dir.
fn sample_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rasp-sample-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn sample_builds_a_corpus_of_verified_models_and_extends_it() {
    let dir = sample_dir("ints");
    let d = dir.to_str().expect("utf-8");
    let args = |count: &'static str| {
        vec![
            "sample",
            "--count",
            count,
            "--vocab",
            "0,1,2",
            "--max-len",
            "3",
            "--layers",
            "1..3",
            "--seed",
            "2",
            "-o",
            d,
        ]
    };
    let out = crate::rasp(&args("6"), None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("6 programs in"));
    let read = |dir: &std::path::Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.join("manifest.jsonl"))
            .expect("manifest")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    };
    let first = read(&dir);
    assert_eq!(first.len(), 6);
    let mut sources = std::collections::HashSet::new();
    for entry in &first {
        // The program file, the model and the line agree with each other.
        let source = entry["source"].as_str().expect("source");
        assert!(sources.insert(source.to_string()), "a program twice");
        let program = dir.join(entry["program"].as_str().expect("program"));
        assert_eq!(
            std::fs::read_to_string(program).expect("program file"),
            source
        );
        let model = rasp::model::Model::load(dir.join(entry["model"].as_str().expect("model")))
            .expect("the model loads");
        assert_eq!(model.meta.source, source);
        assert_eq!(model.meta.sop, entry["sop"].as_str().expect("sop"));
        assert_eq!(entry["layers"].as_u64(), Some(model.config.n_layers as u64));
        assert!((1..=3).contains(&model.config.n_layers));
        // Every input of length 1 to 3 over three tokens was checked.
        assert_eq!(entry["verify"]["inputs"], 39);
        assert_eq!(entry["verify"]["exhaustive"], true);
        assert_eq!(entry["verify"]["agree"], entry["verify"]["defined"]);
        // The seed gives the program again.
        let seed = entry["seed"].as_u64().expect("seed").to_string();
        let again = crate::rasp(
            &[
                "sample",
                "--vocab",
                "0,1,2",
                "--max-len",
                "3",
                "--program-seed",
                &seed,
            ],
            None,
        );
        assert_eq!(String::from_utf8_lossy(&again.stdout), source);
        // And the model is what the compiler makes of it, checked again.
        let verified = crate::rasp(
            &[
                "verify",
                dir.join(entry["program"].as_str().expect("program"))
                    .to_str()
                    .expect("utf-8"),
                "--vocab",
                "0,1,2",
                "--max-len",
                "3",
            ],
            None,
        );
        assert_eq!(verified.status.code(), Some(0));
    }
    // Extended, not overwritten: the first six lines stay as they were.
    let out = crate::rasp(&args("9"), None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let extended = read(&dir);
    assert_eq!(extended.len(), 9);
    assert_eq!(&extended[..6], &first[..]);
    assert!(extended[6]["attempt"].as_u64() > first[5]["attempt"].as_u64());
    // Other settings are refused.
    let mut other = args("9");
    other[10] = "3";
    let out = crate::rasp(&other, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rasp::cli::sample_settings"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sample_reads_string_tokens_and_reports_what_it_dropped() {
    let dir = sample_dir("strings");
    let d = dir.to_str().expect("utf-8");
    let out = crate::rasp(
        &[
            "sample",
            "--count",
            "5",
            "--vocab",
            "a,b",
            "--max-len",
            "3",
            "--layers",
            "2",
            "-o",
            d,
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("dropped") && text.contains("outside --layers"),
        "{text}"
    );
    let manifest = std::fs::read_to_string(dir.join("manifest.jsonl")).expect("manifest");
    assert_eq!(manifest.lines().count(), 5);
    assert!(
        !manifest.contains("tokens_int"),
        "string tokens are not read as ints"
    );
    let dropped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("dropped.json")).expect("dropped"))
            .expect("json");
    assert!(dropped.as_object().is_some_and(|d| !d.is_empty()));
    // A range no program reaches ends with a diagnostic, not a loop (and
    // a corpus of other settings is refused first).
    let unreachable = |dir: &str| {
        let args = ["sample", "--count", "1", "--vocab", "a,b", "--max-len", "3"];
        crate::rasp(
            &[&args[..], &["--layers", "40..", "-o", dir]].concat(),
            None,
        )
    };
    let out = unreachable(d);
    assert_eq!(
        out.status.code(),
        Some(2),
        "other settings than the corpus in d"
    );
    let fresh = sample_dir("strings-none");
    let out = unreachable(fresh.to_str().expect("utf-8"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rasp::cli::sample_exhausted"));
    for bad in ["0", "4..2", "x"] {
        let out = crate::rasp(
            &[
                "sample",
                "--vocab",
                "a,b",
                "--max-len",
                "3",
                "--layers",
                bad,
                "-o",
                d,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&fresh);
}
