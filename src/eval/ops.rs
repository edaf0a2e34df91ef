//! Operators on values: how `+`, `not`, `in`, indexing, `round` and the
//! ternary act on atoms, lists, s-ops and selectors.
//!
//! On atoms they compute (Python's semantics, see `atom.rs`); as soon as an
//! s-op is involved they build a node of the DAG instead (an element-wise
//! [`MapFn`], or for `atom in s` and `s[i]` a small attention pattern).

use std::rc::Rc;
use std::sync::Arc;

use super::atom::Atom;
use super::error::{ErrorKind, EvalError, EvalResult};
use super::map::{resolve_index, MapFn, Table};
use super::sop::{Origin, SOp, SOpKind, Selector, SelectorKind};
use super::value::Value;
use crate::syntax::ast::{BinaryOp, CmpOp, UnaryOp};

/// A type error at `at`.
pub fn type_error(message: String, at: impl std::borrow::Borrow<Origin>) -> EvalError {
    let at: &Origin = at.borrow();
    EvalError::new(ErrorKind::Type(message), Some(at.clone()))
}

/// A constant s-op holding `atom` at every position.
pub fn constant(atom: Atom, at: &Origin) -> SOp {
    SOp::new(SOpKind::Const(atom), Some(at.clone()))
}

/// An element-wise map node.
pub fn map(func: MapFn, args: Vec<SOp>, at: &Origin) -> SOp {
    SOp::new(SOpKind::Map { func, args }, Some(at.clone()))
}

/// Turns an operand of an element-wise operation into an s-op: s-ops as they
/// are, atoms broadcast; anything else is an error naming `what`.
pub fn lift(value: &Value, what: &str, at: &Origin) -> EvalResult<SOp> {
    match value {
        Value::SOp(s) => Ok(s.clone()),
        Value::Atom(a) => Ok(constant(a.clone(), at)),
        other => Err(type_error(
            format!("{what} needs an s-op or an atom, not {}", other.describe()),
            at,
        )),
    }
}

/// `op x`.
pub fn unary(op: UnaryOp, x: Value, at: &Origin) -> EvalResult<Value> {
    match x {
        Value::Atom(a) => Atom::unary(op, &a)
            .map(Value::Atom)
            .map_err(|e| EvalError::new(e, Some(at.clone()))),
        Value::SOp(s) => Ok(Value::SOp(map(MapFn::Unary(op), vec![s], at))),
        Value::Selector(s) if op == UnaryOp::Not => Ok(Value::Selector(Selector::new(
            SelectorKind::Not(s),
            Some(at.clone()),
        ))),
        other if op == UnaryOp::Not => Ok(Value::Atom(Atom::Bool(!other.truthy()))),
        other => Err(type_error(
            format!("cannot apply `{}` to {}", op.symbol(), other.describe()),
            at,
        )),
    }
}

