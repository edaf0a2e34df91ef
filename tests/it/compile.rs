//! The compiler's main test: compiled models equal the interpreter on every
//! input of a small space.

use rasp::compile::compile;
use rasp::compile::verify::{all_inputs, verify};
use rasp::eval::atom::Atom;
use rasp::eval::value::Value;
use rasp::syntax::span::source;
use rasp::Interpreter;

fn vocab(tokens: &str) -> Vec<Atom> {
    tokens
        .chars()
        .map(|c| Atom::Str(c.to_string().into()))
        .collect()
}

/// Compiles `expr` and checks it on every input up to `max_len`.
fn exhaustive(expr: &str, tokens: &str, max_len: usize) {
    let mut interp = Interpreter::new().expect("starts");
    let program = format!("task = {expr};\n");
    interp
        .run(&source("<test>", program.clone()), None, &mut |_| {})
        .expect("runs");
    let Some(Value::SOp(sop)) = interp.get("task") else {
        panic!("{expr} is an s-op");
    };
    let vocab = vocab(tokens);
    let model =
        compile(&sop, "task", &program, &vocab, max_len).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let inputs = all_inputs(&vocab, max_len, 1_000_000).expect("small space");
    let report = verify(&model, &sop, inputs, |_| {});
    assert_eq!(
        report.mismatch_count,
        0,
        "{expr}: {} of {} inputs differ ({} undefined); first: {:?}",
        report.mismatch_count,
        report.total,
        report.undefined,
        report.mismatches.first()
    );
    assert!(report.matched > 0);
}

#[test]
fn reverse_compiles_exactly() {
    exhaustive("reverse(tokens)", "abc", 5);
}

#[test]
fn histogram_compiles_exactly() {
    exhaustive("histogram(tokens)", "abc", 5);
}

#[test]
fn sort_compiles_exactly() {
    exhaustive("sort(tokens, tokens)", "abc", 5);
}

#[test]
fn length_and_maps_compile_exactly() {
    exhaustive("length * 2 - indices", "ab", 6);
    exhaustive("tokens == \"a\"", "ab", 4);
}

#[test]
fn dyck_compiles_exactly() {
    exhaustive("dyck1(tokens)", "()", 6);
    exhaustive("dyck2(tokens)", "(){}", 4);
}

#[test]
fn a_corrupted_model_is_caught() {
    // The check above must be able to fail: zero one MLP weight and verify
    // reports mismatches.
    let mut interp = Interpreter::new().expect("starts");
    let program = "task = histogram(tokens);\n".to_string();
    interp
        .run(&source("<test>", program.clone()), None, &mut |_| {})
        .expect("runs");
    let Some(Value::SOp(sop)) = interp.get("task") else {
        panic!("an s-op");
    };
    let vocab = vocab("ab");
    let mut model = compile(&sop, "task", &program, &vocab, 4).expect("compiles");
    model.layers[0].mlp.w_out.fill(0.0);
    let report = verify(
        &model,
        &sop,
        all_inputs(&vocab, 4, 1000).expect("small"),
        |_| {},
    );
    assert!(report.mismatch_count > 0);
}
