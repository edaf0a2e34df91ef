//! How values print, following the reference interpreter.
//!
//! - A sequence's elements print short: strings bare, bools `T`/`F`, floats
//!   rounded to 3 decimals (`[o, l, l, e, h]`, `[0.333, 2.0]`).
//! - Atoms, lists and dicts print as Python prints them (`3.5`,
//!   `[1, 'a']`, `{'a': 1}`); a string on its own prints in double quotes.

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
    // Lists may nest as deep as a loop makes them: grow the stack on demand.
    stacker::maybe_grow(super::interp::RED_ZONE, super::interp::STACK_GROWTH, || {
        value_repr_inner(value)
    })
}

fn value_repr_inner(value: &Value) -> String {
    match value {
        Value::Atom(a) => a.repr(),
        Value::List(items) => {
            let parts: Vec<String> = items.iter().map(value_repr).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Dict(dict) => {
            let parts: Vec<String> = dict
                .iter()
                .map(|(k, v)| format!("{}: {}", k.repr(), value_repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Func(f) => {
            let params: Vec<&str> = f.def.params.iter().map(|p| &*p.name).collect();
            format!("function {}({})", f.def.name.name, params.join(", "))
        }
        Value::Builtin(b) => format!("builtin function {}(selector)", b.name()),
        Value::SOp(s) => format!("s-op {}", s.label()),
        Value::Selector(s) => format!("selector {}", s.label()),
        Value::Sequence(seq) => sequence_typed(seq),
        Value::Matrix(m) => matrix_text(m, None),
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
