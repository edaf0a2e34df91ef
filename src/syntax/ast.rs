//! The abstract syntax tree of RASP programs.
//!
//! Every node carries the [`Span`] of the source text it came from; spans
//! compare equal to each other, so `==` on trees is structural.

use std::rc::Rc;

pub use super::command::{Command, Subset};
use super::span::Span;

/// A whole program (a file, or one REPL entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub stmts: Vec<Stmt>,
}

/// A name as written, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: Rc<str>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// `expr;` — at top level its value is printed.
    Expr(Expr),
    /// `a, b = e1, e2;` (several targets and one value unpack a list;
    /// one target and several values bind a list).
    Assign {
        targets: Vec<Ident>,
        values: Vec<Expr>,
    },
    /// `def name(params) { body return results; }`
    Def(Rc<FuncDef>),
    /// `for a, b in iter { body }`, run in the current scope.
    For {
        vars: Vec<Ident>,
        iter: Expr,
        body: Vec<Stmt>,
    },
    /// `load "name";`
    Load { path: String, path_span: Span },
    /// `draw(sop [, input]);`
    Draw { sop: Expr, input: Option<Expr> },
    /// `set [s-op|selector] example E`, a REPL command on its own line
    /// (top level only; see `syntax::command`).
    SetExample { subset: Subset, example: Expr },
    /// Another REPL command on its own line: `show example`,
    /// `examples on|off`, `full seq display on|off`, `exit` (top level only).
    Command(Command),
}

/// A function definition; shared by every closure made from it.
#[derive(Debug, Clone, PartialEq)]
pub struct FuncDef {
    pub name: Ident,
    pub params: Vec<Ident>,
    pub body: Vec<Stmt>,
    /// The expressions of the final `return`; several make a list.
    pub results: Vec<Expr>,
    /// The span of the `return` statement.
    pub return_span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    Name(Rc<str>),
    List(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    /// `[elem for vars in iter]`
    ListComp {
        elem: Box<Expr>,
        vars: Vec<Ident>,
        iter: Box<Expr>,
    },
    /// `{key: value for vars in iter}`
    DictComp {
        key: Box<Expr>,
        value: Box<Expr>,
        vars: Vec<Ident>,
        iter: Box<Expr>,
    },
    /// `select(keys, queries, op)`
    Select {
        keys: Box<Expr>,
        queries: Box<Expr>,
        op: CmpOp,
        op_span: Span,
    },
    /// `aggregate(selector, values [, default])`
    Aggregate {
        selector: Box<Expr>,
        values: Box<Expr>,
        default: Option<Box<Expr>>,
    },
    /// `range(a [, b [, c]])`
    Range(Vec<Expr>),
    /// `zip(l1, l2, ...)`
    Zip(Vec<Expr>),
    /// `len(list)`
    Len(Box<Expr>),
    /// `round(e)`
    Round(Box<Expr>),
    /// `indicator(e)`
    Indicator(Box<Expr>),
    /// `target[index]`
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
    },
    /// `callee(args)`: a function call, or an s-op / selector applied to an input.
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `then if cond else otherwise`
    Ternary {
        then: Box<Expr>,
        cond: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `elem in container`
    In {
        elem: Box<Expr>,
        container: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Not,
    Neg,
    Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Pow,
    Mul,
    Div,
    Mod,
    Add,
    Sub,
    Cmp(CmpOp),
    And,
    Or,
}

/// A comparison, as in `a < b` or `select(k, q, <)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Gt => ">",
            CmpOp::Le => "<=",
            CmpOp::Ge => ">=",
        }
    }
}

impl UnaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            UnaryOp::Not => "not",
            UnaryOp::Neg => "-",
            UnaryOp::Pos => "+",
        }
    }
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Pow => "^",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Cmp(op) => op.symbol(),
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
        }
    }
}
