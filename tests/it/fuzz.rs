//! Property tests: random bytes, random token soup and random well-formed
//! programs go through the parser, the evaluator and s-op evaluation; none
//! may panic, overflow the stack or run without bound (small limits make
//! every run end quickly).

use proptest::prelude::*;
use rasp::eval::run::eval_sop;
use rasp::eval::value::Value;
use rasp::eval::Limits;
use rasp::syntax::span::source;
use rasp::Interpreter;

const LIMITS: Limits = Limits {
    max_call_depth: 64,
    max_steps: 20_000,
    max_list_len: 10_000,
};

/// Runs a program and, if it binds s-ops, evaluates each on a few inputs.
/// Errors are fine; panics and leaks are not: the second run of the same
/// program (the first may fill caches that live on) must free every byte
/// it allocates on this thread.
fn exercise(text: &str) {
    run_once(text);
    let before = rasp::memory::held();
    run_once(text);
    let leaked = rasp::memory::held() - before;
    assert_eq!(leaked, 0, "{leaked} bytes not freed after {text:?}");
}

fn run_once(text: &str) {
    let Ok(mut interp) = Interpreter::with_limits(LIMITS) else {
        panic!("the interpreter must start");
    };
    let mut sops = Vec::new();
    let src = source("<fuzz>", text.to_string());
    let _ = interp.run(&src, None, &mut |event| sops.extend(event.into_sops()));
    for sop in sops.iter().rev().take(3) {
        for input in ["abca", "[3, 1, 2, 1]", "[0.5, -2, 7]", "[True, False]", "x"] {
            if let Ok(atoms) = Interpreter::parse_input(input) {
                if let Err(e) = eval_sop(sop, &atoms) {
                    // Rendering must not panic either.
                    let _ = rasp::diagnostics::render(&e, false);
                }
            }
        }
    }
}

/// Tokens of the language, for token soup (the REPL test adds its own words).
pub(crate) const TOKENS: &[&str] = &[
    "tokens",
    "tokens_int",
    "indices",
    "length",
    "select",
    "aggregate",
    "selector_width",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ":",
    "=",
    "==",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "not",
    "and",
    "or",
    "if",
    "else",
    "in",
    "for",
    "def",
    "return",
    "x",
    "y",
    "f",
    "0",
    "1",
    "2",
    "-1",
    "2.5",
    "\"a\"",
    "\"\"",
    "True",
    "False",
    "range",
    "zip",
    "len",
    "round",
    "indicator",
    "sort",
    "reverse",
    "histogram",
    "load",
    "draw",
];

