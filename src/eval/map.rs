//! Element-wise functions: what a [`SOpKind::Map`](super::sop::SOpKind::Map)
//! node computes at each position from its inputs' values there.
//!
//! A map is a pure function of atoms, so later stages can apply it to any
//! tuple of possible input values (the compiler tabulates maps this way).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::atom::{Atom, AtomError, AtomKey};
use super::value::{Dict, Items, Value};
use crate::syntax::ast::{BinaryOp, UnaryOp};

/// What a map does with the values of its inputs at one position.
#[derive(Clone)]
pub enum MapFn {
    /// One input: `-x`, `+x`, `not x` (`not` gives a bool by truthiness).
    Unary(UnaryOp),
    /// Two inputs: an arithmetic operator or comparison, with Python's
    /// semantics. `And`/`Or` are not used here (see `Both`/`Either`).
    Binary(BinaryOp),
    /// Two inputs: true iff both are truthy.
    Both,
    /// Two inputs: true iff either is truthy.
    Either,
    /// One input: Python's `round(x)`.
    Round,
    /// One input: 1 if truthy, else 0.
    Indicator,
    /// Three inputs: `then if cond else otherwise`, in the order
    /// (cond, then, otherwise).
    Choose,
    /// One input: looks it up in a fixed dict, list or string.
    Lookup(Arc<Table>),
    /// One input: membership in a fixed list of atoms.
    InList(Arc<Vec<Atom>>),
}

/// A fixed container indexed element-wise by an s-op, copied out of the
/// program's values when the map is made (so the graph holds atoms only and
/// can cross threads). An entry that is not an atom keeps its description,
/// for the error a lookup of it gives.
pub enum Table {
    Dict(HashMap<AtomKey, Entry>),
    List(Vec<Entry>),
    /// A string, split into one-character strings.
    Str(Vec<Atom>),
}

/// One entry of a [`Table`]: an atom, or the description of a value that
/// is not one.
pub type Entry = Result<Atom, String>;

impl Table {
    fn entry(value: &Value) -> Entry {
        match value {
            Value::Atom(atom) => Ok(atom.clone()),
            other => Err(other.describe()),
        }
    }

    /// A list's entries.
    pub fn list(items: &Items) -> Table {
        Table::List(items.iter().map(Table::entry).collect())
    }

    /// A dict's entries, under Python's key equality.
    pub fn dict(dict: &Dict) -> Table {
        Table::Dict(
            dict.iter()
                .map(|(k, v)| (k.key(), Table::entry(v)))
                .collect(),
        )
    }
}

/// Why a map failed at one position.
#[derive(Debug, Clone, PartialEq)]
pub enum MapError {
    Atom(AtomError),
    MissingKey(String),
    IndexOutOfRange {
        index: i64,
        len: usize,
        what: &'static str,
    },
    BadIndex {
        what: &'static str,
        got: &'static str,
    },
    NotAnAtom(String),
}

impl From<AtomError> for MapError {
    fn from(err: AtomError) -> MapError {
        MapError::Atom(err)
    }
}

impl MapFn {
    /// How many inputs the function takes.
    pub fn arity(&self) -> usize {
        match self {
            MapFn::Unary(_)
            | MapFn::Round
            | MapFn::Indicator
            | MapFn::Lookup(_)
            | MapFn::InList(_) => 1,
            MapFn::Binary(_) | MapFn::Both | MapFn::Either => 2,
            MapFn::Choose => 3,
        }
    }

