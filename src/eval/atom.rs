//! Atoms: the scalar values of RASP (bool, int, float, string) and their
//! operators, with Python's semantics.
//!
//! The reference interpreter is Python, so every operator here does what Python's
//! `int`, `float`, `str` and `bool` do, except that ints are 64-bit and an int
//! result outside that range is [`AtomError::Overflow`] (never a wrap, never a
//! silent float). Points worth knowing:
//! - `bool` is an int: `True + True == 2`, `-True == -1`, but `and`/`or` return an
//!   operand by truthiness (`0 or "x"` is `"x"`), never an error.
//! - `/` is true division (int / int is correctly rounded, like CPython's); `%` is
//!   floored (`-7 % 3 == 2`); `^` is `**` (an int to a negative int is a float).
//! - int/float comparisons are exact (`2^53 + 1 != 9007199254740992.0`).
//! - `"ab" * 3` repeats, up to [`MAX_STRING_CHARS`] characters.
//!
//! Formatting (`repr`, `str`, the short sequence-element form) lives in
//! [`super::pyfmt`].

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use super::pyfmt;
pub use super::pyfmt::format_float_repr;
use crate::syntax::ast::{BinaryOp, CmpOp, UnaryOp};

/// The longest string (in characters) that `+` or `*` may build. Python has no
/// such limit; this one keeps `"ab" * 10^15` from exhausting memory.
pub const MAX_STRING_CHARS: usize = 1_000_000;

/// 2^63 as a float: the first float above every `i64`.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// A RASP atom.
#[derive(Clone, Debug)]
pub enum Atom {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
}

/// What went wrong in an atom operation; the evaluator wraps it with a source span.
#[derive(Clone, Debug, PartialEq)]
pub enum AtomError {
    /// Python's `TypeError`: `"a" - 1`, `"a" < 1`, `-"a"`, `round("a")`.
    /// `right` is `None` for unary operators and `round`.
    Unsupported {
        op: &'static str,
        left: &'static str,
        right: Option<&'static str>,
    },
    /// `1 / 0`, `1 % 0.0`, `0 ^ -1`, `0.0 ^ -1.5`.
    DivisionByZero,
    /// An int result outside 64 bits (`9223372036854775807 + 1`, `-(-2^63)`,
    /// `2 ^ 64`), a float power too large (`10.0 ^ 400`), `round`/`int` of an
    /// infinity or of a float beyond 64 bits, `int("99999999999999999999")`.
    Overflow,
    /// A string longer than [`MAX_STRING_CHARS`] (by `+` or `*`).
    StringTooLong,
    /// A negative number to a fractional power (`(-8) ^ 0.5`): complex in Python.
    ComplexResult,
    /// `round(nan)`, `int(nan)`: Python's "cannot convert float NaN to integer".
    NotANumber,
    /// `int("1.5")`, `float("abc")`: Python's `ValueError`. `value` is the
    /// Python repr of the string.
    InvalidConversion { to: &'static str, value: String },
}

impl fmt::Display for AtomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AtomError::Unsupported {
                op,
                left,
                right: Some(right),
            } => write!(f, "`{op}` is not supported between `{left}` and `{right}`"),
            AtomError::Unsupported {
                op,
                left,
                right: None,
            } => write!(f, "`{op}` is not supported for `{left}`"),
            AtomError::DivisionByZero => write!(f, "division by zero"),
            AtomError::Overflow => write!(f, "result does not fit in a 64-bit integer"),
            AtomError::StringTooLong => write!(
                f,
                "the string would be longer than the limit of {MAX_STRING_CHARS} characters"
            ),
            AtomError::ComplexResult => {
                write!(
                    f,
                    "a negative number raised to a fractional power is complex"
                )
            }
            AtomError::NotANumber => write!(f, "cannot convert float nan to an integer"),
            AtomError::InvalidConversion { to, value } => {
                write!(f, "cannot convert {value} to `{to}`")
            }
        }
    }
}

impl std::error::Error for AtomError {}