/// Expressions built from the language's forms, s-op valued or atom valued.
fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("tokens".to_string()),
        Just("tokens_int".to_string()),
        Just("indices".to_string()),
        Just("length".to_string()),
        Just("x".to_string()),
        (-3i64..10).prop_map(|i| i.to_string()),
        Just("2.5".to_string()),
        Just("\"a\"".to_string()),
        Just("True".to_string()),
    ];
    leaf.prop_recursive(5, 40, 3, |inner| {
        let ops = prop::sample::select(vec![
            "+", "-", "*", "/", "%", "^", "==", "!=", "<", ">", "<=", ">=", "and", "or",
        ]);
        let cmp = prop::sample::select(vec!["==", "!=", "<", ">", "<=", ">="]);
        prop_oneof![
            (inner.clone(), ops, inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
            inner.clone().prop_map(|a| format!("(not {a})")),
            inner.clone().prop_map(|a| format!("(-{a})")),
            inner.clone().prop_map(|a| format!("round({a})")),
            inner.clone().prop_map(|a| format!("indicator({a})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, c, b)| format!("({a} if {c} else {b})")),
            (
                inner.clone(),
                inner.clone(),
                cmp.clone(),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(k, q, op, v, d)| format!(
                    "aggregate(select({k}, {q}, {op}), {v}, {d})"
                )),
            (inner.clone(), inner.clone(), cmp).prop_map(|(k, q, op)| format!(
                "selector_width(select({k}, {q}, {op}) or select(indices, 0, ==))"
            )),
            inner
                .clone()
                .prop_map(|a| format!("{a} in [1, \"a\", 2.5]")),
            inner.clone().prop_map(|a| format!("\"a\" in {a}")),
            inner.clone().prop_map(|a| format!("{a}[-1]")),
            inner
                .clone()
                .prop_map(|a| format!("{{1: 2, \"a\": 3}}[{a}]")),
            inner.prop_map(|a| format!("sort({a}, {a})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::proptest_cases(400), .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..40)) {
        exercise(&tokens.join(" "));
    }

    #[test]
    fn random_programs_never_panic(
        first in expr(),
        second in expr(),
        third in expr(),
    ) {
        exercise(&format!(
            "x = {first};\ndef f(y) {{ return y + {second}; }}\nz = f({third});\nw = {third};\n"
        ));
    }
}

#[test]
fn deep_data_and_long_chains_do_not_overflow_the_stack() {
    // A list nested 100,000 deep and a chain of 100,000 maps.
    exercise("l = [];\nfor i in range(100000) { l = [l]; }\nlen(l);\n");
    let mut interp = Interpreter::new().expect("starts");
    let src = source(
        "<chain>",
        "s = indices;\nfor i in range(100000) { s = s + 1; }\n".to_string(),
    );
    interp
        .run(&src, None, &mut |_| {})
        .expect("a long chain builds");
    let Some(Value::SOp(s)) = interp.get("s") else {
        panic!("s is an s-op");
    };
    let out = eval_sop(&s, &[rasp::eval::atom::Atom::Int(0)]).expect("the chain evaluates");
    assert_eq!(rasp::eval::print::sequence_text(&out), "[100000]");
}

/// How many generated programs were compiled and checked.
static VERIFIED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Compiles `y` of a generated program and checks it on every input of
/// length 1..=3 over `[0, 2]`; programs that fail to run or compile are
/// skipped.
fn compile_and_check(first: &str, second: &str) -> Result<(), String> {
    let text = format!("x = tokens_int;\nw = {first};\ny = {second};\n");
    let Ok(mut interp) = Interpreter::with_limits(LIMITS) else {
        return Err("the interpreter must start".into());
    };
    if interp
        .run(&source("<fuzz>", text.clone()), None, &mut |_| {})
        .is_err()
    {
        return Ok(());
    }
    let Some(Value::SOp(sop)) = interp.get("y") else {
        return Ok(());
    };
    let vocab = vec![
        rasp::eval::atom::Atom::Int(0),
        rasp::eval::atom::Atom::Int(2),
    ];
    let Ok(model) = rasp::compile::compile(&sop, "y", &text, &vocab, 3) else {
        return Ok(());
    };
    let Some(inputs) = rasp::compile::verify::all_inputs(&vocab, 3, 100) else {
        return Err("the input space is small".into());
    };
    let report = rasp::compile::verify::verify(&model, &sop, inputs, |_| {});
    if report.mismatch_count > 0 {
        return Err(format!("{text}\n{:?}", report.mismatches.first()));
    }
    VERIFIED.fetch_add(
        usize::from(report.matched > 0),
        std::sync::atomic::Ordering::Relaxed,
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::proptest_cases(200), .. ProptestConfig::default() })]

    /// Random programs that compile give models equal to the interpreter on
    /// every input of a small space.
    #[test]
    fn random_programs_compile_exactly(first in expr(), second in expr()) {
        prop_assert_eq!(compile_and_check(&first, &second), Ok(()));
    }
}

#[test]
fn generated_programs_reach_the_compiler() {
    // The property above must not be vacuous: on a fixed run, enough
    // generated programs compile and are checked.
    let before = VERIFIED.load(std::sync::atomic::Ordering::Relaxed);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (expr(), expr());
    for _ in 0..200 {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let (first, second) = proptest::strategy::ValueTree::current(&tree);
        assert_eq!(compile_and_check(&first, &second), Ok(()));
    }
    let checked = VERIFIED.load(std::sync::atomic::Ordering::Relaxed) - before;
    assert!(
        checked >= 20,
        "only {checked} generated programs reached the compiler"
    );
}
