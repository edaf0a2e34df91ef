//! TEMPORARY stand-in, replaced by the real atom module at merge.
use crate::syntax::ast::{BinaryOp, CmpOp, UnaryOp};
use std::rc::Rc;

#[derive(Clone, Debug)]
pub enum Atom {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum AtomError {
    Unsupported { op: &'static str, left: &'static str, right: Option<&'static str> },
    DivisionByZero,
    Overflow,
    ComplexResult,
    InvalidConversion { to: &'static str, value: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AtomKey {
    Num(i64),
    Float(u64),
    Str(Rc<str>),
}

impl Atom {
    pub fn type_name(&self) -> &'static str {
        match self { Atom::Bool(_) => "bool", Atom::Int(_) => "int", Atom::Float(_) => "float", Atom::Str(_) => "string" }
    }
    fn f(&self) -> Option<f64> {
        match self { Atom::Bool(b) => Some(*b as i64 as f64), Atom::Int(i) => Some(*i as f64), Atom::Float(x) => Some(*x), _ => None }
    }
    fn i(&self) -> Option<i64> {
        match self { Atom::Bool(b) => Some(*b as i64), Atom::Int(i) => Some(*i), _ => None }
    }
    pub fn binary(op: BinaryOp, a: &Atom, b: &Atom) -> Result<Atom, AtomError> {
        let uns = AtomError::Unsupported { op: op.symbol(), left: a.type_name(), right: Some(b.type_name()) };
        match op {
            BinaryOp::And => return Ok(if a.truthy() { b.clone() } else { a.clone() }),
            BinaryOp::Or => return Ok(if a.truthy() { a.clone() } else { b.clone() }),
            BinaryOp::Cmp(c) => return Atom::compare(c, a, b).map(Atom::Bool),
            _ => {}
        }
        if let (Atom::Str(x), Atom::Str(y), BinaryOp::Add) = (a, b, op) {
            return Ok(Atom::Str(format!("{x}{y}").into()));
        }
        if let (Some(x), Some(y)) = (a.i(), b.i()) {
            return match op {
                BinaryOp::Add => x.checked_add(y).map(Atom::Int).ok_or(AtomError::Overflow),
                BinaryOp::Sub => x.checked_sub(y).map(Atom::Int).ok_or(AtomError::Overflow),
                BinaryOp::Mul => x.checked_mul(y).map(Atom::Int).ok_or(AtomError::Overflow),
                BinaryOp::Div => if y == 0 { Err(AtomError::DivisionByZero) } else { Ok(Atom::Float(x as f64 / y as f64)) },
                BinaryOp::Mod => if y == 0 { Err(AtomError::DivisionByZero) } else { Ok(Atom::Int(x.rem_euclid(y) + if y < 0 && x.rem_euclid(y) != 0 { y } else { 0 })) },
                BinaryOp::Pow => if y >= 0 { x.checked_pow(y as u32).map(Atom::Int).ok_or(AtomError::Overflow) } else { Ok(Atom::Float((x as f64).powf(y as f64))) },
                _ => Err(uns),
            };
        }
        if let (Some(x), Some(y)) = (a.f(), b.f()) {
            return match op {
                BinaryOp::Add => Ok(Atom::Float(x + y)),
                BinaryOp::Sub => Ok(Atom::Float(x - y)),
                BinaryOp::Mul => Ok(Atom::Float(x * y)),
                BinaryOp::Div => if y == 0.0 { Err(AtomError::DivisionByZero) } else { Ok(Atom::Float(x / y)) },
                BinaryOp::Mod => if y == 0.0 { Err(AtomError::DivisionByZero) } else { Ok(Atom::Float(x - y * (x / y).floor())) },
                BinaryOp::Pow => Ok(Atom::Float(x.powf(y))),
                _ => Err(uns),
            };
        }
        Err(uns)
    }
    pub fn unary(op: UnaryOp, a: &Atom) -> Result<Atom, AtomError> {
        match (op, a) {
            (UnaryOp::Not, _) => Ok(Atom::Bool(!a.truthy())),
            (UnaryOp::Neg, Atom::Float(x)) => Ok(Atom::Float(-x)),
            (UnaryOp::Pos, Atom::Float(x)) => Ok(Atom::Float(*x)),
            (UnaryOp::Neg, _) => a.i().and_then(|i| i.checked_neg()).map(Atom::Int).ok_or(AtomError::Overflow),
            (UnaryOp::Pos, _) => a.i().map(Atom::Int).ok_or(AtomError::Overflow),
        }
    }
    pub fn compare(op: CmpOp, a: &Atom, b: &Atom) -> Result<bool, AtomError> {
        use std::cmp::Ordering;
        let ord: Option<Ordering> = match (a, b) {
            (Atom::Str(x), Atom::Str(y)) => Some(x.cmp(y)),
            _ => match (a.f(), b.f()) {
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => {
                    return match op {
                        CmpOp::Eq => Ok(false),
                        CmpOp::Ne => Ok(true),
                        _ => Err(AtomError::Unsupported { op: op.symbol(), left: a.type_name(), right: Some(b.type_name()) }),
                    }
                }
            },
        };
        let Some(ord) = ord else { return Ok(op == CmpOp::Ne) };
        Ok(match op {
            CmpOp::Eq => ord.is_eq(), CmpOp::Ne => ord.is_ne(), CmpOp::Lt => ord.is_lt(),
            CmpOp::Gt => ord.is_gt(), CmpOp::Le => ord.is_le(), CmpOp::Ge => ord.is_ge(),
        })
    }
    pub fn truthy(&self) -> bool {
        match self { Atom::Bool(b) => *b, Atom::Int(i) => *i != 0, Atom::Float(x) => *x != 0.0, Atom::Str(s) => !s.is_empty() }
    }
    pub fn round(&self) -> Result<Atom, AtomError> {
        match self { Atom::Float(x) => Ok(Atom::Int(x.round_ties_even() as i64)), _ => self.i().map(Atom::Int).ok_or(AtomError::Overflow) }
    }
    pub fn py_eq(&self, other: &Atom) -> bool { Atom::compare(CmpOp::Eq, self, other).unwrap_or(false) }
    pub fn key(&self) -> AtomKey {
        match self {
            Atom::Str(s) => AtomKey::Str(s.clone()),
            Atom::Float(x) if x.fract() == 0.0 && x.abs() < 9e15 => AtomKey::Num(*x as i64),
            Atom::Float(x) => AtomKey::Float(x.to_bits()),
            _ => AtomKey::Num(self.i().unwrap_or(0)),
        }
    }
    pub fn repr(&self) -> String {
        match self { Atom::Str(s) => format!("'{s}'"), _ => self.to_py_str() }
    }
    pub fn to_py_str(&self) -> String {
        match self { Atom::Bool(b) => if *b { "True".into() } else { "False".into() }, Atom::Int(i) => i.to_string(), Atom::Float(x) => format_float_repr(*x), Atom::Str(s) => s.to_string() }
    }
    pub fn short(&self) -> String {
        match self { Atom::Bool(b) => if *b { "T".into() } else { "F".into() }, Atom::Float(x) => format_float_repr(format!("{x:.3}").parse().unwrap_or(*x)), _ => self.to_py_str() }
    }
    pub fn to_int(&self) -> Result<Atom, AtomError> {
        match self { Atom::Str(s) => s.trim().parse().map(Atom::Int).map_err(|_| AtomError::InvalidConversion { to: "int", value: self.repr() }), Atom::Float(x) => Ok(Atom::Int(x.trunc() as i64)), _ => Ok(Atom::Int(self.i().unwrap_or(0))) }
    }
    pub fn to_float(&self) -> Result<Atom, AtomError> {
        match self { Atom::Str(s) => s.trim().parse().map(Atom::Float).map_err(|_| AtomError::InvalidConversion { to: "float", value: self.repr() }), _ => Ok(Atom::Float(self.f().unwrap_or(0.0))) }
    }
    pub fn to_bool(&self) -> Atom { Atom::Bool(self.truthy()) }
    pub fn to_str(&self) -> Atom { Atom::Str(self.to_py_str().into()) }
}

pub fn format_float_repr(x: f64) -> String {
    let s = format!("{x}");
    if s.contains('.') || s.contains("inf") || s.contains("NaN") { s } else { format!("{s}.0") }
}
