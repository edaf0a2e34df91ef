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

/// A map's column against what its operator gives atom by atom: the same
/// atoms (and the column's type), or an error on both sides.
fn same_values<E: std::fmt::Debug>(
    program: &str,
    expected: Result<Vec<Atom>, E>,
    got: rasp::eval::error::EvalResult<rasp::eval::value::Sequence>,
) -> Result<(), TestCaseError> {
    match (expected, got) {
        (Ok(want), Ok(got)) => {
            let want_repr: Vec<String> = want.iter().map(Atom::repr).collect();
            let got_repr: Vec<String> = got.values.iter().map(Atom::repr).collect();
            prop_assert_eq!(&got_repr, &want_repr, "{}", program);
            prop_assert_eq!(
                Some(got.ty),
                rasp::eval::value::SeqType::of(&got.values),
                "{}",
                program
            );
        }
        (Err(_), Err(_)) => {}
        (want, got) => prop_assert!(false, "{program}: {want:?} vs {got:?}"),
    }
    Ok(())
}

/// An operand of a binary map and its value at position `i` of `tokens`
/// (ints): a column of ints, one of ints and bools mixed, or a constant.
const OPERANDS: [&str; 7] = [
    "tokens_int",
    "indices",
    "mixed",
    "3",
    "9223372036854775807",
    "True",
    "2.5",
];

fn operand_at(name: &str, tokens: &[i64], i: usize) -> Atom {
    match name {
        "tokens_int" => Atom::Int(tokens[i]),
        "indices" => Atom::Int(i as i64),
        "mixed" if i % 2 == 0 => Atom::Int(tokens[i]),
        "mixed" => Atom::Bool(tokens[i] > 0),
        "True" => Atom::Bool(true),
        "2.5" => Atom::Float(2.5),
        int => Atom::Int(int.parse().expect("an int constant")),
    }
}

fn int_token() -> impl Strategy<Value = i64> {
    prop_oneof![
        -5i64..6,
        Just(i64::MAX),
        Just(i64::MIN),
        Just(i64::MAX / 2 + 1),
        any::<i64>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::proptest_cases(300), .. ProptestConfig::default() })]

    /// Binary maps on ints take a loop of machine arithmetic: it gives
    /// what the operator gives atom by atom (overflow an error), with bools
    /// among the ints, constants on either side, and the sequence's type.
    #[test]
    fn binary_maps_on_ints_equal_the_operator_atom_by_atom(
        tokens in prop::collection::vec(int_token(), 1..12),
        column in prop::sample::select(OPERANDS[..3].to_vec()),
        other in prop::sample::select(OPERANDS.to_vec()),
        swap in any::<bool>(),
        op in prop::sample::select(vec!["+", "-", "*", "==", "!=", "<", ">", "<=", ">=", "%"]),
    ) {
        // At least one side is a column (two constants make a constant).
        let (left, right) = if swap { (other, column) } else { (column, other) };
        let program = format!(
            "mixed = tokens_int if indices % 2 == 0 else (tokens_int > 0);\ny = {left} {op} {right};"
        );
        let mut interp = Interpreter::new().expect("starts");
        interp.run(&source("<maps>", program.clone()), None, &mut |_| {}).expect("runs");
        let Some(Value::SOp(y)) = interp.get("y") else {
            panic!("{program}: y is an s-op");
        };
        let input: Vec<Atom> = tokens.iter().map(|&t| Atom::Int(t)).collect();
        use rasp::syntax::ast::{BinaryOp, CmpOp};
        let binary = match op {
            "+" => BinaryOp::Add,
            "-" => BinaryOp::Sub,
            "*" => BinaryOp::Mul,
            "%" => BinaryOp::Mod,
            "==" => BinaryOp::Cmp(CmpOp::Eq),
            "!=" => BinaryOp::Cmp(CmpOp::Ne),
            "<" => BinaryOp::Cmp(CmpOp::Lt),
            ">" => BinaryOp::Cmp(CmpOp::Gt),
            "<=" => BinaryOp::Cmp(CmpOp::Le),
            _ => BinaryOp::Cmp(CmpOp::Ge),
        };
        let expected: Result<Vec<Atom>, _> = (0..tokens.len())
            .map(|i| Atom::binary(binary, &operand_at(left, &tokens, i), &operand_at(right, &tokens, i)))
            .collect();
        same_values(&program, expected, eval_sop_with(&y, &input, Kernels::Fast))?;
    }
}

