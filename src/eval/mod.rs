//! Evaluation: running programs, building the s-op DAG, and evaluating it on
//! inputs.
//!
//! The front door is [`Interpreter`]: it holds the builtins, the standard
//! library and a program's global scope, runs source text statement by
//! statement, and reports what top-level statements produce as [`Event`]s.
//! S-op values are nodes of the DAG in [`sop`]; [`run`] evaluates them on an
//! input.

pub mod atom;
pub mod batch;
pub mod env;
pub mod error;
pub mod input;
pub mod interp;
pub mod kernels;
pub mod map;
pub mod matrix;
pub mod ops;
mod order;
pub mod print;
pub mod pyfmt;
pub mod run;
pub mod sop;
pub mod value;

use std::path::Path;
use std::rc::Rc;

use self::atom::Atom;
use self::env::{Env, Guard};
use self::interp::{Ctx, Machine};
use self::sop::{Origin, SOp, SOpKind, TokenConv};
use self::value::Value;
use crate::error::Error;
use crate::syntax::ast::{Command, Stmt, Subset};
use crate::syntax::parse_program;
use crate::syntax::span::{source, Source};

/// The standard library files, embedded in the binary: the prelude (the
/// reference library's functions, names reserved at top level) and the
/// paper's tasks (names a program may rebind).
pub const STDLIB: &[(&str, &str)] = &[
    ("prelude", include_str!("../../stdlib/prelude.rasp")),
    ("tasks", include_str!("../../stdlib/tasks.rasp")),
];

/// Functions built into the interpreter rather than written in RASP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `selector_width(sel)`: how many keys each query selects.
    SelectorWidth,
}

impl Builtin {
    pub fn name(self) -> &'static str {
        match self {
            Builtin::SelectorWidth => "selector_width",
        }
    }
}

/// Bounds that keep every evaluation finite.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Nested function calls (and loads).
    pub max_call_depth: usize,
    /// Calls plus loop and comprehension iterations in one run.
    pub max_steps: u64,
    /// Items in a list made by `range` or by `+`.
    pub max_list_len: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_call_depth: 2_000,
            max_steps: 50_000_000,
            max_list_len: 10_000_000,
        }
    }
}

/// What a top-level statement produced.
#[derive(Debug, Clone)]
pub enum Event {
    /// An expression statement's value (printed by the REPL and `--verbose`).
    Value { value: Value, origin: Origin },
    /// Names bound by an assignment, `def`, `for` or `load`.
    Assigned(Vec<(Rc<str>, Value)>),
    /// `draw(sop [, input]);`: the interpreter only reports it; the command
    /// line and the REPL draw (`crate::draw`), the REPL on its running example
    /// when no input is given.
    Draw {
        sop: SOp,
        /// The drawn expression's text (when short), else the s-op's label.
        name: String,
        input: Option<Vec<Atom>>,
        origin: Origin,
    },
    /// `set [s-op|selector] example E`: its example, checked to be an
    /// input. The REPL makes it its running example; elsewhere it is the
    /// input of the `draw` statements after it that name none.
    SetExample {
        subset: Subset,
        /// As written, for display: `"hello"`, `[1, 2, 3]`.
        value: Value,
        atoms: Vec<Atom>,
    },
    /// Another of the REPL's commands (`show example`, `examples on|off`,
    /// `full seq display on|off`, `exit`): the REPL's to act on. The
    /// interpreter itself stops the program, or the loaded file, after
    /// reporting an `exit`.
    Command(Command),
}

impl Event {
    /// The s-ops the statement showed or bound, in order.
    pub fn into_sops(self) -> Vec<SOp> {
        let sop = |value: Value| match value {
            Value::SOp(s) => Some(s),
            _ => None,
        };
        match self {
            Event::Value { value, .. } => sop(value).into_iter().collect(),
            Event::Assigned(bound) => bound.into_iter().filter_map(|(_, v)| sop(v)).collect(),
            Event::Draw { .. } | Event::SetExample { .. } | Event::Command(_) => Vec::new(),
        }
    }
}

/// A RASP interpreter: builtins, library, and one global scope.
pub struct Interpreter {
    machine: Machine,
    globals: Env,
    /// The scope each library file ran in (its functions close over it).
    library_scopes: Vec<Env>,
}

