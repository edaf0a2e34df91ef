//! The interpreter's selector kernels against the straightforward
//! evaluation: random selectors (comparisons combined with `and`, `or`,
//! `not`), read by `selector_width` and `aggregate`, on random inputs, give
//! the same values and the same errors with [`Kernels::Fast`] as with every
//! selector materialised ([`Kernels::Bitset`]).

use proptest::prelude::*;
use rasp::eval::atom::Atom;
use rasp::eval::run::{eval_sop_with, Kernels};
use rasp::eval::value::Value;
use rasp::syntax::span::source;
use rasp::Interpreter;

/// S-ops to compare: strings, ints, floats, bools and constants.
fn sop() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "tokens",
        "indices",
        "length - indices",
        "indices % 3",
        "indices / 4",
        "-indices",
        "round(indices / 5)",
        "tokens == \"a\"",
        "histogram(tokens)",
        "0",
        "2",
        "1.5",
        "\"b\"",
        "True",
    ])
}

fn op() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["==", "!=", "<", ">", "<=", ">="])
}

/// A selector: a comparison, or `and`/`or`/`not` of smaller ones.
fn selector() -> impl Strategy<Value = String> {
    let leaf = (sop(), sop(), op()).prop_map(|(k, q, o)| format!("select({k}, {q}, {o})"));
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("(not {a})")),
        ]
    })
}

/// A reader of the selector.
fn program() -> impl Strategy<Value = String> {
    let values = prop::sample::select(vec![
        "indices",
        "tokens",
        "indices / 4",
        "indices > 2",
        "indices * 1000000007",
        "2.5",
        "\"x\"",
        "length",
        "tokens == \"a\"",
    ]);
    let default = prop::sample::select(vec!["0", "\"z\"", "1.5", "False"]);
    (selector(), values, default, any::<bool>()).prop_map(|(sel, v, d, width)| {
        if width {
            format!("y = selector_width({sel});")
        } else {
            format!("y = aggregate({sel}, {v}, {d});")
        }
    })
}

/// Inputs of lengths around the 64-bit word size, with repeated values.
fn input() -> impl Strategy<Value = Vec<Atom>> {
    let strings = prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 1..80)
        .prop_map(|v| v.into_iter().map(|s| Atom::Str(s.into())).collect());
    let ints =
        prop::collection::vec(-3i64..4, 1..80).prop_map(|v| v.into_iter().map(Atom::Int).collect());
    let floats =
        prop::collection::vec(prop::sample::select(vec![-1.0, 0.5, 0.0, 2.0, 0.25]), 1..80)
            .prop_map(|v| v.into_iter().map(Atom::Float).collect());
    prop_oneof![strings, ints, floats]
}

/// The output of `y`, or the rendered error, under `kernels`.
fn outcome(text: &str, input: &[Atom], kernels: Kernels) -> Option<String> {
    let mut interp = Interpreter::new().ok()?;
    interp
        .run(&source("<kernels>", text.to_string()), None, &mut |_| {})
        .ok()?;
    let Some(Value::SOp(y)) = interp.get("y") else {
        return None;
    };
    Some(match eval_sop_with(&y, input, kernels) {
        Ok(seq) => seq
            .values
            .iter()
            .map(|a| format!("{}:{}", a.type_name(), a.repr()))
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => format!("error: {}", rasp::diagnostics::render(&e, false)),
    })
}

/// The outcome with the fast kernels, and with every selector materialised.
fn fast_and_bits(text: &str, input: &[Atom]) -> (Option<String>, Option<String>) {
    (
        outcome(text, input, Kernels::Fast),
        outcome(text, input, Kernels::Bitset),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::proptest_cases(400), .. ProptestConfig::default() })]

    #[test]
    fn fast_kernels_equal_bit_matrices(text in program(), input in input()) {
        let (fast, bits) = fast_and_bits(&text, &input);
        prop_assert_eq!(fast, bits, "{}", text);
    }
}

/// Selectors as people write them: few columns, so comparisons share key
/// columns (a stable sort's tie-break, two orders at once, `!=` inside a
/// conjunction, `not` of a disjunction).
fn shaped_selector() -> impl Strategy<Value = String> {
    let col = prop::sample::select(vec!["tokens", "indices", "indices % 3", "length - indices"]);
    (col.clone(), col.clone(), col, op(), op(), op(), 0..5usize).prop_map(
        |(a, b, c, o1, o2, o3, shape)| match shape {
            0 => format!(
                "select({a}, {a}, {o1}) or (select({a}, {a}, ==) and select({b}, {b}, {o2}))"
            ),
            1 => format!("select({a}, {a}, {o1}) and select({b}, {b}, {o2})"),
            2 => format!(
                "(select({a}, {b}, {o1}) and select({b}, {a}, {o2})) or select({c}, {c}, {o3})"
            ),
            3 => format!("not (select({a}, {a}, {o1}) or select({b}, {c}, {o2}))"),
            _ => format!(
                "select({a}, {a}, {o1}) and (select({b}, {b}, {o2}) or not select({c}, {a}, {o3}))"
            ),
        },
    )
}

/// A reader of a shaped selector.
fn shaped_program() -> impl Strategy<Value = String> {
    let values = prop::sample::select(vec![
        "indices",
        "tokens",
        "indices / 4",
        "indices > 2",
        "2.5",
        "length",
    ]);
    (shaped_selector(), values, any::<bool>()).prop_map(|(sel, v, width)| {
        if width {
            format!("y = selector_width({sel});")
        } else {
            format!("y = aggregate({sel}, {v}, 0);")
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::proptest_cases(400), .. ProptestConfig::default() })]

    #[test]
    fn shaped_selectors_equal_bit_matrices(text in shaped_program(), input in input()) {
        let (fast, bits) = fast_and_bits(&text, &input);
        prop_assert_eq!(fast, bits, "{}", text);
    }
}

/// The library's tasks on fixed inputs, longer than one word of bits.
#[test]
fn library_tasks_agree_on_long_inputs() {
    let mut state = 7u64;
    let mut letters = |alphabet: &[u8], n: usize| -> Vec<Atom> {
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let c = alphabet[(state >> 33) as usize % alphabet.len()] as char;
                Atom::Str(c.to_string().into())
            })
            .collect()
    };
    let cases = [
        ("y = sort(tokens, tokens);", letters(b"abcdefghij", 300)),
        ("y = histogram(tokens);", letters(b"abcdefghij", 300)),
        ("y = double_histogram(tokens);", letters(b"abcde", 200)),
        ("y = most_frequent(tokens, \"_\");", letters(b"abcde", 150)),
        ("y = dyck1(tokens);", letters(b"()", 300)),
        ("y = dyck2(tokens);", letters(b"(){}", 300)),
        ("y = reverse(tokens);", letters(b"abc", 130)),
        (
            "y = mark_first_instance(tokens, \"a\");",
            letters(b"ab", 130),
        ),
    ];
    for (text, input) in cases {
        let fast = outcome(text, &input, Kernels::Fast);
        assert!(
            fast.as_deref().is_some_and(|o| !o.starts_with("error")),
            "{text}: {fast:?}"
        );
        assert_eq!(fast, outcome(text, &input, Kernels::Bitset), "{text}");
    }
}
