//! Compile errors: what cannot be compiled, where, and what to do.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, SourceCode};

use super::graph::{Node, SelNode};
use crate::eval::map::MapError;
use crate::eval::sop::Origin;

/// Why a program cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileErrorKind {
    /// A value set or table beyond the limits.
    TooLarge,
    /// A construct with no finite encoding here.
    Unsupported,
    /// A computation that fails (a constant, or a map on every input).
    MapFails,
    /// Float arithmetic of the chosen precision cannot resolve a gap.
    Precision,
    /// The compiler held more memory than its limit.
    Memory,
    /// Compiling took longer than the time limit, or was interrupted.
    Time,
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
    /// Advice for this error, where the kind's general advice does not fit.
    pub help: Option<String>,
}

impl CompileError {
    /// An error at a selector of the compile graph.
    pub fn at_selector(
        kind: CompileErrorKind,
        sel: &SelNode,
        message: String,
        help: Option<String>,
    ) -> CompileError {
        CompileError {
            kind,
            message,
            at: sel.origin.clone(),
            label: format!("`{}`", sel.label),
            help,
        }
    }

    /// An error at a node of the compile graph.
    pub fn at_node(
        kind: CompileErrorKind,
        node: &Node,
        message: String,
        help: Option<String>,
    ) -> CompileError {
        CompileError {
            kind,
            message,
            at: node.origin.clone(),
            label: format!("`{}`", node.label),
            help,
        }
    }

    /// A node whose possible values are too many to enumerate.
    pub fn too_large_values(node: &Node, size: usize) -> CompileError {
        CompileError::at_node(
            CompileErrorKind::TooLarge,
            node,
            format!(
                "the values `{}` can take are too many to list (more than {size} combinations)",
                node.label
            ),
            Some(
                "means of many different values over long inputs have very many values; a smaller `--max-len` or fewer distinct values shrinks them"
                    .into(),
            ),
        )
    }

    /// A map whose inputs take too many combinations of values.
    pub fn too_large_tuples(node: &Node, size: usize) -> CompileError {
        CompileError::at_node(
            CompileErrorKind::TooLarge,
            node,
            format!(
                "the values the inputs of `{}` can take together number {size}, more than the limit of {}",
                node.label,
                super::values::TUPLE_BUDGET
            ),
            Some(
                "a map of several attention results with many values each is a table of all their combinations; compute it in steps, or use a smaller `--max-len` or vocabulary"
                    .into(),
            ),
        )
    }

    /// A node that fails on every input: no model can compute it.
    pub fn fails_everywhere(node: &Node, why: String) -> CompileError {
        CompileError::at_node(
            CompileErrorKind::MapFails,
            node,
            format!("`{}` fails on every input: {why}", node.label),
            Some(
                "the interpreter rejects every input of this program; `rasp run` shows the error"
                    .into(),
            ),
        )
    }

    /// A map of constants that fails.
    pub fn constant_fails(node: &Node, err: MapError) -> CompileError {
        let kind: crate::eval::error::ErrorKind = err.into();
        CompileError::at_node(
            CompileErrorKind::MapFails,
            node,
            format!("this constant fails: {kind}"),
            None,
        )
    }

    /// The compiler's memory limit was reached.
    /// A budget run out while compiling: memory, time or an interrupt.
    pub fn exceeded(what: crate::memory::Exceeded) -> CompileError {
        match what {
            crate::memory::Exceeded::Memory(limit) => CompileError::memory(limit),
            other => CompileError {
                kind: CompileErrorKind::Time,
                message: format!("compiling ran {other}"),
                at: None,
                label: String::new(),
                help: None,
            },
        }
    }

    pub fn memory(limit: usize) -> CompileError {
        CompileError {
            kind: CompileErrorKind::Memory,
            message: format!(
                "compiling needs more than the memory limit of {} MiB",
                limit >> 20
            ),
            at: None,
            label: String::new(),
            help: Some(
                "a smaller `--max-len` or vocabulary shrinks what the compiler holds".into(),
            ),
        }
    }

    pub fn settings(message: impl Into<String>) -> CompileError {
        CompileError {
            kind: CompileErrorKind::BadSettings,
            message: message.into(),
            at: None,
            label: String::new(),
            help: None,
        }
    }

    /// A whole model over the size limit, shown at the node costing most.
    pub fn model_too_large(at: Option<Origin>, label: String, message: String) -> CompileError {
        CompileError {
            kind: CompileErrorKind::TooLarge,
            message,
            at,
            label,
            help: None,
        }
    }

    pub fn internal(message: &str) -> CompileError {
        CompileError {
            kind: CompileErrorKind::Internal,
            message: format!("internal compiler error: {message}"),
            at: None,
            label: String::new(),
            help: None,
        }
    }

    pub fn code_name(&self) -> &'static str {
        match self.kind {
            CompileErrorKind::TooLarge => "rasp::compile::too_large",
            CompileErrorKind::Unsupported => "rasp::compile::unsupported",
            CompileErrorKind::MapFails => "rasp::compile::map_fails",
            CompileErrorKind::Precision => "rasp::compile::precision",
            CompileErrorKind::Memory => "rasp::compile::memory",
            CompileErrorKind::Time => "rasp::compile::time",
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
        if let Some(help) = &self.help {
            return Some(Box::new(help));
        }
        let help = match self.kind {
            CompileErrorKind::TooLarge => {
                "a smaller `--max-len` or vocabulary shrinks value sets; so does splitting a map of many inputs into steps"
            }
            CompileErrorKind::Unsupported => {
                "a mean of numbers needs a numeric default (0 unless one is given)"
            }
            CompileErrorKind::BadSettings => "for example `--vocab a,b,c --max-len 8`",
            CompileErrorKind::Internal => "please report this with the program",
            CompileErrorKind::Precision => "`--dtype f64` writes a float64 model, which resolves far smaller gaps",
            CompileErrorKind::Time => "`--timeout` sets the limit (0 for none)",
            CompileErrorKind::MapFails | CompileErrorKind::Memory => return None,
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

/// What the compiler notes about a model it did build: a map that fails on
/// some of the values its inputs can take together (where the program has no
/// output, the model's is unspecified). Placed and labelled as a
/// [`CompileError`], with a warning's severity and its own code.
#[derive(Debug, Clone)]
pub struct CompileWarning(CompileError);

impl CompileWarning {
    /// A map that fails on some inputs; `example` names one failing case.
    pub fn partial_failure(node: &Node, example: &str) -> CompileWarning {
        CompileWarning(CompileError::at_node(
            CompileErrorKind::MapFails,
            node,
            format!(
                "`{}` fails on some values its inputs can take together ({example}): where \
                 an input reaches them the program has no output, and the model's is \
                 unspecified",
                node.label
            ),
            Some(
                "`rasp verify` counts such inputs as undefined; guard the map \
                 (`x if d != 0 else 0`) to give them an output"
                    .into(),
            ),
        ))
    }
}

impl fmt::Display for CompileWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for CompileWarning {}

impl Diagnostic for CompileWarning {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("rasp::compile::partial"))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Warning)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.help()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0.source_code()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.0.labels()
    }
}
