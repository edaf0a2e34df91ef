//! The compiler's main test: every program of `tests/corpus/` (written as
//! tracr's `lib.py` and the paper write them) compiles for its vocabulary,
//! and the model equals the interpreter on every input of a small space.

use rasp::compile::verify::{all_inputs, sample_inputs, verify};
use rasp::compile::{compile, compile_with, CompileOptions};
use rasp::eval::Interpreter;
use rasp::model::Dtype;

/// The most inputs checked per program (lengths `1..=n`, every sequence).
const SPACE: u128 = 3_000;

/// The longest length whose whole input space is at most [`SPACE`], at
/// most 6 (and at least 2).
fn max_len_for(vocab: usize) -> usize {
    let mut best = 2;
    for n in 2..=6 {
        match rasp::compile::verify::count_all(vocab, n) {
            Some(c) if c <= SPACE => best = n,
            _ => break,
        }
    }
    best
}

#[test]
fn every_corpus_program_compiles_and_equals_the_interpreter_on_every_small_input() {
    let files = crate::files_in("tests/corpus", "", ".rasp");
    assert!(files.len() >= 40, "the corpus has {} programs", files.len());
    let mut checked = 0u128;
    for file in &files {
        let case = crate::golden::parse_case(&std::fs::read_to_string(file).expect("read"))
            .expect("valid case");
        let (text, name, sop) = crate::program_sop(file, &case);
        let vocab = Interpreter::parse_vocab(case.vocab.as_deref().expect("a vocabulary"))
            .expect("valid vocabulary");
        let max_len = max_len_for(vocab.len());
        let shown = file.display();
        for dtype in [Dtype::F32, Dtype::F64] {
            let options = CompileOptions { dtype };
            let model = compile_with(&sop, &name, &text, &vocab, max_len, &options)
                .unwrap_or_else(|e| panic!("{shown} at {max_len} ({dtype:?}): {e:?}"));
            let inputs = all_inputs(&vocab, max_len, SPACE).expect("a small space");
            let report = verify(&model, &sop, inputs, |_| {});
            assert_eq!(
                report.mismatch_count,
                0,
                "{shown} at {max_len} ({dtype:?}): {} of {} differ; first {:?}",
                report.mismatch_count,
                report.total,
                report.mismatches.first()
            );
            assert_eq!(report.matched + report.undefined, report.total, "{shown}");
            assert!(report.matched > 0, "{shown}: nothing defined");
            checked += report.total as u128;
        }
    }
    assert!(checked > 40_000, "only {checked} inputs checked");
}

#[test]
fn tracr_programs_at_sixteen_are_exact_and_no_larger_than_tracr_s() {
    // Each compiled at max_len 16, checked on sampled inputs, and its size
    // held to tracr's (`#> tracr:`): the residual stream never wider, the
    // parameters never more.
    let mut compared = 0;
    for file in crate::files_in("tests/corpus", "tracr_", ".rasp") {
        let case = crate::golden::parse_case(&std::fs::read_to_string(&file).expect("read"))
            .expect("valid case");
        let Some(tracr) = case.tracr else { continue };
        let (text, name, sop) = crate::program_sop(&file, &case);
        let vocab = Interpreter::parse_vocab(case.vocab.as_deref().expect("a vocabulary"))
            .expect("valid vocabulary");
        let model = compile(&sop, &name, &text, &vocab, 16)
            .unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
        let shown = file.display();
        // Exact on the hard inputs of length 16 and random ones.
        let report = verify(&model, &sop, sample_inputs(&vocab, 16, 150, 7), |_| {});
        assert_eq!(
            report.mismatch_count,
            0,
            "{shown} at 16: first {:?}",
            report.mismatches.first()
        );
        let d_model = model.config.d_model;
        assert!(
            d_model <= tracr.d_model,
            "{shown}: d_model {d_model}, tracr {}",
            tracr.d_model
        );
        let params = model.parameter_count();
        assert!(
            params <= tracr.params,
            "{shown}: {params} parameters, tracr {}",
            tracr.params
        );
        compared += 1;
    }
    assert!(compared >= 15, "{compared} programs compared");
}
