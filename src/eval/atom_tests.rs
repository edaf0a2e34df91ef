//! Table-driven tests of atom semantics against what python3 prints, plus
//! property tests that no operator panics on any 64-bit ints or floats.

use proptest::prelude::*;

use super::*;
use crate::eval::pyfmt::{parse_float, parse_int, repr_str, round_float};

/// The expected results, written by `python3 scripts/atom_table.py`: lines of a
/// table name and tab-separated fields, after `#` comments that include the
/// line `# rows: binary 529, unary 55, ...`.
const TABLE: &str = include_str!("atom_table.tsv");

/// Each table with its fields per row and its fewest rows, so that a table
/// cut short (or a generator that lost operands) fails `table_is_complete`.
const TABLES: [(&str, usize, usize); 5] = [
    ("binary", 16, 529),
    ("unary", 9, 55),
    ("float", 3, 104),
    ("str", 2, 20),
    ("int_div", 3, 49),
];

/// The rows of one table of [`TABLE`], each its fields after the table name.
fn rows(table: &str) -> Vec<Vec<&'static str>> {
    let (_, width, _) = TABLES
        .iter()
        .find(|(name, _, _)| *name == table)
        .expect("a known table");
    TABLE
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split('\t').collect::<Vec<_>>())
        .filter(|fields| fields[0] == table)
        .map(|fields| {
            assert_eq!(
                fields.len(),
                width + 1,
                "a row of table {table} in atom_table.tsv has {} fields, not {}: {fields:?}",
                fields.len() - 1,
                width
            );
            fields[1..].to_vec()
        })
        .collect()
}

#[test]
fn table_is_complete() {
    let declared = TABLE
        .lines()
        .find_map(|line| line.strip_prefix("# rows: "))
        .expect("atom_table.tsv declares its row counts (`# rows: ...`)");
    let declared: Vec<(&str, usize)> = declared
        .split(", ")
        .map(|entry| {
            let (name, count) = entry.split_once(' ').expect("`name count`");
            (name, count.parse().expect("a row count"))
        })
        .collect();
    let names: Vec<&str> = TABLES.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(
        declared.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        names,
        "atom_table.tsv declares other tables than the tests read"
    );
    for line in TABLE.lines().filter(|line| !line.starts_with('#')) {
        let name = line.split('\t').next().unwrap_or_default();
        assert!(
            names.contains(&name),
            "a row of no known table in atom_table.tsv: {line:?}"
        );
    }
    for ((name, _, fewest), (_, count)) in TABLES.iter().zip(&declared) {
        let found = rows(name).len();
        assert_eq!(
            found, *count,
            "atom_table.tsv declares {count} {name} rows but holds {found}: cut short? \
             Regenerate it with `python3 scripts/atom_table.py`"
        );
        assert!(
            found >= *fewest,
            "atom_table.tsv has {found} {name} rows, fewer than the {fewest} the tests expect"
        );
    }
    assert!(
        TABLE.ends_with('\n'),
        "atom_table.tsv ends mid-line: cut short?"
    );
}

const BINARY_OPS: [BinaryOp; 14] = [
    BinaryOp::Pow,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Mod,
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Cmp(CmpOp::Eq),
    BinaryOp::Cmp(CmpOp::Ne),
    BinaryOp::Cmp(CmpOp::Lt),
    BinaryOp::Cmp(CmpOp::Gt),
    BinaryOp::Cmp(CmpOp::Le),
    BinaryOp::Cmp(CmpOp::Ge),
    BinaryOp::And,
    BinaryOp::Or,
];

/// An atom from the table's Python literal: `True`, `-7`, `2.5`, `inf`, `'ab'`.
fn atom(literal: &str) -> Atom {
    match literal {
        "True" => Atom::Bool(true),
        "False" => Atom::Bool(false),
        "inf" => Atom::Float(f64::INFINITY),
        "-inf" => Atom::Float(f64::NEG_INFINITY),
        "nan" => Atom::Float(f64::NAN),
        _ if literal.starts_with(['\'', '"']) => Atom::str(&py_str(literal)),
        _ => match literal.parse::<i64>() {
            Ok(i) => Atom::Int(i),
            Err(_) => Atom::Float(literal.parse().expect("a float literal in the table")),
        },
    }
}

