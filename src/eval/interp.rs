//! The tree-walking evaluator: statements and expressions to values.
//!
//! Evaluation of a program computes atoms, lists and dicts directly and
//! builds s-op and selector nodes for everything sequence-valued (see
//! `sop.rs`); nothing here touches an actual input sequence except applying
//! an s-op or selector to one (`reverse("abc")`), which hands over to
//! `run.rs`.
//!
//! Limits keep every run finite and the stack bounded: call depth, a step
//! budget (calls and loop iterations), and the size of lists built by
//! `range` and comprehensions. Deep expressions are bounded by the parser;
//! the stack grows on demand (`stacker`) for deep but legal nesting.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::atom::Atom;
use super::env::Env;
use super::error::{ErrorKind, EvalError, EvalResult};
use super::input::{apply_input, input_atoms, Applied};
use super::ops;
use super::run;
use super::sop::{Origin, SOp, SOpKind, Selector, SelectorKind};
use super::value::{Dict, Function, Value};
use super::{Builtin, Event, Limits};
use crate::syntax::ast::{Command, Expr, ExprKind, FuncDef, Ident, Stmt, StmtKind};
use crate::syntax::span::{Source, Span};

/// Where code runs: its scope, its source file, and the directory `load`
/// looks in first.
#[derive(Clone)]
pub struct Ctx {
    pub env: Env,
    pub source: Source,
    pub dir: Option<PathBuf>,
    /// Inside a library function: the user's call that led there.
    pub call_site: Option<std::sync::Arc<Origin>>,
}

impl Ctx {
    /// A context for code of `source` running in `env`.
    pub fn new(env: Env, source: Source, dir: Option<PathBuf>) -> Ctx {
        Ctx {
            env,
            source,
            dir,
            call_site: None,
        }
    }

    fn origin(&self, span: Span) -> Origin {
        Origin {
            source: self.source.clone(),
            span,
            call_site: self.call_site.clone(),
        }
    }
}

/// Whether a source is part of the embedded standard library.
pub fn is_library_source(source: &Source) -> bool {
    source.name().starts_with("<stdlib>")
}

/// Evaluation state shared by all code of one interpreter.
pub struct Machine {
    pub limits: Limits,
    pub depth: usize,
    pub steps: u64,
    /// The memory this run may hold (see [`crate::memory`]).
    pub budget: crate::memory::Budget,
    /// The scope that holds builtins and the library: a loaded file runs in
    /// a fresh scope under it.
    pub library: Env,
    pub indices: SOp,
    pub length: SOp,
    /// Files being loaded, to refuse a load cycle.
    pub loading: Vec<PathBuf>,
    /// Embedded library files, by name, for `load`.
    pub embedded: Vec<(&'static str, &'static str)>,
}

pub(crate) const RED_ZONE: usize = 128 * 1024;
pub(crate) const STACK_GROWTH: usize = 4 * 1024 * 1024;