/// A number, with bools already turned into ints.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn to_f64(self) -> f64 {
        match self {
            // Round to nearest, ties to even: Python's int-to-float conversion.
            Num::Int(i) => i as f64,
            Num::Float(x) => x,
        }
    }
}

impl Atom {
    /// A string atom.
    pub fn str(s: &str) -> Atom {
        Atom::Str(Arc::from(s))
    }

    /// `"bool"`, `"int"`, `"float"` or `"string"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Atom::Bool(_) => "bool",
            Atom::Int(_) => "int",
            Atom::Float(_) => "float",
            Atom::Str(_) => "string",
        }
    }

    fn num(&self) -> Option<Num> {
        match self {
            Atom::Bool(b) => Some(Num::Int(i64::from(*b))),
            Atom::Int(i) => Some(Num::Int(*i)),
            Atom::Float(x) => Some(Num::Float(*x)),
            Atom::Str(_) => None,
        }
    }

    /// `a op b` for every binary operator. `and`/`or` return one of the operands.
    pub fn binary(op: BinaryOp, a: &Atom, b: &Atom) -> Result<Atom, AtomError> {
        match op {
            BinaryOp::And => return Ok(if a.truthy() { b } else { a }.clone()),
            BinaryOp::Or => return Ok(if a.truthy() { a } else { b }.clone()),
            BinaryOp::Cmp(cmp) => return Atom::compare(cmp, a, b).map(Atom::Bool),
            _ => {}
        }
        if let (Some(x), Some(y)) = (a.num(), b.num()) {
            return arithmetic(op, x, y);
        }
        match (op, a, b) {
            (BinaryOp::Add, Atom::Str(x), Atom::Str(y)) => {
                check_length(x.chars().count().checked_add(y.chars().count()))?;
                Ok(Atom::Str(Arc::from(format!("{x}{y}"))))
            }
            (BinaryOp::Mul, Atom::Str(s), Atom::Int(_) | Atom::Bool(_)) => repeat(s, b),
            (BinaryOp::Mul, Atom::Int(_) | Atom::Bool(_), Atom::Str(s)) => repeat(s, a),
            _ => Err(AtomError::Unsupported {
                op: op.symbol(),
                left: a.type_name(),
                right: Some(b.type_name()),
            }),
        }
    }

    /// `not a`, `-a`, `+a`. Negating or plussing a bool gives an int.
    pub fn unary(op: UnaryOp, a: &Atom) -> Result<Atom, AtomError> {
        match (op, a.num()) {
            (UnaryOp::Not, _) => Ok(Atom::Bool(!a.truthy())),
            (UnaryOp::Neg, Some(Num::Int(i))) => {
                i.checked_neg().map(Atom::Int).ok_or(AtomError::Overflow)
            }
            (UnaryOp::Neg, Some(Num::Float(x))) => Ok(Atom::Float(-x)),
            (UnaryOp::Pos, Some(Num::Int(i))) => Ok(Atom::Int(i)),
            (UnaryOp::Pos, Some(Num::Float(x))) => Ok(Atom::Float(x)),
            (_, None) => Err(AtomError::Unsupported {
                op: op.symbol(),
                left: a.type_name(),
                right: None,
            }),
        }
    }

    /// `a op b` for a comparison. `==`/`!=` work between any two atoms (a string
    /// never equals a number); ordering a string against a number is an error.
    /// Numbers compare exactly, whatever their types; NaN is unordered.
    pub fn compare(op: CmpOp, a: &Atom, b: &Atom) -> Result<bool, AtomError> {
        let ordering = match (a, b, a.num(), b.num()) {
            (Atom::Str(x), Atom::Str(y), _, _) => Some(x.cmp(y)),
            (_, _, Some(x), Some(y)) => compare_numbers(x, y),
            _ => match op {
                CmpOp::Eq => return Ok(false),
                CmpOp::Ne => return Ok(true),
                _ => {
                    return Err(AtomError::Unsupported {
                        op: op.symbol(),
                        left: a.type_name(),
                        right: Some(b.type_name()),
                    })
                }
            },
        };
        Ok(match op {
            CmpOp::Eq => ordering == Some(Ordering::Equal),
            CmpOp::Ne => ordering != Some(Ordering::Equal),
            CmpOp::Lt => ordering == Some(Ordering::Less),
            CmpOp::Gt => ordering == Some(Ordering::Greater),
            CmpOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
            CmpOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
        })
    }

    /// Python truthiness: `0`, `0.0`, `-0.0`, `""` and `False` are false.
    pub fn truthy(&self) -> bool {
        match self {
            Atom::Bool(b) => *b,
            Atom::Int(i) => *i != 0,
            Atom::Float(x) => *x != 0.0,
            Atom::Str(s) => !s.is_empty(),
        }
    }

    /// Python's one-argument `round(x)`: half to even, always an int.
    pub fn round(&self) -> Result<Atom, AtomError> {
        match self.num() {
            Some(Num::Int(i)) => Ok(Atom::Int(i)),
            Some(Num::Float(x)) => float_to_int(x.round_ties_even()),
            None => Err(AtomError::Unsupported {
                op: "round",
                left: self.type_name(),
                right: None,
            }),
        }
    }

    /// Python `==`: `1 == 1.0 == True`, `"1" != 1`, `nan != nan`.
    pub fn py_eq(&self, other: &Atom) -> bool {
        matches!(Atom::compare(CmpOp::Eq, self, other), Ok(true))
    }

    /// Whether the two are the same dict key (`self.key() == other.key()`),
    /// without copying either.
    pub fn same_key(&self, other: &Atom) -> bool {
        match (self, other) {
            (Atom::Str(a), Atom::Str(b)) => a == b,
            (Atom::Str(_), _) | (_, Atom::Str(_)) => false,
            _ => self.key() == other.key(),
        }
    }

    /// The key this atom has as a Python dict key: `1`, `1.0` and `True` are one
    /// key (as are `0`, `-0.0` and `False`); `0.5` and `"1"` are others.
    pub fn key(&self) -> AtomKey {
        match self {
            Atom::Str(s) => AtomKey::Str(s.clone()),
            Atom::Bool(b) => AtomKey::Int(i64::from(*b)),
            Atom::Int(i) => AtomKey::Int(*i),
            Atom::Float(x) => match float_to_int(*x) {
                Ok(Atom::Int(i)) if *x == x.trunc() => AtomKey::Int(i),
                _ if x.is_nan() => AtomKey::Float(f64::NAN.to_bits()),
                _ => AtomKey::Float(x.to_bits()),
            },
        }
    }

    /// Python `repr`: `'abc'`, `True`, `2.0`, `1e+16`.
    pub fn repr(&self) -> String {
        match self {
            Atom::Str(s) => pyfmt::repr_str(s),
            _ => self.to_py_str(),
        }
    }

    /// Python `str`: as `repr`, but strings bare.
    pub fn to_py_str(&self) -> String {
        match self {
            Atom::Bool(true) => "True".to_string(),
            Atom::Bool(false) => "False".to_string(),
            Atom::Int(i) => i.to_string(),
            Atom::Float(x) => format_float_repr(*x),
            Atom::Str(s) => s.to_string(),
        }
    }

    /// How a sequence element prints (the reference's `small_str`): floats as
    /// Python's `str(round(x, 3))` (`0.333`, `2.0`, `-0.0`), bools `T`/`F`, ints
    /// plain, strings bare.
    pub fn short(&self) -> String {
        match self {
            Atom::Bool(true) => "T".to_string(),
            Atom::Bool(false) => "F".to_string(),
            Atom::Float(x) => format_float_repr(pyfmt::round_float(*x, 3)),
            _ => self.to_py_str(),
        }
    }

    /// Python `int(x)`: truncates floats; parses strings (`" 12 "`, `"1_000"`).
    pub fn to_int(&self) -> Result<Atom, AtomError> {
        match (self, self.num()) {
            (_, Some(Num::Int(i))) => Ok(Atom::Int(i)),
            (_, Some(Num::Float(x))) => float_to_int(x.trunc()),
            (Atom::Str(s), None) => match pyfmt::parse_int(s) {
                Ok(i) => Ok(Atom::Int(i)),
                Err(pyfmt::ParseIntError::Overflow) => Err(AtomError::Overflow),
                Err(pyfmt::ParseIntError::Invalid) => Err(self.invalid_conversion("int")),
            },
            (_, None) => Err(self.invalid_conversion("int")),
        }
    }

    /// Python `float(x)`: parses strings (`"1e3"`, `" 2 "`, `"inf"`, `"nan"`).
    pub fn to_float(&self) -> Result<Atom, AtomError> {
        match (self, self.num()) {
            (_, Some(n)) => Ok(Atom::Float(n.to_f64())),
            (Atom::Str(s), None) => pyfmt::parse_float(s)
                .map(Atom::Float)
                .ok_or_else(|| self.invalid_conversion("float")),
            (_, None) => Err(self.invalid_conversion("float")),
        }
    }

    /// Python `bool(x)`: truthiness (so `bool("False")` is `True`).
    pub fn to_bool(&self) -> Atom {
        Atom::Bool(self.truthy())
    }

    /// Python `str(x)` as a string atom: `str(2.5) == "2.5"`, `str(True) == "True"`.
    pub fn to_str(&self) -> Atom {
        match self {
            Atom::Str(_) => self.clone(),
            _ => Atom::Str(Arc::from(self.to_py_str())),
        }
    }

    fn invalid_conversion(&self, to: &'static str) -> AtomError {
        AtomError::InvalidConversion {
            to,
            value: self.repr(),
        }
    }
}