/// The string a Python string literal (a repr or `ascii()`) stands for:
/// `'it\'s'`, `"it's"`, `'\xa0\u3000\U0001f600'`.
fn py_str(literal: &str) -> String {
    let body = &literal[1..literal.len() - 1];
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escape = chars.next().expect("an escape after a backslash");
        let width = match escape {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => {
                out.push(match escape {
                    't' => '\t',
                    'n' => '\n',
                    'r' => '\r',
                    '\\' | '\'' | '"' => escape,
                    _ => panic!("an escape Python's repr does not write: \\{escape}"),
                });
                continue;
            }
        };
        let hex: String = chars.by_ref().take(width).collect();
        let code = u32::from_str_radix(&hex, 16).expect("hex digits");
        out.push(char::from_u32(code).expect("a char"));
    }
    out
}

/// A result as the table writes it: the Python repr (which tells the types
/// apart: `1`, `1.0`, `True`, `'1'`), or `!` and the error kind.
fn outcome(result: Result<Atom, AtomError>) -> String {
    match result {
        Ok(atom) => atom.repr(),
        Err(AtomError::Unsupported { .. }) => "!Unsupported".to_string(),
        Err(AtomError::InvalidConversion { .. }) => "!Invalid".to_string(),
        Err(AtomError::DivisionByZero) => "!DivisionByZero".to_string(),
        Err(AtomError::Overflow) => "!Overflow".to_string(),
        Err(AtomError::StringTooLong) => "!StringTooLong".to_string(),
        Err(AtomError::ComplexResult) => "!Complex".to_string(),
        Err(AtomError::NotANumber) => "!NotANumber".to_string(),
    }
}