    /// Applies the function to one position's input values.
    pub fn apply(&self, args: &[&Atom]) -> Result<Atom, MapError> {
        match (self, args) {
            (MapFn::Unary(op), [x]) => Ok(Atom::unary(*op, x)?),
            (MapFn::Binary(op), [x, y]) => Ok(Atom::binary(*op, x, y)?),
            (MapFn::Both, [x, y]) => Ok(Atom::Bool(x.truthy() && y.truthy())),
            (MapFn::Either, [x, y]) => Ok(Atom::Bool(x.truthy() || y.truthy())),
            (MapFn::Round, [x]) => Ok(x.round()?),
            (MapFn::Indicator, [x]) => Ok(Atom::Int(i64::from(x.truthy()))),
            (MapFn::Choose, [cond, then, otherwise]) => Ok(if cond.truthy() {
                (*then).clone()
            } else {
                (*otherwise).clone()
            }),
            (MapFn::Lookup(table), [x]) => table.lookup(x),
            (MapFn::InList(list), [x]) => Ok(Atom::Bool(list.iter().any(|a| a.py_eq(x)))),
            _ => Err(MapError::NotAnAtom(format!(
                "`{}` applied to {} values",
                self.describe(),
                args.len()
            ))),
        }
    }

    /// A short description, for labels.
    /// The map applied to arguments written `args`: `a + b`, `-a`,
    /// `round(a)`, `a if c else b`, `lookup[a]`.
    pub fn call_text(&self, args: &[String]) -> String {
        let arg = |i: usize| args.get(i).map_or("…", String::as_str);
        match self {
            MapFn::Unary(op) => match op.symbol() {
                "not" => format!("(not {})", arg(0)),
                symbol => format!("{symbol}{}", arg(0)),
            },
            MapFn::Binary(op) => format!("({} {} {})", arg(0), op.symbol(), arg(1)),
            MapFn::Both => format!("({} and {})", arg(0), arg(1)),
            MapFn::Either => format!("({} or {})", arg(0), arg(1)),
            MapFn::Round => format!("round({})", arg(0)),
            MapFn::Indicator => format!("indicator({})", arg(0)),
            MapFn::Choose => format!("({} if {} else {})", arg(1), arg(0), arg(2)),
            MapFn::Lookup(_) => format!("lookup[{}]", arg(0)),
            MapFn::InList(_) => format!("({} in [...])", arg(0)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            MapFn::Unary(op) => op.symbol().to_string(),
            MapFn::Binary(op) => op.symbol().to_string(),
            MapFn::Both => "and".into(),
            MapFn::Either => "or".into(),
            MapFn::Round => "round".into(),
            MapFn::Indicator => "indicator".into(),
            MapFn::Choose => "if-else".into(),
            MapFn::Lookup(_) => "lookup".into(),
            MapFn::InList(_) => "in".into(),
        }
    }
}

impl fmt::Debug for MapFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapFn({})", self.describe())
    }
}

impl Table {
    fn what(&self) -> &'static str {
        match self {
            Table::Dict(_) => "dict",
            Table::List(_) => "list",
            Table::Str(_) => "string",
        }
    }

    /// Python's `container[key]`, for one atom key.
    pub fn lookup(&self, key: &Atom) -> Result<Atom, MapError> {
        let found = match self {
            Table::Dict(dict) => dict
                .get(&key.key())
                .ok_or_else(|| MapError::MissingKey(key.repr()))?,
            Table::List(list) => {
                let index = resolve_index(key, list.len(), self.what())?;
                &list[index]
            }
            Table::Str(chars) => {
                let index = resolve_index(key, chars.len(), self.what())?;
                return Ok(chars[index].clone());
            }
        };
        found.clone().map_err(MapError::NotAnAtom)
    }
}

/// Turns a Python index (negative counts from the end) into a position.
pub fn resolve_index(key: &Atom, len: usize, what: &'static str) -> Result<usize, MapError> {
    let index = match key {
        Atom::Int(i) => *i,
        Atom::Bool(b) => i64::from(*b),
        other => {
            return Err(MapError::BadIndex {
                what,
                got: other.type_name(),
            })
        }
    };
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let pos = if index < 0 { index + len_i } else { index };
    if pos < 0 || pos >= len_i {
        return Err(MapError::IndexOutOfRange { index, len, what });
    }
    Ok(pos as usize)
}