impl fmt::Display for Atom {
    /// Python `str`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_py_str())
    }
}

/// An atom as a dict key, with Python's key equality: numbers that are equal are
/// the same key, whatever their types. Integral floats within 64 bits become
/// [`AtomKey::Int`]; every NaN is one key (Python keys NaNs by identity, which
/// RASP cannot observe). The order puts numbers (NaN last) before strings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AtomKey {
    Int(i64),
    /// The bits of a float that is not an integer within 64 bits.
    Float(u64),
    Str(Arc<str>),
}

impl Ord for AtomKey {
    fn cmp(&self, other: &Self) -> Ordering {
        use AtomKey::{Float, Int, Str};
        let float = f64::from_bits;
        match (self, other) {
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => float(*a).total_cmp(&float(*b)),
            (Int(a), Float(b)) => compare_int_float(*a, float(*b)).unwrap_or(Ordering::Less),
            (Float(a), Int(b)) => compare_int_float(*b, float(*a))
                .unwrap_or(Ordering::Less)
                .reverse(),
            (Str(a), Str(b)) => a.cmp(b),
            (Str(_), _) => Ordering::Greater,
            (_, Str(_)) => Ordering::Less,
        }
    }
}

impl PartialOrd for AtomKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn check_length(chars: Option<usize>) -> Result<(), AtomError> {
    match chars {
        Some(n) if n <= MAX_STRING_CHARS => Ok(()),
        _ => Err(AtomError::StringTooLong),
    }
}

