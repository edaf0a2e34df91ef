//! Evaluation errors, rendered as miette diagnostics.
//!
//! One [`EvalError`] type serves the whole phase: an [`ErrorKind`] says what
//! went wrong (its message, code and advice), an [`Origin`] says where. Errors
//! that pass through function calls collect the call sites, shown as related
//! diagnostics, so an error deep inside a library function still points at
//! the user's line.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, SourceCode};

use super::atom::AtomError;
use super::map::MapError;
use super::sop::Origin;

/// Everything that can go wrong while evaluating a program or an s-op.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ErrorKind {
    /// `x + 1;` where `x` was never bound.
    #[error("undefined name `{name}`")]
    UndefinedName {
        name: String,
        suggestion: Option<String>,
    },
    /// `indices = 3;` or, at top level, `sort = 1;`.
    #[error("`{0}` is reserved and cannot be assigned")]
    ReservedName(String),
    /// `f(1, 2)` for `def f(x)`.
    #[error("`{name}` takes {expected} argument{}, but {got} {} given", plural(*expected), were(*got))]
    Arity {
        name: String,
        expected: usize,
        got: usize,
    },
    /// An operation applied to values of the wrong kind, e.g. `"a" - 1` or
    /// `aggregate(tokens, tokens)`.
    #[error("{0}")]
    Type(String),
    /// `3(1)`.
    #[error("{0} is not a function, s-op or selector")]
    NotCallable(String),
    /// An s-op or selector called like a function: `length(tokens)`.
    #[error("{callee} is {} {kind}, not a function", if *kind == "s-op" { "an" } else { "a" })]
    NotAFunction { callee: String, kind: &'static str },
    /// A sequence whose values are of different types, e.g.
    /// `tokens_int if indices == 0 else "a"`.
    #[error("a sequence cannot mix {0}")]
    MixedSequence(String),
    /// `aggregate` selecting several different non-numeric values.
    #[error("cannot average several non-numeric values: {0}")]
    AverageNonNumbers(String),
    /// `[1, 2][5]`.
    #[error("index {index} is out of range for a {what} of length {len}")]
    IndexOutOfRange {
        index: i64,
        len: usize,
        what: &'static str,
    },
    /// `{"a": 1}["b"]`.
    #[error("key {0} is not in the dict")]
    MissingKey(String),
    /// `1 / 0`, `5 % 0`.
    #[error("division by zero")]
    DivisionByZero,
    /// An int result beyond 64 bits.
    #[error("integer overflow: the result does not fit in 64 bits")]
    Overflow,
    /// `(-8) ^ 0.5`.
    #[error("the result would be a complex number")]
    ComplexResult,
    /// `tokens_int` on `"abc"`.
    #[error("cannot convert {value} to {to}")]
    Conversion { value: String, to: &'static str },
    /// `load "nothere";`.
    #[error("cannot load `{0}`: no such file")]
    LoadNotFound(String),
    /// A file that exists but cannot be read.
    #[error("cannot read `{path}`: {reason}")]
    Io { path: String, reason: String },
    /// Calls nested too deeply (usually recursion without a base case).
    #[error("calls are nested more than {0} deep")]
    RecursionLimit(usize),
    /// A size or work limit, e.g. `range(10000000000)`.
    #[error("{0}")]
    Limit(String),
    /// An evaluation past its memory or time budget, or interrupted.
    #[error("{}", budget_text(*.0))]
    Budget(crate::memory::Exceeded),
    /// `a, b = 1, 2, 3;`.
    #[error("cannot unpack {got} values into {expected} names")]
    Unpack { expected: usize, got: usize },
    /// An input that is not a non-empty string or list of atoms.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// `tokens_asis` of an input whose items mix strings with others:
    /// `--input '[1, "a"]'` (which `tokens`, strings of every item, takes).
    #[error("`tokens_asis` keeps the input's items as they are, and they mix {0}")]
    MixedInput(String),
    /// A `--vocab` that is not a list of atoms or comma-separated tokens:
    /// `--vocab '[1, 2'`.
    #[error("invalid vocabulary: {0}")]
    InvalidVocab(String),
    /// A statement this version does not run yet.
    #[error("{0}")]
    Unsupported(String),
}

fn budget_text(what: crate::memory::Exceeded) -> String {
    use crate::memory::Exceeded;
    match what {
        Exceeded::Memory(_) => format!("the program holds {what}"),
        Exceeded::Time(_) => format!("the program ran {what}"),
        Exceeded::Interrupted => format!("the program was {what}"),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn were(n: usize) -> &'static str {
    if n == 1 {
        "was"
    } else {
        "were"
    }
}

impl ErrorKind {
    /// A budget run out: memory, time or an interrupt.
    pub(crate) fn exceeded(what: crate::memory::Exceeded) -> ErrorKind {
        ErrorKind::Budget(what)
    }

    /// The stable diagnostic code.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::UndefinedName { .. } => "rasp::eval::undefined_name",
            ErrorKind::ReservedName(_) => "rasp::eval::reserved_name",
            ErrorKind::Arity { .. } => "rasp::eval::arity",
            ErrorKind::Type(_) => "rasp::eval::type_mismatch",
            ErrorKind::NotCallable(_) => "rasp::eval::not_callable",
            ErrorKind::NotAFunction { .. } => "rasp::eval::not_a_function",
            ErrorKind::MixedSequence(_) => "rasp::eval::mixed_sequence",
            ErrorKind::AverageNonNumbers(_) => "rasp::eval::average_non_numbers",
            ErrorKind::IndexOutOfRange { .. } => "rasp::eval::index_out_of_range",
            ErrorKind::MissingKey(_) => "rasp::eval::missing_key",
            ErrorKind::DivisionByZero => "rasp::eval::division_by_zero",
            ErrorKind::Overflow => "rasp::eval::overflow",
            ErrorKind::ComplexResult => "rasp::eval::complex_result",
            ErrorKind::Conversion { .. } => "rasp::eval::conversion",
            ErrorKind::LoadNotFound(_) => "rasp::eval::load_not_found",
            ErrorKind::Io { .. } => "rasp::eval::io",
            ErrorKind::RecursionLimit(_) => "rasp::eval::recursion_limit",
            ErrorKind::Limit(_) | ErrorKind::Budget(_) => "rasp::eval::limit",
            ErrorKind::Unpack { .. } => "rasp::eval::unpack",
            ErrorKind::InvalidInput(_) => "rasp::eval::invalid_input",
            ErrorKind::MixedInput(_) => "rasp::eval::mixed_input",
            ErrorKind::InvalidVocab(_) => "rasp::eval::invalid_vocab",
            ErrorKind::Unsupported(_) => "rasp::eval::unsupported",
        }
    }

    /// Advice, where there is some.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            ErrorKind::UndefinedName {
                suggestion: Some(s),
                ..
            } => format!("did you mean `{s}`?"),
            ErrorKind::UndefinedName { .. } => {
                "names must be assigned before they are used".into()
            }
            ErrorKind::ReservedName(_) => {
                "builtins and library names cannot be rebound; choose another name".into()
            }
            ErrorKind::NotAFunction { kind: "s-op", .. } => {
                "an s-op already stands for a value at every position of the input the program runs on: use it as it is, as in `length - indices`, and make new s-ops with operators, `select` and `aggregate`; applied to a string or a list, as in `length(\"abc\")`, an s-op is evaluated on that input".into()
            }
            ErrorKind::NotAFunction { .. } => {
                "a selector is used by `aggregate` and `selector_width`, as in `aggregate(flip, tokens)`; applied to a string or a list, as in `flip(\"abc\")`, it shows which positions it selects there".into()
            }
            ErrorKind::MixedSequence(_) => {
                "all values of a sequence must be strings, bools, or numbers; an aggregate that selects nothing gives its default (0 unless given), so give a default of the values' type".into()
            }
            ErrorKind::AverageNonNumbers(_) => {
                "an aggregate of non-numbers must select at most one position for each query (or only identical values)".into()
            }
            ErrorKind::RecursionLimit(_) => {
                "check that the recursion has a base case that is reached".into()
            }
            ErrorKind::LoadNotFound(_) => {
                "`load \"name\";` looks for `name.rasp` next to the loading file, then in the current directory, then in the standard library".into()
            }
            ErrorKind::Conversion { to, .. } => format!(
                "`tokens_{}` converts every input element; use `tokens` (strings) or another `tokens_*`",
                if *to == "int" { "int" } else { to }
            ),
            ErrorKind::InvalidInput(_) => {
                "an input is a non-empty string, or a non-empty list of atoms such as `[3, 1, 2]`".into()
            }
            ErrorKind::MixedInput(_) => {
                "a sequence's items are all strings, all bools, or numbers (ints and floats, with bools counted as ints among them): read the input with `tokens` (strings of every item) or another `tokens_*`, or give an input of one type".into()
            }
            ErrorKind::InvalidVocab(_) => {
                "a vocabulary is tokens separated by commas, as in `a,b,c`, or a list of atoms that are all strings, all bools, or numbers, as in `[1, 2, 3]`".into()
            }
            ErrorKind::Overflow => "ints are 64-bit; use floats for larger numbers".into(),
            _ => return None,
        })
    }
}