impl Interpreter {
    /// An interpreter with the standard library loaded.
    pub fn new() -> Result<Interpreter, Error> {
        Interpreter::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Result<Interpreter, Error> {
        let builtins = Env::root();
        let at = |name: &str| Origin {
            source: source("<builtin>", name.to_string()),
            span: crate::syntax::span::Span::new(0, name.len()),
            call_site: None,
        };
        let sop = |kind: SOpKind, name: &str| {
            let s = SOp::new(kind, Some(at(name)));
            s.name_if_unnamed(&Rc::from(name));
            s
        };
        let mut token_sops = Vec::new();
        for conv in [
            TokenConv::Str,
            TokenConv::Int,
            TokenConv::Float,
            TokenConv::Bool,
            TokenConv::AsIs,
        ] {
            let s = sop(SOpKind::Tokens(conv), conv.name());
            builtins.set_reserved(conv.name().into(), Value::SOp(s.clone()), Guard::Everywhere);
            token_sops.push(s);
        }
        builtins.set_reserved(
            "tokens".into(),
            Value::SOp(token_sops[0].clone()),
            Guard::None,
        );
        let indices = sop(SOpKind::Indices, "indices");
        let length = sop(SOpKind::Length, "length");
        builtins.set_reserved(
            "indices".into(),
            Value::SOp(indices.clone()),
            Guard::Everywhere,
        );
        builtins.set_reserved("length".into(), Value::SOp(length.clone()), Guard::TopLevel);
        builtins.set_reserved(
            "True".into(),
            Value::Atom(Atom::Bool(true)),
            Guard::Everywhere,
        );
        builtins.set_reserved(
            "False".into(),
            Value::Atom(Atom::Bool(false)),
            Guard::Everywhere,
        );
        builtins.set_reserved(
            "selector_width".into(),
            Value::Builtin(Builtin::SelectorWidth),
            Guard::TopLevel,
        );
        let library = builtins.child();
        let mut machine = Machine {
            limits,
            depth: 0,
            steps: 0,
            budget: crate::memory::Budget::start(),
            library: library.clone(),
            indices,
            length,
            loading: Vec::new(),
            embedded: STDLIB.to_vec(),
        };
        let mut library_scopes = Vec::new();
        for (name, text) in STDLIB {
            let guard = if *name == "prelude" {
                Guard::TopLevel
            } else {
                Guard::None
            };
            let src = source(format!("<stdlib>/{name}.rasp"), *text);
            let program = parse_program(&src)?;
            let scope = library.top_level_child();
            library_scopes.push(scope.clone());
            let ctx = Ctx::new(scope.clone(), src, None);
            machine.exec_block(&program.stmts, &ctx, &mut |_| {})?;
            for n in scope.own_names() {
                if let (false, Some(v)) = (n.starts_with('_'), scope.get(&n)) {
                    library.set_reserved(n, v, guard);
                }
            }
        }
        machine.steps = 0;
        let globals = library.top_level_child();
        Ok(Interpreter {
            machine,
            globals,
            library_scopes,
        })
    }

    /// Runs a program (a file, or REPL input) in the global scope. `dir` is
    /// where `load` looks first. What top-level statements produce goes to
    /// `sink` as it happens, so output before an error is not lost.
    pub fn run(
        &mut self,
        src: &Source,
        dir: Option<&Path>,
        sink: &mut dyn FnMut(Event),
    ) -> Result<(), Error> {
        let program = parse_program(src)?;
        self.run_statements(src, &program.stmts, dir, sink)
    }

    /// Runs statements parsed from `src` (all of a program, or some of its
    /// top-level statements) in the global scope, as [`Interpreter::run`]
    /// does; their spans point into `src`.
    pub fn run_statements(
        &mut self,
        src: &Source,
        stmts: &[Stmt],
        dir: Option<&Path>,
        sink: &mut dyn FnMut(Event),
    ) -> Result<(), Error> {
        let ctx = Ctx::new(
            self.globals.clone(),
            src.clone(),
            dir.map(Path::to_path_buf),
        );
        self.machine.steps = 0;
        self.machine.depth = 0;
        self.machine.budget = crate::memory::Budget::start();
        self.machine.exec_block(stmts, &ctx, sink)?;
        Ok(())
    }

    /// Looks a name up in the global scope (and the library and builtins).
    pub fn get(&self, name: &str) -> Option<Value> {
        self.globals.get(name)
    }

    /// The global scope.
    pub fn globals(&self) -> &Env {
        &self.globals
    }

    /// Parses a vocabulary written as on the command line: comma-separated
    /// strings (`a,b,c`), or a list of atoms (`[1, 2, 3]`). See
    /// [`input::parse_vocab`].
    pub fn parse_vocab(text: &str) -> Result<Vec<Atom>, Error> {
        input::parse_vocab(text)
    }

    /// Parses an input written as on the command line: a list of literal
    /// atoms (`[3, 1, 2]`), or a string split into characters. See
    /// [`input::parse_input`].
    pub fn parse_input(text: &str) -> Result<Vec<Atom>, Error> {
        input::parse_input(text)
    }
}

impl Drop for Interpreter {
    fn drop(&mut self) {
        // Functions close over the scopes that hold them: break the cycles.
        self.globals.clear();
        self.machine.library.clear();
        for scope in &self.library_scopes {
            scope.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_give_the_sops_they_show_or_bind() {
        let mut interp = Interpreter::new().expect("starts");
        let mut sops = Vec::new();
        let program = "a = tokens; n = 3; b, c = [indices, 1]; a; 4; draw(a);";
        interp
            .run(&source("<t>", program.to_string()), None, &mut |e| {
                sops.push(e.into_sops().len())
            })
            .expect("runs");
        // `a = tokens`, `n = 3`, `b, c = ...`, `a;`, `4;`, `draw(a);`.
        assert_eq!(sops, [1, 0, 1, 1, 0, 0]);
    }
}