/// One step of an affine chain: a template (`{x}` its input, `{c}` the
/// constant) and the constant.
fn chain_step() -> impl Strategy<Value = (&'static str, Option<i64>)> {
    let constant = prop_oneof![
        -3i64..4,
        Just(i64::MAX),
        Just(i64::MIN),
        Just(1i64 << 40),
        any::<i64>(),
    ];
    let affine = (
        prop::sample::select(vec![
            "{x} + {c}",
            "{c} + {x}",
            "{x} - {c}",
            "{c} - {x}",
            "{x} * {c}",
            "{c} * {x}",
        ]),
        constant,
    )
        .prop_map(|(t, c)| (t, Some(c)));
    prop_oneof![
        6 => affine,
        1 => Just(("-{x}", None)),
        // Not affine on ints: ends one chain, starts the next.
        1 => Just(("{x} % 7", None)),
        1 => Just(("{x} + 0.5", None)),
    ]
}

/// An int constant as a program writes it (an atom expression).
fn int_literal(c: i64) -> String {
    match c {
        i64::MIN => "(-9223372036854775807 - 1)".into(),
        c if c < 0 => format!("(-{})", c.unsigned_abs()),
        c => c.to_string(),
    }
}

/// What one step does to one atom.
fn chain_step_atom(template: &str, c: Option<i64>, x: &Atom) -> Result<Atom, String> {
    use rasp::syntax::ast::{BinaryOp, UnaryOp};
    let c = Atom::Int(c.unwrap_or(0));
    match template {
        "{x} + {c}" => Atom::binary(BinaryOp::Add, x, &c),
        "{c} + {x}" => Atom::binary(BinaryOp::Add, &c, x),
        "{x} - {c}" => Atom::binary(BinaryOp::Sub, x, &c),
        "{c} - {x}" => Atom::binary(BinaryOp::Sub, &c, x),
        "{x} * {c}" => Atom::binary(BinaryOp::Mul, x, &c),
        "{c} * {x}" => Atom::binary(BinaryOp::Mul, &c, x),
        "-{x}" => Atom::unary(UnaryOp::Neg, x),
        "{x} % 7" => Atom::binary(BinaryOp::Mod, x, &Atom::Int(7)),
        _ => Atom::binary(BinaryOp::Add, x, &Atom::Float(0.5)),
    }
    .map_err(|e| format!("{e:?}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::proptest_cases(300), .. ProptestConfig::default() })]

    /// A chain of affine int maps (`s = s + 1` in a loop) runs fused, as
    /// one function of its input: it gives what the steps give one after
    /// the other, position by position, with the same errors (an overflow
    /// at any step), and runs step by step where a bool or a float is among
    /// the values or a middle step has a second reader.
    #[test]
    fn fused_chains_of_affine_maps_equal_their_steps(
        tokens in prop::collection::vec(prop_oneof![-5i64..6, Just(i64::MAX), Just(i64::MIN), any::<i64>()], 1..10),
        start in prop::sample::select(vec!["tokens_int", "indices", "mixed"]),
        chain in prop::collection::vec(chain_step(), 1..8),
        read_twice in any::<bool>(),
    ) {
        let mut program = String::from(
            "mixed = tokens_int if indices % 2 == 0 else (tokens_int > 0);\n",
        );
        program.push_str(&format!("s0 = {start};\n"));
        for (k, (template, c)) in chain.iter().enumerate() {
            let c = c.map(int_literal).unwrap_or_default();
            let step = template.replace("{x}", &format!("s{k}")).replace("{c}", &c);
            program.push_str(&format!("s{} = {step};\n", k + 1));
        }
        let last = chain.len();
        let twice = read_twice && last >= 2;
        if twice {
            program.push_str(&format!("y = s{last} + s{};\n", last / 2));
        } else {
            program.push_str(&format!("y = s{last};\n"));
        }
        let mut interp = Interpreter::new().expect("starts");
        interp.run(&source("<chain>", program.clone()), None, &mut |_| {}).expect("runs");
        let Some(Value::SOp(y)) = interp.get("y") else {
            panic!("{program}: y is an s-op");
        };
        let input: Vec<Atom> = tokens.iter().map(|&t| Atom::Int(t)).collect();
        let expected: Result<Vec<Atom>, String> = (0..tokens.len())
            .map(|i| {
                let mut values = vec![match start {
                    "tokens_int" => Atom::Int(tokens[i]),
                    "indices" => Atom::Int(i as i64),
                    _ if i % 2 == 0 => Atom::Int(tokens[i]),
                    _ => Atom::Bool(tokens[i] > 0),
                }];
                for &(template, c) in &chain {
                    let next = chain_step_atom(template, c, &values[values.len() - 1])?;
                    values.push(next);
                }
                if twice {
                    Atom::binary(rasp::syntax::ast::BinaryOp::Add, &values[last], &values[last / 2])
                        .map_err(|e| format!("{e:?}"))
                } else {
                    Ok(values[last].clone())
                }
            })
            .collect();
        same_values(&program, expected, eval_sop_with(&y, &input, Kernels::Fast))?;
    }
}