impl From<AtomError> for ErrorKind {
    fn from(err: AtomError) -> ErrorKind {
        match err {
            AtomError::Unsupported { op, left, right } => ErrorKind::Type(match right {
                Some(right) => format!("cannot apply `{op}` to {left} and {right}"),
                None => format!("cannot apply `{op}` to {left}"),
            }),
            AtomError::DivisionByZero => ErrorKind::DivisionByZero,
            AtomError::Overflow => ErrorKind::Overflow,
            err @ AtomError::StringTooLong => ErrorKind::Limit(err.to_string()),
            AtomError::ComplexResult => ErrorKind::ComplexResult,
            AtomError::InvalidConversion { to, value } => ErrorKind::Conversion { value, to },
            #[allow(unreachable_patterns, reason = "the atom module may grow variants")]
            other => ErrorKind::Type(format!("{other:?}")),
        }
    }
}

impl From<MapError> for ErrorKind {
    fn from(err: MapError) -> ErrorKind {
        match err {
            MapError::Atom(e) => e.into(),
            MapError::MissingKey(k) => ErrorKind::MissingKey(k),
            MapError::IndexOutOfRange { index, len, what } => {
                ErrorKind::IndexOutOfRange { index, len, what }
            }
            MapError::BadIndex { what, got } => {
                ErrorKind::Type(format!("a {what} index must be an int, not a {got}"))
            }
            MapError::NotAnAtom(what) => {
                ErrorKind::Type(format!("a sequence value must be an atom, not {what}"))
            }
        }
    }
}

