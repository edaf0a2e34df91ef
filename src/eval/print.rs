//! How values print, following the reference interpreter.
//!
//! - A sequence's elements print short: strings bare, bools `T`/`F`, floats
//!   rounded to 3 decimals (`[o, l, l, e, h]`, `[0.333, 2.0]`).
//! - Atoms, lists and dicts print as Python prints them (`3.5`,
//!   `[1, 'a']`, `{'a': 1}`); a string on its own prints in double quotes.
//! - In JSON ([`atom_json`]) an atom is a value of its own type; a float
//!   that JSON cannot hold is `{"float": "inf"}`, `{"float": "-inf"}` or
//!   `{"float": "nan"}`, never a string that a string token could equal.

use super::atom::Atom;
use super::matrix::Selection;
use super::value::{Sequence, Value};

/// `[o, l, l, e, h]`: a sequence as `rasp run` prints it.
pub fn sequence_text(seq: &Sequence) -> String {
    let items: Vec<String> = seq.values.iter().map(|a| a.short()).collect();
    format!("[{}]", items.join(", "))
}

/// `[o, l, l, e, h] (strings)`: a sequence with its type.
pub fn sequence_typed(seq: &Sequence) -> String {
    format!("{} ({})", sequence_text(seq), seq.ty.plural())
}

/// A value as the REPL shows it after `=`.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Atom(super::atom::Atom::Str(s)) => format!("\"{s}\""),
        Value::Atom(a) => a.to_py_str(),
        Value::Sequence(seq) => sequence_typed(seq),
        Value::Matrix(m) => matrix_text(m, None),
        other => value_repr(other),
    }
}

/// A value as Python's `repr` would show it inside a list.
pub fn value_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(value, &mut out);
    out
}

/// Appends [`value_repr`] of `value` to `out`: one buffer for the whole
/// value, so that printing takes time linear in its size however deep it
/// nests.
fn write_repr(value: &Value, out: &mut String) {
    // Lists may nest as deep as a loop makes them: grow the stack on demand.
    stacker::maybe_grow(super::interp::RED_ZONE, super::interp::STACK_GROWTH, || {
        write_repr_inner(value, out)
    })
}

fn write_repr_inner(value: &Value, out: &mut String) {
    match value {
        Value::Atom(a) => out.push_str(&a.repr()),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(item, out);
            }
            out.push(']');
        }
        Value::Dict(dict) => {
            out.push('{');
            for (i, (k, v)) in dict.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&k.repr());
                out.push_str(": ");
                write_repr(v, out);
            }
            out.push('}');
        }
        Value::Func(f) => {
            let params: Vec<&str> = f.def.params.iter().map(|p| &*p.name).collect();
            out.push_str(&format!(
                "function {}({})",
                f.def.name.name,
                params.join(", ")
            ));
        }
        Value::Builtin(b) => out.push_str(&format!("builtin function {}(selector)", b.name())),
        Value::SOp(s) => out.push_str(&format!("s-op {}", s.label())),
        Value::Selector(s) => out.push_str(&format!("selector {}", s.label())),
        Value::Sequence(seq) => out.push_str(&sequence_typed(seq)),
        Value::Matrix(m) => out.push_str(&matrix_text(m, None)),
    }
}

/// A selection as a grid: one row per query, `1` where a key is selected.
/// With `labels` (the input's elements), rows and columns are headed by them.
pub fn matrix_text(m: &Selection, labels: Option<&[String]>) -> String {
    let n = m.len();
    let owned: Vec<String>;
    let labels = match labels {
        Some(l) if l.len() == n => l,
        _ => {
            owned = (0..n).map(|i| i.to_string()).collect();
            &owned
        }
    };
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
    let mut out = String::new();
    out.push_str(&" ".repeat(width + 3));
    let header: Vec<String> = labels.iter().map(|l| format!("{l:>width$}")).collect();
    out.push_str(&header.join(" "));
    for (q, label) in labels.iter().enumerate() {
        out.push('\n');
        out.push_str(&format!("{label:>width$} | "));
        let cells: Vec<String> = (0..n)
            .map(|k| {
                let c = if m.get(q, k) { "1" } else { " " };
                format!("{c:>width$}")
            })
            .collect();
        out.push_str(cells.join(" ").trim_end());
    }
    out
}

/// An atom as a JSON value of its own type (every float exactly, as
/// `serde_json` writes the shortest text that reads back to it); a
/// non-finite float is `{"float": "inf" | "-inf" | "nan"}`, the one
/// convention of `--json` output and weight files.
pub fn atom_json(atom: &Atom) -> serde_json::Value {
    match atom {
        Atom::Bool(b) => serde_json::Value::Bool(*b),
        Atom::Int(i) => serde_json::Value::from(*i),
        Atom::Float(x) if x.is_finite() => serde_json::Value::from(*x),
        Atom::Float(x) => {
            let text = if x.is_nan() {
                "nan"
            } else if *x > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            serde_json::json!({ "float": text })
        }
        Atom::Str(s) => serde_json::Value::String(s.to_string()),
    }
}

/// Atoms as a JSON array of values of their real types ([`atom_json`]).
pub fn atoms_json(atoms: &[Atom]) -> serde_json::Value {
    serde_json::Value::Array(atoms.iter().map(atom_json).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::atom::Atom;

    #[test]
    fn nested_lists_and_dicts_print_as_python_does_at_any_depth() {
        let flat = Value::list(vec![
            Value::Atom(Atom::Int(1)),
            Value::Atom(Atom::Str("a".into())),
            Value::list(vec![]),
        ]);
        assert_eq!(value_repr(&flat), "[1, 'a', []]");
        // A list nested 200,000 deep: one buffer, no stack overflow.
        let depth = 200_000;
        let mut deep = Value::list(vec![]);
        for _ in 0..depth {
            deep = Value::list(vec![deep]);
        }
        let text = value_repr(&deep);
        assert_eq!(text.len(), 2 * (depth + 1));
        assert!(text.starts_with("[[[[") && text.ends_with("]]]]"));
        assert_eq!(text.matches('[').count(), depth + 1);
    }
}