/// `s * n` for an int (or bool) `n`: empty when `n <= 0`.
fn repeat(s: &str, count: &Atom) -> Result<Atom, AtomError> {
    let count = match count.num() {
        Some(Num::Int(n)) => usize::try_from(n).unwrap_or(0),
        _ => 0,
    };
    let chars = s.chars().count();
    if chars == 0 || count == 0 {
        return Ok(Atom::str(""));
    }
    check_length(chars.checked_mul(count))?;
    Ok(Atom::Str(Arc::from(s.repeat(count))))
}

fn arithmetic(op: BinaryOp, x: Num, y: Num) -> Result<Atom, AtomError> {
    let (Num::Int(i), Num::Int(j)) = (x, y) else {
        return float_arithmetic(op, x.to_f64(), y.to_f64());
    };
    let checked = |result: Option<i64>| result.map(Atom::Int).ok_or(AtomError::Overflow);
    match op {
        BinaryOp::Add => checked(i.checked_add(j)),
        BinaryOp::Sub => checked(i.checked_sub(j)),
        BinaryOp::Mul => checked(i.checked_mul(j)),
        BinaryOp::Div => int_true_divide(i, j).map(Atom::Float),
        BinaryOp::Mod => int_floor_mod(i, j).map(Atom::Int),
        BinaryOp::Pow => int_pow(i, j),
        BinaryOp::Cmp(_) | BinaryOp::And | BinaryOp::Or => {
            float_arithmetic(op, x.to_f64(), y.to_f64())
        }
    }
}