/// A call site an error passed through.
#[derive(Debug, Clone)]
pub struct Frame {
    pub origin: Origin,
    pub message: String,
    /// The label at the frame's span.
    pub label: &'static str,
}

/// An evaluation error with where it happened (boxed: errors are rare and
/// results are returned everywhere).
#[derive(Debug, Clone)]
pub struct EvalError(Box<ErrorData>);

/// The parts of an [`EvalError`].
#[derive(Debug, Clone)]
pub struct ErrorData {
    pub kind: ErrorKind,
    pub at: Option<Origin>,
    /// Text for the label at `at`; a default one is used if `None`.
    pub label: Option<String>,
    /// The position of the input where an s-op failed.
    pub position: Option<usize>,
    /// The input an s-op failed on, as given.
    pub input: Option<String>,
    /// Call sites, innermost first.
    pub frames: Vec<Frame>,
}

/// How many call sites an error keeps.
const MAX_FRAMES: usize = 4;

impl EvalError {
    pub fn new(kind: impl Into<ErrorKind>, at: Option<Origin>) -> EvalError {
        EvalError(Box::new(ErrorData {
            kind: kind.into(),
            at,
            label: None,
            position: None,
            input: None,
            frames: Vec::new(),
        }))
    }

    pub fn with_label(mut self, label: impl Into<String>) -> EvalError {
        self.label = Some(label.into());
        self
    }

    /// Says which input the error happened on (appended to the label).
    pub fn on_input(mut self, input: &str) -> EvalError {
        let mut shown: String = input.chars().take(40).collect();
        if input.chars().count() > 40 {
            shown.push_str("...");
        }
        self.input = Some(shown);
        self
    }

    /// Says at which position of the input an s-op failed.
    pub fn at_position(mut self, position: Option<usize>) -> EvalError {
        self.position = position;
        self
    }

    /// The text of the primary label.
    fn label_text(&self) -> String {
        let base = self.label.clone().unwrap_or_else(|| "here".to_string());
        match (self.position, &self.input) {
            (Some(p), Some(i)) => format!("{base} at position {p} of input `{i}`"),
            (Some(p), None) => format!("{base} at position {p}"),
            (None, Some(i)) => format!("{base} on input `{i}`"),
            (None, None) => base,
        }
    }

    /// Records that the error happened inside a call made at `origin`.
    pub fn in_call(self, origin: Origin, message: impl Into<String>) -> EvalError {
        self.with_frame(origin, message, "called here")
    }

    /// Adds a related location with a message and a label. Repeats of the
    /// previous location (recursion) are shown once.
    pub fn with_frame(
        mut self,
        origin: Origin,
        message: impl Into<String>,
        label: &'static str,
    ) -> EvalError {
        let same = |o: &Origin| {
            o.span.start == origin.span.start && o.source.name() == origin.source.name()
        };
        match &self.at {
            None => self.at = Some(origin),
            Some(at) if same(at) => {}
            Some(_) => {
                if self.frames.len() < MAX_FRAMES
                    && self.frames.last().is_none_or(|f| !same(&f.origin))
                {
                    self.frames.push(Frame {
                        origin,
                        message: message.into(),
                        label,
                    });
                }
            }
        }
        self
    }

    /// The stable diagnostic code, e.g. `rasp::eval::undefined_name`.
    pub fn code_name(&self) -> &'static str {
        self.kind.code()
    }
}

impl std::ops::Deref for EvalError {
    type Target = ErrorData;

    fn deref(&self) -> &ErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for EvalError {
    fn deref_mut(&mut self) -> &mut ErrorData {
        &mut self.0
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for EvalError {}

impl Diagnostic for EvalError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.kind
            .help()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.at.as_ref().map(|o| &*o.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let origin = self.at.as_ref()?;
        let text = self.label_text();
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some(text), origin.span),
        )))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.frames.is_empty() {
            return None;
        }
        Some(Box::new(self.frames.iter().map(|f| f as &dyn Diagnostic)))
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Frame {}

impl Diagnostic for Frame {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&*self.origin.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some(self.label.to_string()), self.origin.span),
        )))
    }
}

pub type EvalResult<T> = Result<T, EvalError>;