/// `x op y`, both sides already evaluated.
pub fn binary(op: BinaryOp, x: Value, y: Value, at: &Origin) -> EvalResult<Value> {
    let sop_side = matches!(x, Value::SOp(_)) || matches!(y, Value::SOp(_));
    let sel_side = matches!(x, Value::Selector(_)) || matches!(y, Value::Selector(_));
    if matches!(op, BinaryOp::And | BinaryOp::Or) {
        if sop_side && sel_side {
            return Err(type_error(
                format!(
                    "cannot combine a selector and an s-op with `{}`",
                    op.symbol()
                ),
                at,
            ));
        }
        if sop_side {
            let func = if op == BinaryOp::And {
                MapFn::Both
            } else {
                MapFn::Either
            };
            let args = vec![lift(&x, "`and`/`or`", at)?, lift(&y, "`and`/`or`", at)?];
            return Ok(Value::SOp(map(func, args, at)));
        }
        if sel_side {
            return match (x, y) {
                (Value::Selector(a), Value::Selector(b)) => {
                    let kind = if op == BinaryOp::And {
                        SelectorKind::And(a, b)
                    } else {
                        SelectorKind::Or(a, b)
                    };
                    Ok(Value::Selector(Selector::new(kind, Some(at.clone()))))
                }
                (a, b) => Err(type_error(
                    format!(
                        "`{}` combines two selectors, not {} and {}",
                        op.symbol(),
                        a.describe(),
                        b.describe()
                    ),
                    at,
                )),
            };
        }
        // Python's `and`/`or`: one of the operands, by truthiness (both
        // sides are evaluated, as in the reference).
        let x_true = x.truthy();
        return Ok(match (op, x_true) {
            (BinaryOp::And, true) | (BinaryOp::Or, false) => y,
            _ => x,
        });
    }
    if sel_side {
        return Err(type_error(
            format!("cannot apply `{}` to a selector", op.symbol()),
            at,
        ));
    }
    if sop_side {
        let args = vec![
            lift(&x, &format!("`{}`", op.symbol()), at)?,
            lift(&y, &format!("`{}`", op.symbol()), at)?,
        ];
        return Ok(Value::SOp(map(MapFn::Binary(op), args, at)));
    }
    if let (
        BinaryOp::Cmp(cmp @ (CmpOp::Lt | CmpOp::Gt | CmpOp::Le | CmpOp::Ge)),
        Value::List(a),
        Value::List(b),
    ) = (op, &x, &y)
    {
        return order_lists(cmp, a, b, at).map(|b| Value::Atom(Atom::Bool(b)));
    }
    match (&x, &y) {
        (Value::Atom(a), Value::Atom(b)) => Atom::binary(op, a, b)
            .map(Value::Atom)
            .map_err(|e| EvalError::new(e, Some(at.clone()))),
        (Value::List(a), Value::List(b)) if op == BinaryOp::Add => {
            let mut out = Vec::with_capacity(a.len() + b.len());
            out.extend(a.iter().cloned());
            out.extend(b.iter().cloned());
            Ok(Value::list(out))
        }
        // Python's repetition: `[1, 2] * 2`, `2 * [1]`; a count of 0 or
        // less gives `[]`, a bool counts as 0 or 1.
        (Value::List(list), Value::Atom(n)) | (Value::Atom(n), Value::List(list))
            if op == BinaryOp::Mul && repeat_count(n).is_some() =>
        {
            let times = repeat_count(n).unwrap_or(0);
            let mut out = Vec::with_capacity(list.len().saturating_mul(times));
            for _ in 0..times {
                out.extend(list.iter().cloned());
            }
            Ok(Value::list(out))
        }
        _ if op == BinaryOp::Cmp(CmpOp::Eq) => Ok(Value::Atom(Atom::Bool(equal(&x, &y)))),
        _ if op == BinaryOp::Cmp(CmpOp::Ne) => Ok(Value::Atom(Atom::Bool(!equal(&x, &y)))),
        _ => Err(type_error(
            format!(
                "cannot apply `{}` to {} and {}",
                op.symbol(),
                x.describe(),
                y.describe()
            ),
            at,
        )),
    }
}

/// Python's `==` on plain values (functions, s-ops and selectors are equal
/// only to themselves).
pub fn equal(x: &Value, y: &Value) -> bool {
    // Lists may nest as deep as a loop makes them: grow the stack on demand.
    stacker::maybe_grow(super::interp::RED_ZONE, super::interp::STACK_GROWTH, || {
        equal_inner(x, y)
    })
}

fn equal_inner(x: &Value, y: &Value) -> bool {
    match (x, y) {
        (Value::Atom(a), Value::Atom(b)) => a.py_eq(b),
        (Value::List(a), Value::List(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(p, q)| equal(p, q))
        }
        (Value::Dict(a), Value::Dict(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| equal(v, w)))
        }
        (Value::Func(a), Value::Func(b)) => Rc::ptr_eq(a, b),
        (Value::SOp(a), Value::SOp(b)) => a.id() == b.id(),
        (Value::Selector(a), Value::Selector(b)) => a.id() == b.id(),
        _ => false,
    }
}

/// `a op b` for two lists and an ordering comparison (`<`, `>`, `<=`,
/// `>=`), as Python orders them: by the first items that differ (compared
/// with `op`; lists nest), else by length. Items that do not order (a
/// string and a number, dicts, s-ops, a list and an atom) are an error, as
/// in Python and the reference.
fn order_lists(cmp: CmpOp, a: &[Value], b: &[Value], at: &Origin) -> EvalResult<bool> {
    // Lists may nest as deep as a loop makes them: grow the stack on demand.
    stacker::maybe_grow(super::interp::RED_ZONE, super::interp::STACK_GROWTH, || {
        let Some(i) = a.iter().zip(b.iter()).position(|(p, q)| !equal(p, q)) else {
            let by_length = a.len().cmp(&b.len());
            return Ok(match cmp {
                CmpOp::Lt => by_length.is_lt(),
                CmpOp::Gt => by_length.is_gt(),
                CmpOp::Le => by_length.is_le(),
                CmpOp::Ge => by_length.is_ge(),
                CmpOp::Eq => by_length.is_eq(),
                CmpOp::Ne => by_length.is_ne(),
            });
        };
        let ordered = match (&a[i], &b[i]) {
            (Value::List(p), Value::List(q)) => return order_lists(cmp, p, q, at),
            (Value::Atom(p), Value::Atom(q)) => Atom::compare(cmp, p, q).ok(),
            _ => None,
        };
        ordered.ok_or_else(|| {
            type_error(
                format!(
                    "cannot apply `{}` to {} and {}, the first items where two lists differ",
                    cmp.symbol(),
                    a[i].describe(),
                    b[i].describe()
                ),
                at,
            )
        })
    })
}