fn float_arithmetic(op: BinaryOp, x: f64, y: f64) -> Result<Atom, AtomError> {
    match op {
        BinaryOp::Add => Ok(Atom::Float(x + y)),
        BinaryOp::Sub => Ok(Atom::Float(x - y)),
        BinaryOp::Mul => Ok(Atom::Float(x * y)),
        BinaryOp::Div if y == 0.0 => Err(AtomError::DivisionByZero),
        BinaryOp::Div => Ok(Atom::Float(x / y)),
        BinaryOp::Mod => float_floor_mod(x, y).map(Atom::Float),
        BinaryOp::Pow => float_pow(x, y).map(Atom::Float),
        // Handled before any arithmetic; kept total rather than panicking.
        BinaryOp::Cmp(_) | BinaryOp::And | BinaryOp::Or => Err(AtomError::Unsupported {
            op: op.symbol(),
            left: "float",
            right: Some("float"),
        }),
    }
}

/// Python's `%` on ints: the result takes the divisor's sign.
fn int_floor_mod(i: i64, j: i64) -> Result<i64, AtomError> {
    if j == 0 {
        return Err(AtomError::DivisionByZero);
    }
    // `i64::MIN % -1` traps in Rust; mathematically it is 0.
    let remainder = i.checked_rem(j).unwrap_or(0);
    if remainder != 0 && (remainder < 0) != (j < 0) {
        Ok(remainder + j)
    } else {
        Ok(remainder)
    }
}

/// Python's `%` on floats (CPython's `float_rem`).
fn float_floor_mod(x: f64, y: f64) -> Result<f64, AtomError> {
    if y == 0.0 {
        return Err(AtomError::DivisionByZero);
    }
    let remainder = x % y;
    if remainder == 0.0 {
        Ok(0.0f64.copysign(y))
    } else if (remainder < 0.0) != (y < 0.0) {
        Ok(remainder + y)
    } else {
        Ok(remainder)
    }
}

/// Python's `i / j` on ints: the exact quotient, correctly rounded to a float.
fn int_true_divide(i: i64, j: i64) -> Result<f64, AtomError> {
    const EXACT: u64 = 1 << 53;
    if j == 0 {
        return Err(AtomError::DivisionByZero);
    }
    let (n, d) = (i.unsigned_abs(), j.unsigned_abs());
    if n == 0 || (n <= EXACT && d <= EXACT) {
        // Both exact as floats, so one IEEE division rounds correctly (and
        // `0 / -5` is `-0.0`, as in Python).
        return Ok(i as f64 / j as f64);
    }
    let negative = (i < 0) != (j < 0);
    // Long division to 55 significant bits, plus a sticky bit for the rest: then
    // one u64-to-f64 conversion rounds to 53 bits exactly as the quotient would.
    let (d, mut quotient, mut remainder) = (u128::from(d), u128::from(n / d), u128::from(n % d));
    let mut scale: i32 = 0;
    while quotient >= 1 << 55 {
        remainder |= quotient & 1;
        quotient >>= 1;
        scale += 1;
    }
    while quotient < 1 << 54 {
        remainder <<= 1;
        quotient <<= 1;
        if remainder >= d {
            remainder -= d;
            quotient |= 1;
        }
        scale -= 1;
    }
    let mantissa = u64::try_from(quotient | u128::from(remainder != 0)).unwrap_or(u64::MAX);
    let magnitude = mantissa as f64 * 2f64.powi(scale);
    Ok(if negative { -magnitude } else { magnitude })
}