#[test]
fn binary_operators_match_python() {
    let mut failures = Vec::new();
    for row in rows("binary") {
        let (left, right, expected) = (row[0], row[1], &row[2..]);
        for (op, expected) in BINARY_OPS.iter().zip(expected) {
            let got = outcome(Atom::binary(*op, &atom(left), &atom(right)));
            // Python's OverflowError for a repeat count beyond an index is,
            // here, a string past the length limit.
            let got = got.replace("!StringTooLong", "!Overflow");
            if got != *expected {
                failures.push(format!(
                    "{left} {} {right}: got {got}, python {expected}",
                    op.symbol()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn unary_operators_and_conversions_match_python() {
    let mut failures = Vec::new();
    for row in rows("unary") {
        let (value, expected) = (row[0], &row[1..]);
        let a = atom(value);
        let got = [
            outcome(Atom::unary(UnaryOp::Neg, &a)),
            outcome(Atom::unary(UnaryOp::Pos, &a)),
            outcome(Atom::unary(UnaryOp::Not, &a)),
            outcome(a.round()),
            outcome(a.to_int()),
            outcome(a.to_float()),
            outcome(Ok(a.to_bool())),
            outcome(Ok(a.to_str())),
        ];
        let names = [
            "-x", "+x", "not x", "round(x)", "int(x)", "float(x)", "bool(x)", "str(x)",
        ];
        for ((name, got), expected) in names.iter().zip(got).zip(expected) {
            if got != *expected {
                failures.push(format!(
                    "{name} for x = {value}: got {got}, python {expected}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn float_repr_and_short_match_python() {
    for row in rows("float") {
        let (bits, repr, short) = (row[0], row[1], row[2]);
        let bits = bits.strip_prefix("0x").expect("bits in hex");
        let x = f64::from_bits(u64::from_str_radix(bits, 16).expect("64 bits in hex"));
        assert_eq!(format_float_repr(x), repr, "repr({x:e})");
        assert_eq!(Atom::Float(x).short(), short, "str(round({x:e}, 3))");
    }
}

#[test]
fn int_true_division_is_correctly_rounded() {
    for row in rows("int_div") {
        let i: i64 = row[0].parse().expect("an int");
        let j: i64 = row[1].parse().expect("an int");
        assert_eq!(
            outcome(Atom::binary(BinaryOp::Div, &Atom::Int(i), &Atom::Int(j))),
            row[2],
            "{i} / {j}"
        );
    }
}

#[test]
fn string_repr_matches_python() {
    for row in rows("str") {
        let s = py_str(row[0]);
        assert_eq!(repr_str(&s), row[1], "repr of {s:?}");
    }
}

#[test]
#[allow(
    clippy::excessive_precision,
    reason = "exact binary values of tie cases"
)]
fn short_forms() {
    assert_eq!(Atom::Bool(true).short(), "T");
    assert_eq!(Atom::Bool(false).short(), "F");
    assert_eq!(Atom::Int(-3).short(), "-3");
    assert_eq!(Atom::str("it's").short(), "it's");
    assert_eq!(Atom::Float(1.0 / 3.0).short(), "0.333");
    assert_eq!(Atom::Float(-0.0004).short(), "-0.0");
    assert_eq!(Atom::Float(1e20).short(), "1e+20");
    assert_eq!(round_float(0.0625, 3), 0.062);
    // A tie between two shortest reprs goes to the even digit, as in CPython.
    assert_eq!(format_float_repr(1200959900632132.25), "1200959900632132.2");
    assert_eq!(
        format_float_repr(-1200959900632132.75),
        "-1200959900632132.8"
    );
}

#[test]
fn string_repetition_is_capped() {
    let ab = Atom::str("ab");
    let repeat = |n: i64| outcome(Atom::binary(BinaryOp::Mul, &ab, &Atom::Int(n)));
    assert_eq!(repeat(3), "'ababab'");
    assert_eq!(repeat(-2), "''");
    assert_eq!(repeat(500_000), format!("'{}'", "ab".repeat(500_000)));
    assert_eq!(repeat(500_001), "!StringTooLong");
    assert_eq!(repeat(i64::MAX), "!StringTooLong");
    assert_eq!(
        outcome(Atom::binary(BinaryOp::Mul, &Atom::Bool(true), &ab)),
        "'ab'"
    );
    assert_eq!(
        outcome(Atom::binary(BinaryOp::Mul, &ab, &Atom::Float(2.0))),
        "!Unsupported"
    );
}

#[test]
fn errors_carry_operator_and_types() {
    let err = Atom::binary(BinaryOp::Sub, &Atom::str("a"), &Atom::Int(1)).map(|a| a.repr());
    assert_eq!(
        err,
        Err(AtomError::Unsupported {
            op: "-",
            left: "string",
            right: Some("int")
        })
    );
    let err = Atom::compare(CmpOp::Lt, &Atom::Bool(true), &Atom::str("a"));
    assert_eq!(
        err,
        Err(AtomError::Unsupported {
            op: "<",
            left: "bool",
            right: Some("string")
        })
    );
    let err = Atom::str("x").round().map(|a| a.repr());
    assert_eq!(
        err,
        Err(AtomError::Unsupported {
            op: "round",
            left: "string",
            right: None
        })
    );
    let message = AtomError::InvalidConversion {
        to: "int",
        value: "'1.5'".into(),
    };
    assert_eq!(message.to_string(), "cannot convert '1.5' to `int`");
}

#[test]
fn dict_keys_follow_python() {
    let key = |literal: &str| atom(literal).key();
    assert_eq!(key("1"), key("1.0"));
    assert_eq!(key("1"), key("True"));
    assert_eq!(key("0"), key("-0.0"));
    assert_eq!(key("0"), key("False"));
    assert_ne!(key("0.5"), key("1"));
    assert_ne!(key("'1'"), key("1"));
    assert_ne!(key("9007199254740993"), key("9007199254740992.0"));
    assert_eq!(key("nan"), key("nan"));
    assert_eq!(key("1e300"), key("1e300"));
    let mut keys: Vec<AtomKey> = ["'a'", "nan", "2", "1.5", "-inf", "inf", "-7", "''", "1e300"]
        .into_iter()
        .map(key)
        .collect();
    keys.sort();
    let expected: Vec<AtomKey> = ["-inf", "-7", "1.5", "2", "1e300", "inf", "nan", "''", "'a'"]
        .into_iter()
        .map(key)
        .collect();
    assert_eq!(keys, expected);
}

#[test]
fn py_eq_is_python_equality() {
    assert!(atom("1").py_eq(&atom("1.0")));
    assert!(atom("True").py_eq(&atom("1")));
    assert!(!atom("'1'").py_eq(&atom("1")));
    assert!(!atom("nan").py_eq(&atom("nan")));
    assert!(!atom("9007199254740993").py_eq(&atom("9007199254740992.0")));
}

#[test]
fn string_parsing_matches_python() {
    assert_eq!(parse_int(" 12 "), Ok(12));
    assert_eq!(parse_int("-0"), Ok(0));
    assert_eq!(parse_int("1\u{663}"), Ok(13));
    assert_eq!(parse_int("\u{85}2"), Ok(2));
    assert_eq!(parse_int("0_1"), Ok(1));
    assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
    for invalid in [
        "",
        " ",
        "1__0",
        "_1",
        "1_",
        "1.5",
        "\u{1c}2",
        "\u{200b}1",
        "+-1",
        "0x10",
    ] {
        assert_eq!(
            parse_int(invalid),
            Err(pyfmt::ParseIntError::Invalid),
            "{invalid:?}"
        );
    }
    assert_eq!(parse_float("1."), Some(1.0));
    assert_eq!(parse_float(".5"), Some(0.5));
    assert_eq!(parse_float("1.e5"), Some(1e5));
    assert_eq!(parse_float("+.5e-3"), Some(0.0005));
    assert_eq!(parse_float("1e1_0"), Some(1e10));
    assert_eq!(parse_float("1_0.5"), Some(10.5));
    assert_eq!(parse_float("\u{663}.5"), Some(3.5));
    assert_eq!(parse_float("inFinity"), Some(f64::INFINITY));
    assert!(parse_float("-nan").is_some_and(f64::is_nan));
    for invalid in [
        ".", "e5", "1_e5", "1e", "0x10", "1,5", "infinit", "in f", "", "--1", "1e+-5",
    ] {
        assert_eq!(parse_float(invalid), None, "{invalid:?}");
    }
}

/// Python's floored `%` in wide arithmetic.
fn python_mod(x: i128, y: i128) -> i128 {
    let r = x.rem_euclid(y);
    if r != 0 && y < 0 {
        r + y
    } else {
        r
    }
}

fn any_atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        any::<bool>().prop_map(Atom::Bool),
        any::<i64>().prop_map(Atom::Int),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(i64::MIN),
            Just(i64::MAX),
            -70i64..70
        ]
        .prop_map(Atom::Int),
        any::<f64>().prop_map(Atom::Float),
        "[a-c']{0,3}".prop_map(|s| Atom::str(&s)),
    ]
}

proptest! {
    #[test]
    fn float_repr_round_trips(x in any::<f64>()) {
        let repr = format_float_repr(x);
        let back: f64 = repr.parse().expect("repr parses as a float");
        prop_assert!(back.to_bits() == x.to_bits() || (x.is_nan() && back.is_nan()), "{repr}");
        // Rust's `{:?}` switches to exponents at the same points as Python.
        let debug = format!("{x:?}");
        prop_assert_eq!(repr.contains('e'), debug.contains('e'));
        if x.is_finite() && !debug.contains('e') && repr != debug {
            // Python and Rust differ only when two equally short digit
            // strings are equally close (Python takes the even digit).
            prop_assert_eq!(repr.len(), debug.len(), "{} vs {}", repr, debug);
            let last = repr.chars().last().and_then(|c| c.to_digit(10)).unwrap_or(1);
            prop_assert!(last % 2 == 0, "{} should end in an even digit", repr);
        }
        let short = Atom::Float(x).short();
        prop_assert!(short.parse::<f64>().is_ok(), "{}", short);
    }

    #[test]
    fn no_operator_panics(a in any_atom(), b in any_atom()) {
        for op in BINARY_OPS {
            let _ = Atom::binary(op, &a, &b);
        }
        for op in [UnaryOp::Not, UnaryOp::Neg, UnaryOp::Pos] {
            let _ = Atom::unary(op, &a);
        }
        let _ = (a.round(), a.to_int(), a.to_float(), a.to_str(), a.short(), a.repr(), a.key().cmp(&b.key()));
    }

    #[test]
    fn int_arithmetic_is_exact_or_overflows(i in any::<i64>(), j in any::<i64>()) {
        let wide = |v: i128| i64::try_from(v).map(|v| Atom::Int(v).repr()).unwrap_or("!Overflow".into());
        let (a, b) = (Atom::Int(i), Atom::Int(j));
        let (x, y) = (i128::from(i), i128::from(j));
        prop_assert_eq!(outcome(Atom::binary(BinaryOp::Add, &a, &b)), wide(x + y));
        prop_assert_eq!(outcome(Atom::binary(BinaryOp::Sub, &a, &b)), wide(x - y));
        prop_assert_eq!(outcome(Atom::binary(BinaryOp::Mul, &a, &b)), wide(x * y));
        if j != 0 {
            prop_assert_eq!(outcome(Atom::binary(BinaryOp::Mod, &a, &b)), wide(python_mod(x, y)));
        }
        let ordering = Atom::compare(CmpOp::Lt, &a, &Atom::Float(j as f64));
        prop_assert_eq!(ordering, Ok(x < j as f64 as i128));
    }
}