/// `then if cond else otherwise` with an s-op condition: element-wise, both
/// branches already evaluated.
pub fn choose(cond: SOp, then: Value, otherwise: Value, at: &Origin) -> EvalResult<Value> {
    let then = lift(&then, "a branch of an element-wise `if`", at)?;
    let otherwise = lift(&otherwise, "a branch of an element-wise `if`", at)?;
    Ok(Value::SOp(map(
        MapFn::Choose,
        vec![cond, then, otherwise],
        at,
    )))
}

/// `round(x)`.
pub fn round(x: Value, at: &Origin) -> EvalResult<Value> {
    match x {
        Value::Atom(a) => a
            .round()
            .map(Value::Atom)
            .map_err(|e| EvalError::new(e, Some(at.clone()))),
        Value::SOp(s) => Ok(Value::SOp(map(MapFn::Round, vec![s], at))),
        other => Err(type_error(
            format!(
                "`round` needs a number or an s-op, not {}",
                other.describe()
            ),
            at,
        )),
    }
}

/// `indicator(s)`.
pub fn indicator(x: Value, at: &Origin) -> EvalResult<Value> {
    match x {
        Value::SOp(s) => Ok(Value::SOp(map(MapFn::Indicator, vec![s], at))),
        other => Err(type_error(
            format!("`indicator` needs an s-op, not {}", other.describe()),
            at,
        )),
    }
}

/// The all-true selector, as `select(1, 1, ==)`.
pub fn full_selector(at: &Origin) -> Selector {
    Selector::new(
        SelectorKind::Select {
            keys: constant(Atom::Int(1), at),
            queries: constant(Atom::Int(1), at),
            op: CmpOp::Eq,
        },
        Some(at.clone()),
    )
}

/// `elem in container`.
pub fn contains(elem: Value, container: Value, at: &Origin) -> EvalResult<Value> {
    match (elem, container) {
        (Value::SOp(s), Value::List(list)) => {
            let mut atoms = Vec::with_capacity(list.len());
            for v in list.iter() {
                match v {
                    Value::Atom(a) => atoms.push(a.clone()),
                    other => {
                        return Err(type_error(
                            format!(
                                "`s in list` needs a list of atoms, but the list holds {}",
                                other.describe()
                            ),
                            at,
                        ))
                    }
                }
            }
            Ok(Value::SOp(map(MapFn::InList(Arc::new(atoms)), vec![s], at)))
        }
        (Value::SOp(_), other) => Err(type_error(
            format!(
                "`s in X` needs X to be a list of atoms, not {}",
                other.describe()
            ),
            at,
        )),
        (Value::Atom(a), Value::List(list)) => Ok(Value::Atom(Atom::Bool(
            list.iter().any(|v| equal(&Value::Atom(a.clone()), v)),
        ))),
        (Value::Atom(a), Value::SOp(s)) => {
            // One attention layer: the mean over all positions of
            // `s == a` is positive iff `a` occurs somewhere.
            let hits = map(
                MapFn::Binary(BinaryOp::Cmp(CmpOp::Eq)),
                vec![s, constant(a, at)],
                at,
            );
            let hits = map(MapFn::Indicator, vec![hits], at);
            let mean = SOp::new(
                SOpKind::Aggregate {
                    selector: full_selector(at),
                    values: hits,
                    default: Atom::Int(0),
                },
                Some(at.clone()),
            );
            let positive = map(
                MapFn::Binary(BinaryOp::Cmp(CmpOp::Gt)),
                vec![mean, constant(Atom::Int(0), at)],
                at,
            );
            Ok(Value::SOp(positive))
        }
        (Value::Atom(_), other) => Err(type_error(
            format!(
                "`atom in X` needs X to be a list or an s-op, not {}",
                other.describe()
            ),
            at,
        )),
        (elem, _) => Err(type_error(
            format!(
                "`A in X` needs A to be an s-op or an atom, not {}",
                elem.describe()
            ),
            at,
        )),
    }
}

