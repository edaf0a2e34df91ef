//! Runtime values: atoms, lists, dicts, functions, s-ops and selectors, and
//! the concrete sequences and selection matrices that applying an s-op or a
//! selector to an input produces.

use std::collections::HashMap;
use std::rc::Rc;

use super::atom::{Atom, AtomKey};
use super::env::Env;
use super::matrix::Selection;
use super::sop::{SOp, Selector};
use crate::syntax::ast::FuncDef;
use crate::syntax::span::Source;

#[derive(Clone, Debug)]
pub enum Value {
    Atom(Atom),
    List(Rc<Items>),
    Dict(Rc<Dict>),
    Func(Rc<Function>),
    /// A function built into the interpreter (`selector_width`).
    Builtin(super::Builtin),
    SOp(SOp),
    Selector(Selector),
    /// An s-op applied to an input.
    Sequence(Rc<Sequence>),
    /// A selector applied to an input.
    Matrix(Rc<Selection>),
}

impl Value {
    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(Items(items)))
    }

    /// What kind of value this is, for messages: "int", "list", "s-op", ...
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Atom(a) => a.type_name(),
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Func(_) | Value::Builtin(_) => "function",
            Value::SOp(_) => "s-op",
            Value::Selector(_) => "selector",
            Value::Sequence(_) => "sequence",
            Value::Matrix(_) => "selection matrix",
        }
    }

    /// The kind and a short rendering, e.g. "list `[1, 2]`".
    pub fn describe(&self) -> String {
        match self {
            Value::SOp(s) => format!("s-op `{}`", s.label()),
            Value::Selector(s) => format!("selector `{}`", s.label()),
            Value::Func(f) => format!("function `{}`", f.def.name.name),
            Value::Builtin(b) => format!("function `{}`", b.name()),
            other => {
                let mut text = super::print::value_repr(other);
                if text.chars().count() > 40 {
                    text = text.chars().take(37).collect::<String>() + "...";
                }
                format!("{} `{}`", other.kind_name(), text)
            }
        }
    }

    /// Python truthiness, where it applies.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Atom(a) => a.truthy(),
            Value::List(l) => !l.is_empty(),
            Value::Dict(d) => !d.is_empty(),
            _ => true,
        }
    }

    pub fn as_atom(&self) -> Option<&Atom> {
        match self {
            Value::Atom(a) => Some(a),
            _ => None,
        }
    }
}

/// A dict with atom keys, in insertion order; keys equal in Python (1, 1.0,
/// True) are one key.
#[derive(Debug, Default)]
pub struct Dict {
    entries: Vec<(Atom, Value)>,
    index: HashMap<AtomKey, usize>,
}

impl Dict {
    pub fn new() -> Dict {
        Dict::default()
    }

    /// Inserts or replaces; a replaced key keeps its first position and its
    /// first spelling, as in Python.
    pub fn insert(&mut self, key: Atom, value: Value) {
        match self.index.get(&key.key()) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(key.key(), self.entries.len());
                self.entries.push((key, value));
            }
        }
    }

    pub fn get(&self, key: &Atom) -> Option<&Value> {
        self.index.get(&key.key()).map(|&i| &self.entries[i].1)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &(Atom, Value)> {
        self.entries.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &Atom> {
        self.entries.iter().map(|(k, _)| k)
    }
}

/// A function value: a definition closed over the scope it was defined in.
#[derive(Debug)]
pub struct Function {
    pub def: Rc<FuncDef>,
    pub env: Env,
    pub source: Source,
}

/// The type of a concrete sequence, as the reference names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqType {
    Str,
    Bool,
    Int,
    Float,
}

impl SeqType {
    /// "strings", "bools", "ints", "floats".
    pub fn plural(self) -> &'static str {
        match self {
            SeqType::Str => "strings",
            SeqType::Bool => "bools",
            SeqType::Int => "ints",
            SeqType::Float => "floats",
        }
    }

    /// The type of a homogeneous sequence: all strings, all bools, all ints
    /// (bools count as ints among ints), or numbers (ints mixed with floats
    /// are floats). `None` for anything else.
    pub fn of(values: &[Atom]) -> Option<SeqType> {
        let (mut strs, mut bools, mut floats) = (0, 0, 0);
        for v in values {
            match v {
                Atom::Str(_) => strs += 1,
                Atom::Bool(_) => bools += 1,
                Atom::Int(_) => {}
                Atom::Float(_) => floats += 1,
            }
        }
        let n = values.len();
        if strs == n {
            Some(SeqType::Str)
        } else if bools == n {
            Some(SeqType::Bool)
        } else if strs > 0 {
            None
        } else if floats == 0 {
            Some(SeqType::Int)
        } else if bools == 0 {
            Some(SeqType::Float)
        } else {
            // Python: bools are ints, but a float among them makes the
            // sequence "floats" only when every value is an int or a float.
            Some(SeqType::Float)
        }
    }

    /// Whether values of this type can be averaged.
    pub fn is_numeric(self) -> bool {
        matches!(self, SeqType::Int | SeqType::Float)
    }
}

/// A concrete, homogeneous sequence.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub values: Vec<Atom>,
    pub ty: SeqType,
}

/// A list's items. Lists (and dicts) nested millions deep are freed with an
/// explicit stack: the default drop would recurse once per level and
/// overflow the stack.
#[derive(Debug, Clone, Default)]
pub struct Items(pub Vec<Value>);

impl std::ops::Deref for Items {
    type Target = Vec<Value>;
    fn deref(&self) -> &Vec<Value> {
        &self.0
    }
}

impl std::ops::DerefMut for Items {
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        &mut self.0
    }
}

impl FromIterator<Value> for Items {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Items {
        Items(iter.into_iter().collect())
    }
}

impl From<Vec<Value>> for Items {
    fn from(items: Vec<Value>) -> Items {
        Items(items)
    }
}

impl Drop for Items {
    fn drop(&mut self) {
        free_nested(std::mem::take(&mut self.0));
    }
}

impl Drop for Dict {
    fn drop(&mut self) {
        // Only nested lists and dicts need the stack (a flat dict allocates
        // nothing here).
        let nested: Vec<Value> = self
            .entries
            .drain(..)
            .map(|(_, v)| v)
            .filter(|v| matches!(v, Value::List(_) | Value::Dict(_)))
            .collect();
        free_nested(nested);
    }
}

/// Drops `values`, taking apart every list and dict held only here
/// iteratively, so that each is dropped empty.
fn free_nested(mut stack: Vec<Value>) {
    while let Some(mut value) = stack.pop() {
        match &mut value {
            Value::List(items) => {
                if let Some(items) = Rc::get_mut(items) {
                    stack.append(&mut items.0);
                }
            }
            Value::Dict(dict) => {
                if let Some(dict) = Rc::get_mut(dict) {
                    stack.extend(dict.entries.drain(..).map(|(_, v)| v));
                }
            }
            _ => {}
        }
    }
}