/// Python's `i ** j` on ints: exact for `j >= 0`, a float power for `j < 0`.
fn int_pow(i: i64, j: i64) -> Result<Atom, AtomError> {
    if j < 0 {
        return float_pow(i as f64, j as f64).map(Atom::Float);
    }
    match (i, u32::try_from(j)) {
        (_, Ok(exponent)) => i
            .checked_pow(exponent)
            .map(Atom::Int)
            .ok_or(AtomError::Overflow),
        (0 | 1, Err(_)) => Ok(Atom::Int(i)),
        (-1, Err(_)) => Ok(Atom::Int(if j % 2 == 0 { 1 } else { -1 })),
        (_, Err(_)) => Err(AtomError::Overflow),
    }
}

/// Python's `x ** y` on floats (CPython's `float_pow`), with its special cases
/// for zeros, infinities and NaN, and its errors: a negative zero power of zero,
/// a fractional power of a negative number (complex), and overflow.
fn float_pow(x: f64, y: f64) -> Result<f64, AtomError> {
    let is_odd_integer = |v: f64| (v.abs() % 2.0) == 1.0;
    if y == 0.0 {
        return Ok(1.0);
    }
    if x.is_nan() {
        return Ok(x);
    }
    if y.is_nan() {
        return Ok(if x == 1.0 { 1.0 } else { y });
    }
    if y.is_infinite() {
        let base = x.abs();
        return Ok(if base == 1.0 {
            1.0
        } else if (y > 0.0) == (base > 1.0) {
            f64::INFINITY
        } else {
            0.0
        });
    }
    if x.is_infinite() {
        return Ok(match (y > 0.0, is_odd_integer(y)) {
            (true, true) => x,
            (true, false) => x.abs(),
            (false, true) => 0.0f64.copysign(x),
            (false, false) => 0.0,
        });
    }
    if x == 0.0 {
        if y < 0.0 {
            return Err(AtomError::DivisionByZero);
        }
        return Ok(if is_odd_integer(y) { x } else { 0.0 });
    }
    let (base, negate) = if x < 0.0 {
        if y != y.floor() {
            return Err(AtomError::ComplexResult);
        }
        (-x, is_odd_integer(y))
    } else {
        (x, false)
    };
    if base == 1.0 {
        return Ok(if negate { -1.0 } else { 1.0 });
    }
    let result = base.powf(y);
    if result.is_infinite() {
        return Err(AtomError::Overflow);
    }
    Ok(if negate { -result } else { result })
}

fn compare_numbers(x: Num, y: Num) -> Option<Ordering> {
    match (x, y) {
        (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
        (Num::Float(a), Num::Float(b)) => a.partial_cmp(&b),
        (Num::Int(a), Num::Float(b)) => compare_int_float(a, b),
        (Num::Float(a), Num::Int(b)) => compare_int_float(b, a).map(Ordering::reverse),
    }
}

/// Compares an int with a float exactly (`None` for NaN), without rounding the
/// int to a float: `2^53 + 1 > 9007199254740992.0`.
fn compare_int_float(i: i64, x: f64) -> Option<Ordering> {
    if x.is_nan() {
        None
    } else if x >= TWO_POW_63 {
        Some(Ordering::Less)
    } else if x < -TWO_POW_63 {
        Some(Ordering::Greater)
    } else {
        // In range, so the integer part is exact as an i64.
        let whole = x.trunc();
        Some(
            i.cmp(&(whole as i64))
                .then_with(|| 0.0.partial_cmp(&(x - whole)).unwrap_or(Ordering::Equal)),
        )
    }
}

/// A float with no fractional part, as an int: NaN and the infinities are
/// errors, as are values beyond 64 bits.
fn float_to_int(x: f64) -> Result<Atom, AtomError> {
    if x.is_nan() {
        Err(AtomError::NotANumber)
    } else if (-TWO_POW_63..TWO_POW_63).contains(&x) {
        Ok(Atom::Int(x as i64))
    } else {
        Err(AtomError::Overflow)
    }
}

#[cfg(test)]
#[path = "atom_tests.rs"]
mod tests;