/// How many times `* n` repeats a list: an int (0 when negative) or a
/// bool; `None` for anything that is not a count.
fn repeat_count(n: &Atom) -> Option<usize> {
    match n {
        Atom::Int(i) => Some(usize::try_from(*i).unwrap_or(0)),
        Atom::Bool(b) => Some(usize::from(*b)),
        _ => None,
    }
}

/// The number of items `x op y` would put in a new list, when it makes one
/// (`+` of two lists, `*` of a list and a count), so that the caller can
/// bound it before anything is allocated.
pub fn list_size(op: BinaryOp, x: &Value, y: &Value) -> Option<usize> {
    match (op, x, y) {
        (BinaryOp::Add, Value::List(a), Value::List(b)) => Some(a.len().saturating_add(b.len())),
        (BinaryOp::Mul, Value::List(list), Value::Atom(n))
        | (BinaryOp::Mul, Value::Atom(n), Value::List(list)) => {
            repeat_count(n).map(|times| list.len().saturating_mul(times))
        }
        _ => None,
    }
}

/// `target[index]`.
pub fn index(
    target: Value,
    idx: Value,
    length: &SOp,
    indices: &SOp,
    at: &Origin,
) -> EvalResult<Value> {
    let fail = |kind: ErrorKind| EvalError::new(kind, Some(at.clone()));
    match (target, idx) {
        (Value::List(list), Value::SOp(s)) => Ok(Value::SOp(map(
            MapFn::Lookup(Arc::new(Table::list(&list))),
            vec![s],
            at,
        ))),
        (Value::Dict(dict), Value::SOp(s)) => Ok(Value::SOp(map(
            MapFn::Lookup(Arc::new(Table::dict(&dict))),
            vec![s],
            at,
        ))),
        (Value::Atom(Atom::Str(text)), Value::SOp(s)) => {
            let chars = text
                .chars()
                .map(|c| Atom::Str(c.to_string().into()))
                .collect();
            Ok(Value::SOp(map(
                MapFn::Lookup(Arc::new(Table::Str(chars))),
                vec![s],
                at,
            )))
        }
        (Value::List(list), Value::Atom(key)) => {
            let i = resolve_index(&key, list.len(), "list").map_err(|e| fail(e.into()))?;
            Ok(list[i].clone())
        }
        (Value::Atom(Atom::Str(text)), Value::Atom(key)) => {
            let chars: Vec<char> = text.chars().collect();
            let i = resolve_index(&key, chars.len(), "string").map_err(|e| fail(e.into()))?;
            Ok(Value::Atom(Atom::Str(chars[i].to_string().into())))
        }
        (Value::Dict(dict), Value::Atom(key)) => dict
            .get(&key)
            .cloned()
            .ok_or_else(|| fail(ErrorKind::MissingKey(key.repr()))),
        (Value::SOp(s), Value::Atom(Atom::Int(i))) => {
            Ok(Value::SOp(position(s, i, length, indices, at)))
        }
        // A bool is the int it equals in Python: `tokens[True]` is
        // `tokens[1]`, as in the reference.
        (Value::SOp(s), Value::Atom(Atom::Bool(b))) => {
            Ok(Value::SOp(position(s, i64::from(b), length, indices, at)))
        }
        (Value::SOp(_), other) => Err(type_error(
            format!(
                "an s-op can be indexed only by an int or a bool, not {}",
                other.describe()
            ),
            at,
        )),
        (target, idx) => Err(type_error(
            format!("cannot index {} with {}", target.describe(), idx.describe()),
            at,
        )),
    }
}

/// `s[i]`: an aggregate where every query selects the key at position `i`
/// (or `length + i` when negative); past the end, nothing: the default 0.
fn position(s: SOp, i: i64, length: &SOp, indices: &SOp, at: &Origin) -> SOp {
    let query = if i >= 0 {
        constant(Atom::Int(i), at)
    } else {
        map(
            MapFn::Binary(BinaryOp::Add),
            vec![length.clone(), constant(Atom::Int(i), at)],
            at,
        )
    };
    let selector = Selector::new(
        SelectorKind::Select {
            keys: indices.clone(),
            queries: query,
            op: CmpOp::Eq,
        },
        Some(at.clone()),
    );
    SOp::new(
        SOpKind::Aggregate {
            selector,
            values: s,
            default: Atom::Int(0),
        },
        Some(at.clone()),
    )
}
