//! Compile errors: what cannot be compiled, where, and what to do.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, SourceCode};

use crate::eval::map::MapError;
use crate::eval::sop::{Origin, SOp, Selector};

/// Why a program cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileErrorKind {
    /// A value set or table beyond the limits.
    TooLarge,
    /// A construct with no finite encoding here.
    Unsupported,
    /// A constant computation that fails.
    MapFails,
    /// A bad `--vocab` or `--max-len`.
    BadSettings,
    /// A bug: the compiler's own invariant broke.
    Internal,
}

/// A compile error with the s-op it concerns.
#[derive(Debug, Clone)]
pub struct CompileError {
    pub kind: CompileErrorKind,
    pub message: String,
    pub at: Option<Origin>,
    pub label: String,
}

impl CompileError {
    fn at_sop(kind: CompileErrorKind, sop: &SOp, message: String) -> CompileError {
        CompileError {
            kind,
            message,
            at: sop.origin().cloned(),
            label: format!("`{}`", sop.label()),
        }
    }

    pub fn too_large(sop: &SOp, message: String) -> CompileError {
        CompileError::at_sop(CompileErrorKind::TooLarge, sop, message)
    }

    pub fn unsupported(sop: &SOp, what: String) -> CompileError {
        CompileError::at_sop(
            CompileErrorKind::Unsupported,
            sop,
            format!("cannot compile {what}"),
        )
    }

    pub fn map_fails(sop: &SOp, err: MapError) -> CompileError {
        let kind: crate::eval::error::ErrorKind = err.into();
        CompileError::at_sop(
            CompileErrorKind::MapFails,
            sop,
            format!("this constant fails: {kind}"),
        )
    }

    pub fn settings(message: impl Into<String>) -> CompileError {
        CompileError {
            kind: CompileErrorKind::BadSettings,
            message: message.into(),
            at: None,
            label: String::new(),
        }
    }

    pub fn too_large_selector(sel: &Selector, message: String) -> CompileError {
        CompileError {
            kind: CompileErrorKind::TooLarge,
            message,
            at: sel.origin().cloned(),
            label: format!("`{}`", sel.label()),
        }
    }

    /// A whole model over the size limit, shown at the node costing most.
    pub fn model_too_large(at: Option<Origin>, label: String, message: String) -> CompileError {
        CompileError {
            kind: CompileErrorKind::TooLarge,
            message,
            at,
            label,
        }
    }

    pub fn internal(message: &str) -> CompileError {
        CompileError {
            kind: CompileErrorKind::Internal,
            message: format!("internal compiler error: {message}"),
            at: None,
            label: String::new(),
        }
    }

    pub fn code_name(&self) -> &'static str {
        match self.kind {
            CompileErrorKind::TooLarge => "rasp::compile::too_large",
            CompileErrorKind::Unsupported => "rasp::compile::unsupported",
            CompileErrorKind::MapFails => "rasp::compile::map_fails",
            CompileErrorKind::BadSettings => "rasp::compile::settings",
            CompileErrorKind::Internal => "rasp::compile::internal",
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for CompileError {}

impl Diagnostic for CompileError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code_name()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let help = match self.kind {
            CompileErrorKind::TooLarge => {
                "a smaller `--max-len` or vocabulary shrinks value sets; so does splitting a map of many inputs into steps"
            }
            CompileErrorKind::Unsupported => {
                "a mean of numbers needs a numeric default (0 unless one is given)"
            }
            CompileErrorKind::BadSettings => "for example `--vocab a,b,c --max-len 8`",
            CompileErrorKind::Internal => "please report this with the program",
            CompileErrorKind::MapFails => return None,
        };
        Some(Box::new(help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.at.as_ref().map(|o| &*o.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let origin = self.at.as_ref()?;
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some(self.label.clone()), origin.span),
        )))
    }
}
