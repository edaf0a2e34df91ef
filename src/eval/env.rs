//! Scopes: name → value maps chained to their parents.
//!
//! The chain for a program is: builtins (reserved everywhere) → standard
//! library (reference-library names reserved at top level) → the program's
//! global scope → one scope per function call. Closures keep their defining
//! scope by reference, so later rebindings there are visible to them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use super::value::Value;

/// Which names a scope refuses to have rebound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Builtins: reserved names are refused in every scope.
    Everywhere,
    /// The library: its names are refused at the top level only (a function
    /// may use `length` as a parameter name, as in the reference).
    TopLevel,
    /// Not reserved.
    None,
}

struct Scope {
    vars: HashMap<Rc<str>, Value>,
    reserved: HashMap<Rc<str>, Guard>,
    parent: Option<Env>,
    /// True for a program's global scope (where `TopLevel` guards apply).
    top_level: bool,
}

/// A shared, mutable scope.
#[derive(Clone)]
pub struct Env(Rc<RefCell<Scope>>);

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Env({} names)", self.0.borrow().vars.len())
    }
}

impl Env {
    fn make(parent: Option<Env>, top_level: bool) -> Env {
        Env(Rc::new(RefCell::new(Scope {
            vars: HashMap::new(),
            reserved: HashMap::new(),
            parent,
            top_level,
        })))
    }

    /// A scope with no parent.
    pub fn root() -> Env {
        Env::make(None, false)
    }

    /// A program's global scope under `self`.
    pub fn top_level_child(&self) -> Env {
        Env::make(Some(self.clone()), true)
    }

    /// A function-call or comprehension scope under `self`.
    pub fn child(&self) -> Env {
        Env::make(Some(self.clone()), false)
    }

    pub fn is_top_level(&self) -> bool {
        self.0.borrow().top_level
    }

    /// Looks a name up through the chain (iteratively: chains can be long).
    pub fn get(&self, name: &str) -> Option<Value> {
        let mut scope = self.clone();
        loop {
            let next = {
                let inner = scope.0.borrow();
                if let Some(v) = inner.vars.get(name) {
                    return Some(v.clone());
                }
                inner.parent.clone()
            };
            scope = next?;
        }
    }

    /// How `name` is guarded when assigned in this scope, if it is.
    pub fn guard_of(&self, name: &str) -> Option<Guard> {
        let top_level = self.is_top_level();
        let mut scope = self.clone();
        loop {
            let next = {
                let inner = scope.0.borrow();
                match inner.reserved.get(name) {
                    Some(Guard::Everywhere) => return Some(Guard::Everywhere),
                    Some(Guard::TopLevel) if top_level => return Some(Guard::TopLevel),
                    _ => {}
                }
                inner.parent.clone()
            };
            scope = next?;
        }
    }

    /// Binds `name` in this scope (no reserved check: see [`Env::guard_of`]).
    pub fn set(&self, name: Rc<str>, value: Value) {
        self.0.borrow_mut().vars.insert(name, value);
    }

    /// Binds and reserves `name` in this scope.
    pub fn set_reserved(&self, name: Rc<str>, value: Value, guard: Guard) {
        let mut inner = self.0.borrow_mut();
        if guard != Guard::None {
            inner.reserved.insert(name.clone(), guard);
        }
        inner.vars.insert(name, value);
    }

    /// The names bound in this scope itself, sorted.
    pub fn own_names(&self) -> Vec<Rc<str>> {
        let mut names: Vec<Rc<str>> = self.0.borrow().vars.keys().cloned().collect();
        names.sort();
        names
    }

    /// The names bound in this scope or any parent, sorted and unique.
    pub fn all_names(&self) -> Vec<Rc<str>> {
        let mut names = Vec::new();
        let mut scope = Some(self.clone());
        while let Some(s) = scope {
            let inner = s.0.borrow();
            names.extend(inner.vars.keys().cloned());
            scope = inner.parent.clone();
        }
        names.sort();
        names.dedup();
        names
    }

    /// Breaks the reference cycles a scope can be part of (a function stored
    /// in the scope it closes over), so that dropping an interpreter frees
    /// everything.
    pub fn clear(&self) {
        let vars = std::mem::take(&mut self.0.borrow_mut().vars);
        drop(vars);
    }
}