impl Machine {
    fn step(&mut self, at: &Origin) -> EvalResult<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(EvalError::new(
                ErrorKind::Limit(format!(
                    "the program ran more than {} steps (calls and loop iterations)",
                    self.limits.max_steps
                )),
                Some(at.clone()),
            ));
        }
        if let Err(what) = self.budget.check() {
            return Err(EvalError::new(ErrorKind::exceeded(what), Some(at.clone())));
        }
        Ok(())
    }

    /// Runs statements; top-level expression statements report their values
    /// to `sink`.
    pub fn exec_block(
        &mut self,
        stmts: &[Stmt],
        ctx: &Ctx,
        sink: &mut dyn FnMut(Event),
    ) -> EvalResult<()> {
        for stmt in stmts {
            self.exec(stmt, ctx, sink)?;
            // `exit` ends the program, or the file being loaded, as in the
            // reference (it can stand only at top level).
            if matches!(stmt.kind, StmtKind::Command(Command::Exit)) {
                break;
            }
        }
        Ok(())
    }

    fn exec(&mut self, stmt: &Stmt, ctx: &Ctx, sink: &mut dyn FnMut(Event)) -> EvalResult<()> {
        match &stmt.kind {
            StmtKind::Expr(expr) => {
                let value = self.eval(expr, ctx)?;
                sink(Event::Value {
                    value,
                    origin: ctx.origin(expr.span),
                });
            }
            StmtKind::Assign { targets, values } => {
                let mut evaluated = Vec::with_capacity(values.len());
                for e in values {
                    evaluated.push(self.eval(e, ctx)?);
                }
                let value = if evaluated.len() == 1 {
                    evaluated.pop().unwrap_or(Value::list(Vec::new()))
                } else {
                    Value::list(evaluated)
                };
                let bound = self.bind_all(targets, value, ctx, ctx.origin(stmt.span))?;
                sink(Event::Assigned(bound));
            }
            StmtKind::Def(def) => {
                let func = Value::Func(Rc::new(Function {
                    def: def.clone(),
                    env: ctx.env.clone(),
                    source: ctx.source.clone(),
                }));
                self.bind(&def.name, func.clone(), ctx)?;
                sink(Event::Assigned(vec![(def.name.name.clone(), func)]));
            }
            StmtKind::For { vars, iter, body } => {
                let iterable = self.eval(iter, ctx)?;
                let items =
                    self.iteration_items(iterable, ctx.origin(iter.span), "a `for` loop")?;
                let origin = ctx.origin(stmt.span);
                for item in items {
                    self.step(&origin)?;
                    self.bind_all(vars, item, ctx, origin.clone())?;
                    self.exec_block(body, ctx, sink)?;
                }
            }
            StmtKind::Load { path, path_span } => {
                let bound = self.load(path, ctx, ctx.origin(*path_span), sink)?;
                sink(Event::Assigned(bound));
            }
            StmtKind::SetExample { subset, example } => {
                let value = self.eval(example, ctx)?;
                let at = ctx.origin(example.span);
                let atoms = input_atoms(&value)
                    .map_err(|k| EvalError::new(k, Some(at.clone())))
                    .and_then(|atoms| run::check_input(&atoms).map(|()| atoms))
                    .map_err(|e| at_call(e, &at))?;
                sink(Event::SetExample {
                    subset: *subset,
                    value,
                    atoms,
                });
            }
            StmtKind::Command(command) => sink(Event::Command(*command)),
            StmtKind::Draw { sop, input } => {
                let value = self.eval(sop, ctx)?;
                let Value::SOp(drawn) = value else {
                    return Err(ops::type_error(
                        format!("`draw` needs an s-op, not {}", value.describe()),
                        ctx.origin(sop.span),
                    ));
                };
                let input = match input {
                    Some(expr) => {
                        let value = self.eval(expr, ctx)?;
                        let atoms = input_atoms(&value)
                            .map_err(|k| EvalError::new(k, Some(ctx.origin(expr.span))))?;
                        Some(atoms)
                    }
                    None => None,
                };
                let name = match &sop.kind {
                    ExprKind::Name(ident) => ident.to_string(),
                    _ => ctx
                        .origin(sop.span)
                        .snippet()
                        .unwrap_or_else(|| drawn.label()),
                };
                sink(Event::Draw {
                    sop: drawn,
                    name,
                    input,
                    origin: ctx.origin(stmt.span),
                });
            }
        }
        Ok(())
    }

    /// The items a `for` loop or comprehension visits: a list's elements or
    /// a dict's keys.
    fn iteration_items(&self, value: Value, at: Origin, what: &str) -> EvalResult<Vec<Value>> {
        match value {
            Value::List(list) => Ok(list.to_vec()),
            Value::Dict(dict) => Ok(dict.keys().map(|k| Value::Atom(k.clone())).collect()),
            other => Err(ops::type_error(
                format!("{what} needs a list or a dict, not {}", other.describe()),
                at,
            )),
        }
    }

    /// Binds one name in the current scope, refusing reserved names.
    fn bind(&mut self, ident: &Ident, value: Value, ctx: &Ctx) -> EvalResult<()> {
        if ctx.env.guard_of(&ident.name).is_some() {
            return Err(EvalError::new(
                ErrorKind::ReservedName(ident.name.to_string()),
                Some(ctx.origin(ident.span)),
            ));
        }
        match &value {
            Value::SOp(s) => s.name_if_unnamed(&ident.name),
            Value::Selector(s) => s.name_if_unnamed(&ident.name),
            _ => {}
        }
        ctx.env.set(ident.name.clone(), value);
        Ok(())
    }

    /// Binds several names: one name takes the value; several unpack a
    /// list, a string (its characters) or a dict (its keys), as Python
    /// and the reference do.
    fn bind_all(
        &mut self,
        targets: &[Ident],
        value: Value,
        ctx: &Ctx,
        at: Origin,
    ) -> EvalResult<Vec<(Rc<str>, Value)>> {
        if let [only] = targets {
            self.bind(only, value.clone(), ctx)?;
            return Ok(vec![(only.name.clone(), value)]);
        }
        let items: Vec<Value> = match value {
            Value::List(list) => list.to_vec(),
            Value::Atom(Atom::Str(text)) => text
                .chars()
                .map(|c| Value::Atom(Atom::Str(c.to_string().into())))
                .collect(),
            Value::Dict(dict) => dict.keys().map(|k| Value::Atom(k.clone())).collect(),
            other => {
                return Err(ops::type_error(
                    format!(
                        "cannot unpack {} into {} names",
                        other.describe(),
                        targets.len()
                    ),
                    at,
                ))
            }
        };
        if items.len() != targets.len() {
            return Err(EvalError::new(
                ErrorKind::Unpack {
                    expected: targets.len(),
                    got: items.len(),
                },
                Some(at),
            ));
        }
        let mut bound = Vec::with_capacity(targets.len());
        for (target, item) in targets.iter().zip(items) {
            self.bind(target, item.clone(), ctx)?;
            bound.push((target.name.clone(), item));
        }
        Ok(bound)
    }

    /// Evaluates an expression.
    pub fn eval(&mut self, expr: &Expr, ctx: &Ctx) -> EvalResult<Value> {
        stacker::maybe_grow(RED_ZONE, STACK_GROWTH, || self.eval_inner(expr, ctx))
    }

    fn eval_inner(&mut self, expr: &Expr, ctx: &Ctx) -> EvalResult<Value> {
        let at = ctx.origin(expr.span);
        match &expr.kind {
            ExprKind::Int(i) => Ok(Value::Atom(Atom::Int(*i))),
            ExprKind::Float(x) => Ok(Value::Atom(Atom::Float(*x))),
            ExprKind::Str(s) => Ok(Value::Atom(Atom::Str(std::sync::Arc::from(&**s)))),
            ExprKind::Name(name) => ctx.env.get(name).ok_or_else(|| {
                EvalError::new(
                    ErrorKind::UndefinedName {
                        name: name.to_string(),
                        suggestion: keyword_use(name)
                            .or_else(|| suggest(name, &ctx.env.all_names())),
                    },
                    Some(at),
                )
            }),
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for e in items {
                    out.push(self.eval(e, ctx)?);
                }
                Ok(Value::list(out))
            }
            ExprKind::Dict(entries) => {
                let mut dict = Dict::new();
                for (k, v) in entries {
                    let key = self.dict_key(k, ctx)?;
                    let value = self.eval(v, ctx)?;
                    dict.insert(key, value);
                }
                Ok(Value::Dict(Rc::new(dict)))
            }
            ExprKind::ListComp { elem, vars, iter } => {
                let mut out = Vec::new();
                self.comprehend(vars, iter, ctx, &at, |m, inner| {
                    out.push(m.eval(elem, inner)?);
                    Ok(())
                })?;
                Ok(Value::list(out))
            }
            ExprKind::DictComp {
                key,
                value,
                vars,
                iter,
            } => {
                let mut dict = Dict::new();
                self.comprehend(vars, iter, ctx, &at, |m, inner| {
                    let k = m.dict_key(key, inner)?;
                    let v = m.eval(value, inner)?;
                    dict.insert(k, v);
                    Ok(())
                })?;
                Ok(Value::Dict(Rc::new(dict)))
            }
            ExprKind::Select {
                keys, queries, op, ..
            } => {
                let k = self.eval(keys, ctx)?;
                let k = ops::lift(&k, "the keys of `select`", &ctx.origin(keys.span))?;
                let q = self.eval(queries, ctx)?;
                let q = ops::lift(&q, "the queries of `select`", &ctx.origin(queries.span))?;
                Ok(Value::Selector(Selector::new(
                    SelectorKind::Select {
                        keys: k,
                        queries: q,
                        op: *op,
                    },
                    Some(at),
                )))
            }
            ExprKind::Aggregate {
                selector,
                values,
                default,
            } => {
                let sel = match self.eval(selector, ctx)? {
                    Value::Selector(s) => s,
                    other => {
                        return Err(ops::type_error(
                            format!(
                                "`aggregate` needs a selector first, not {}",
                                other.describe()
                            ),
                            ctx.origin(selector.span),
                        ))
                    }
                };
                let vals = self.eval(values, ctx)?;
                let vals = ops::lift(&vals, "the values of `aggregate`", &ctx.origin(values.span))?;
                let default = match default {
                    None => Atom::Int(0),
                    Some(d) => match self.eval(d, ctx)? {
                        Value::Atom(a) => a,
                        other => {
                            return Err(ops::type_error(
                                format!(
                                    "the default of `aggregate` must be an atom, not {}",
                                    other.describe()
                                ),
                                ctx.origin(d.span),
                            ))
                        }
                    },
                };
                Ok(Value::SOp(SOp::new(
                    SOpKind::Aggregate {
                        selector: sel,
                        values: vals,
                        default,
                    },
                    Some(at),
                )))
            }
            ExprKind::Range(args) => self.range(args, ctx, at),
            ExprKind::Zip(args) => {
                let mut lists = Vec::with_capacity(args.len());
                for (i, e) in args.iter().enumerate() {
                    match self.eval(e, ctx)? {
                        Value::List(l) => lists.push(l),
                        other => {
                            return Err(ops::type_error(
                                format!(
                                    "`zip` needs lists, but argument {} is {}",
                                    i + 1,
                                    other.describe()
                                ),
                                ctx.origin(e.span),
                            ))
                        }
                    }
                }
                let Some(first) = lists.first() else {
                    return Err(ops::type_error(
                        "`zip` needs at least one list".to_string(),
                        at,
                    ));
                };
                let n = first.len();
                if let Some((i, l)) = lists.iter().enumerate().find(|(_, l)| l.len() != n) {
                    return Err(ops::type_error(format!(
                            "`zip` needs lists of equal length, but the first has {n} items and list {} has {}",
                            i + 1,
                            l.len()
                        ), at));
                }
                let rows = (0..n)
                    .map(|i| Value::list(lists.iter().map(|l| l[i].clone()).collect()))
                    .collect();
                Ok(Value::list(rows))
            }
            ExprKind::Len(e) => match self.eval(e, ctx)? {
                Value::List(l) => Ok(Value::Atom(Atom::Int(l.len() as i64))),
                other => Err(ops::type_error(
                    format!("`len` needs a list, not {}", other.describe()),
                    at,
                )),
            },
            ExprKind::Round(e) => {
                let v = self.eval(e, ctx)?;
                ops::round(v, &at)
            }
            ExprKind::Indicator(e) => {
                let v = self.eval(e, ctx)?;
                ops::indicator(v, &at)
            }
            ExprKind::Index { target, index } => {
                let t = self.eval(target, ctx)?;
                let i = self.eval(index, ctx)?;
                ops::index(t, i, &self.length, &self.indices, &at)
            }
            ExprKind::Call { callee, args } => {
                let f = self.eval(callee, ctx)?;
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.eval(a, ctx)?);
                }
                let written = match &callee.kind {
                    ExprKind::Name(name) => Some(&**name),
                    _ => None,
                };
                self.call(f, values, at, written)
            }
            ExprKind::Unary { op, operand } => {
                let v = self.eval(operand, ctx)?;
                ops::unary(*op, v, &at)
            }
            ExprKind::Binary { op, lhs, rhs, .. } => {
                let x = self.eval(lhs, ctx)?;
                let y = self.eval(rhs, ctx)?;
                // Concatenation doubles a list in one step, repetition
                // multiplies it: bound the result before it allocates.
                if let Some(count) = ops::list_size(*op, &x, &y) {
                    if count > self.limits.max_list_len {
                        return Err(EvalError::new(
                            ErrorKind::Limit(format!(
                                "`{}` would make a list of {count} items, more than the limit of {}",
                                op.symbol(),
                                self.limits.max_list_len
                            )),
                            Some(at),
                        ));
                    }
                }
                ops::binary(*op, x, y, &at)
            }
            ExprKind::Ternary {
                then,
                cond,
                otherwise,
            } => match self.eval(cond, ctx)? {
                Value::SOp(c) => {
                    let t = self.eval(then, ctx)?;
                    let o = self.eval(otherwise, ctx)?;
                    ops::choose(c, t, o, &at)
                }
                Value::Selector(_) => Err(ops::type_error(
                    "the condition of `if` cannot be a selector".to_string(),
                    ctx.origin(cond.span),
                )),
                c if c.truthy() => self.eval(then, ctx),
                _ => self.eval(otherwise, ctx),
            },
            ExprKind::In { elem, container } => {
                let e = self.eval(elem, ctx)?;
                let c = self.eval(container, ctx)?;
                ops::contains(e, c, &at)
            }
        }
    }

    fn dict_key(&mut self, expr: &Expr, ctx: &Ctx) -> EvalResult<Atom> {
        match self.eval(expr, ctx)? {
            Value::Atom(a) => Ok(a),
            other => Err(ops::type_error(
                format!("dict keys must be atoms, not {}", other.describe()),
                ctx.origin(expr.span),
            )),
        }
    }

    /// Runs `body` once per item of a comprehension's iterable, each time in
    /// a fresh scope holding the loop variables.
    fn comprehend(
        &mut self,
        vars: &[Ident],
        iter: &Expr,
        ctx: &Ctx,
        at: &Origin,
        mut body: impl FnMut(&mut Self, &Ctx) -> EvalResult<()>,
    ) -> EvalResult<()> {
        let v = self.eval(iter, ctx)?;
        let items = self.iteration_items(v, ctx.origin(iter.span), "a comprehension")?;
        for item in items {
            self.step(at)?;
            let inner = Ctx {
                env: ctx.env.child(),
                ..ctx.clone()
            };
            self.bind_all(vars, item, &inner, at.clone())?;
            body(self, &inner)?;
        }
        Ok(())
    }

    fn range(&mut self, args: &[Expr], ctx: &Ctx, at: Origin) -> EvalResult<Value> {
        let mut nums = Vec::with_capacity(args.len());
        for e in args {
            match self.eval(e, ctx)? {
                Value::Atom(Atom::Int(i)) => nums.push(i),
                Value::Atom(Atom::Bool(b)) => nums.push(i64::from(b)),
                other => {
                    return Err(ops::type_error(
                        format!("`range` needs ints, not {}", other.describe()),
                        ctx.origin(e.span),
                    ))
                }
            }
        }
        let (start, stop, step) = match nums[..] {
            [stop] => (0, stop, 1),
            [start, stop] => (start, stop, 1),
            [start, stop, step] => (start, stop, step),
            _ => {
                return Err(ops::type_error(
                    format!("`range` takes 1, 2 or 3 ints, not {}", nums.len()),
                    at,
                ))
            }
        };
        if step == 0 {
            return Err(ops::type_error(
                "the step of `range` cannot be 0".to_string(),
                at,
            ));
        }
        let span = i128::from(stop) - i128::from(start);
        let count = if (span > 0) == (step > 0) && span != 0 {
            (span.abs() + i128::from(step).abs() - 1) / i128::from(step).abs()
        } else {
            0
        };
        if count > self.limits.max_list_len as i128 {
            return Err(EvalError::new(
                ErrorKind::Limit(format!(
                    "`range` would make {count} items, more than the limit of {}",
                    self.limits.max_list_len
                )),
                Some(at),
            ));
        }
        let items = (0..count as i64)
            .map(|i| Value::Atom(Atom::Int(start + i * step)))
            .collect();
        Ok(Value::list(items))
    }

    /// Calls a function, or applies an s-op or selector to an input; the
    /// callee is `written` where it is a name.
    pub fn call(
        &mut self,
        f: Value,
        args: Vec<Value>,
        at: Origin,
        written: Option<&str>,
    ) -> EvalResult<Value> {
        let applied = |kind: &'static str| Applied { kind, written };
        match f {
            Value::Func(func) => self.call_function(&func, args, at),
            Value::Builtin(b) => self.call_builtin(b, args, at),
            Value::SOp(s) => {
                let input = apply_input(&args, &at, applied("s-op"))?;
                run::eval_sop(&s, &input)
                    .map(|s| Value::Sequence(Rc::new(s)))
                    .map_err(|e| at_call(e, &at))
            }
            Value::Selector(s) => {
                let input = apply_input(&args, &at, applied("selector"))?;
                run::eval_selector(&s, &input)
                    .map(|m| Value::Matrix(Rc::new(m)))
                    .map_err(|e| at_call(e, &at))
            }
            other => Err(EvalError::new(
                ErrorKind::NotCallable(other.describe()),
                Some(at),
            )),
        }
    }

    fn call_builtin(&mut self, b: Builtin, args: Vec<Value>, at: Origin) -> EvalResult<Value> {
        match b {
            Builtin::SelectorWidth => {
                let [arg] = <[Value; 1]>::try_from(args).map_err(|args| {
                    EvalError::new(
                        ErrorKind::Arity {
                            name: "selector_width".into(),
                            expected: 1,
                            got: args.len(),
                        },
                        Some(at.clone()),
                    )
                })?;
                match arg {
                    Value::Selector(s) => {
                        Ok(Value::SOp(SOp::new(SOpKind::SelectorWidth(s), Some(at))))
                    }
                    other => Err(ops::type_error(
                        format!(
                            "`selector_width` needs a selector, not {}",
                            other.describe()
                        ),
                        at,
                    )),
                }
            }
        }
    }

    fn call_function(
        &mut self,
        func: &Function,
        args: Vec<Value>,
        at: Origin,
    ) -> EvalResult<Value> {
        let def: &FuncDef = &func.def;
        if args.len() != def.params.len() {
            return Err(EvalError::new(
                ErrorKind::Arity {
                    name: def.name.name.to_string(),
                    expected: def.params.len(),
                    got: args.len(),
                },
                Some(at),
            ));
        }
        if self.depth >= self.limits.max_call_depth {
            return Err(EvalError::new(
                ErrorKind::RecursionLimit(self.limits.max_call_depth),
                Some(at),
            ));
        }
        self.step(&at)?;
        self.depth += 1;
        let call_site = if is_library_source(&func.source) {
            at.call_site
                .clone()
                .or_else(|| Some(std::sync::Arc::new(at.clone())))
        } else {
            None
        };
        let result = stacker::maybe_grow(RED_ZONE, STACK_GROWTH, || {
            self.run_body(func, args, call_site)
        });
        self.depth -= 1;
        result.map_err(|e| e.in_call(at, format!("in this call to `{}`", def.name.name)))
    }

    fn run_body(
        &mut self,
        func: &Function,
        args: Vec<Value>,
        call_site: Option<std::sync::Arc<Origin>>,
    ) -> EvalResult<Value> {
        let def = &func.def;
        let ctx = Ctx {
            call_site,
            ..Ctx::new(func.env.child(), func.source.clone(), None)
        };
        for (param, arg) in def.params.iter().zip(args) {
            self.bind(param, arg, &ctx)?;
        }
        self.exec_block(&def.body, &ctx, &mut |_| {})?;
        let mut results = Vec::with_capacity(def.results.len());
        for e in &def.results {
            results.push(self.eval(e, &ctx)?);
        }
        Ok(if results.len() == 1 {
            results.pop().unwrap_or(Value::list(Vec::new()))
        } else {
            Value::list(results)
        })
    }

    /// `load "name";`: runs the file in a fresh scope under the library and
    /// binds its public names here. Of what the file's statements report,
    /// only its REPL commands that last pass on to `sink`, as the
    /// reference's `load` keeps them: `set example`, `show example` and
    /// `full seq display`. (Its `examples on|off` ends with the load
    /// there, and its `exit` ends only the file.)
    fn load(
        &mut self,
        name: &str,
        ctx: &Ctx,
        at: Origin,
        sink: &mut dyn FnMut(Event),
    ) -> EvalResult<Vec<(Rc<str>, Value)>> {
        let (source, dir, key) = self
            .find_load(name, ctx)
            .map_err(|k| EvalError::new(k, Some(at.clone())))?;
        if self.loading.contains(&key) {
            return Err(EvalError::new(
                ErrorKind::Limit(format!("`{name}` is already being loaded (a load cycle)")),
                Some(at),
            ));
        }
        if self.depth >= self.limits.max_call_depth {
            return Err(EvalError::new(
                ErrorKind::RecursionLimit(self.limits.max_call_depth),
                Some(at),
            ));
        }
        let program = crate::syntax::parse_program(&source)
            .map_err(|e| ops::type_error(format!("`{name}` does not parse: {e}"), at.clone()))?;
        let scope = self.library.top_level_child();
        let inner = Ctx::new(scope.clone(), source, dir);
        self.loading.push(key);
        self.depth += 1;
        let result = self.exec_block(&program.stmts, &inner, &mut |event| {
            if matches!(
                event,
                Event::SetExample { .. }
                    | Event::Command(Command::ShowExample(_) | Command::FullSeqDisplay(_))
            ) {
                sink(event);
            }
        });
        self.depth -= 1;
        self.loading.pop();
        result.map_err(|e| e.in_call(at.clone(), format!("while loading `{name}`")))?;
        let mut bound = Vec::new();
        for n in scope.own_names() {
            if n.starts_with('_') {
                continue;
            }
            if let Some(v) = scope.get(&n) {
                let ident = Ident {
                    name: n.clone(),
                    span: at.span,
                };
                self.bind(&ident, v.clone(), ctx)?;
                bound.push((n, v));
            }
        }
        Ok(bound)
    }

    /// Finds `name.rasp`: next to the loading file, in the current
    /// directory, then in the embedded library.
    fn find_load(
        &self,
        name: &str,
        ctx: &Ctx,
    ) -> Result<(Source, Option<PathBuf>, PathBuf), ErrorKind> {
        let file = if name.ends_with(".rasp") {
            name.to_string()
        } else {
            format!("{name}.rasp")
        };
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(dir) = &ctx.dir {
            candidates.push(dir.join(&file));
        }
        candidates.push(PathBuf::from(&file));
        for path in candidates {
            if path.is_file() {
                let text = crate::files::read_program(&path).map_err(|e| ErrorKind::Io {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                let key = path.canonicalize().unwrap_or_else(|_| path.clone());
                let dir = path.parent().map(Path::to_path_buf);
                let source = crate::syntax::span::source(path.display().to_string(), text);
                return Ok((source, dir, key));
            }
        }
        let stem = file.trim_end_matches(".rasp");
        if let Some((lib_name, text)) = self.embedded.iter().find(|(n, _)| *n == stem) {
            let source = crate::syntax::span::source(format!("<stdlib>/{lib_name}.rasp"), *text);
            return Ok((source, None, PathBuf::from(format!("<stdlib>/{lib_name}"))));
        }
        Err(ErrorKind::LoadNotFound(file))
    }
}

/// Errors without a place of their own (an empty input) point at the call.
fn at_call(mut err: EvalError, at: &Origin) -> EvalError {
    if err.at.is_none() {
        err.at = Some(at.clone());
    }
    err
}

/// For `select` and `aggregate` used as names (they are keywords only
/// before `(`), the keyword's form.
fn keyword_use(name: &str) -> Option<String> {
    match name {
        "select" => Some("select(keys, queries, ==)".into()),
        "aggregate" => Some("aggregate(selector, values)".into()),
        _ => None,
    }
}

/// A close name for an undefined one, if any (edit distance at most 2).
fn suggest(name: &str, names: &[Rc<str>]) -> Option<String> {
    let limit = if name.len() <= 3 { 1 } else { 2 };
    names
        .iter()
        .filter(|n| !n.starts_with('_'))
        .map(|n| (edit_distance(name, n), n))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, n)| (*d, n.len()))
        .map(|(_, n)| n.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
