//! Diagnostics as Python exceptions.
//!
//! Every error the library reports is a miette diagnostic; here it becomes an
//! instance of a class of `rasp.errors` (a Python module, so that the
//! hierarchy is documented and subclassable there) carrying the diagnostic's
//! code, message, help, primary span (byte offsets into its source, with the
//! source's name and the 1-based line and column) and its rendering without
//! colour, as `rasp` prints it. An evaluation stopped by Ctrl-C is raised as
//! `KeyboardInterrupt`.

use miette::Diagnostic;
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use rasp::compile::{CompileError, CompileWarning};
use rasp::draw::DrawError;
use rasp::eval::error::{ErrorKind, EvalError};
use rasp::memory::Exceeded;
use rasp::model::ModelError;

/// The exception classes of `rasp.errors`, by what raised them.
#[derive(Clone, Copy, Debug)]
pub enum Class {
    /// The base class, for errors of the binding itself.
    Rasp,
    Syntax,
    Evaluation,
    /// An evaluation past a time or memory limit (a subclass of
    /// `EvaluationError`).
    Limit,
    Compile,
    Model,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Rasp => "RaspError",
            Class::Syntax => "RaspSyntaxError",
            Class::Evaluation => "EvaluationError",
            Class::Limit => "LimitError",
            Class::Compile => "CompileError",
            Class::Model => "ModelError",
        }
    }
}

/// Where a diagnostic points: its primary label.
struct Place {
    start: usize,
    end: usize,
    source_name: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
}

fn place(diagnostic: &dyn Diagnostic) -> Option<Place> {
    let labels: Vec<miette::LabeledSpan> = diagnostic.labels()?.collect();
    let label = labels
        .iter()
        .find(|l| l.primary())
        .or_else(|| labels.first())?;
    let (start, end) = (label.offset(), label.offset() + label.len());
    let contents = diagnostic
        .source_code()
        .and_then(|code| code.read_span(label.inner(), 0, 0).ok());
    Some(Place {
        start,
        end,
        source_name: contents.as_ref().and_then(|c| c.name().map(str::to_string)),
        line: contents.as_ref().map(|c| c.line() + 1),
        column: contents.as_ref().map(|c| c.column() + 1),
    })
}

/// The exception of `class` for `diagnostic`.
pub fn raise(py: Python<'_>, class: Class, diagnostic: &dyn Diagnostic) -> PyErr {
    build(py, class, diagnostic).unwrap_or_else(|failed| failed)
}

fn build(py: Python<'_>, class: Class, diagnostic: &dyn Diagnostic) -> PyResult<PyErr> {
    let kwargs = fields(py, diagnostic)?;
    let class = py.import("rasp.errors")?.getattr(class.name())?;
    let value = class.call((diagnostic.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(value))
}

/// The keyword arguments of `rasp.errors.RaspError` for a diagnostic.
fn fields<'py>(py: Python<'py>, diagnostic: &dyn Diagnostic) -> PyResult<Bound<'py, PyDict>> {
    let kwargs = PyDict::new(py);
    let code = diagnostic.code().map(|c| c.to_string());
    kwargs.set_item("code", code)?;
    kwargs.set_item("help", diagnostic.help().map(|h| h.to_string()))?;
    kwargs.set_item("rendered", rasp::diagnostics::render(diagnostic, false))?;
    let place = place(diagnostic);
    kwargs.set_item("span", place.as_ref().map(|p| (p.start, p.end)))?;
    kwargs.set_item(
        "source_name",
        place.as_ref().and_then(|p| p.source_name.clone()),
    )?;
    kwargs.set_item("line", place.as_ref().and_then(|p| p.line))?;
    kwargs.set_item("column", place.as_ref().and_then(|p| p.column))?;
    Ok(kwargs)
}

/// An error of the binding itself (a bug): `rasp.RaspError` with the code
/// `rasp::python::internal`.
pub fn internal(py: Python<'_>, message: &str) -> PyErr {
    let built = (|| -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("code", "rasp::python::internal")?;
        kwargs.set_item("rendered", format!("error: internal: {message}\n"))?;
        let class = py.import("rasp.errors")?.getattr("RaspError")?;
        let value = class.call((format!("internal: {message}"),), Some(&kwargs))?;
        Ok(PyErr::from_value(value))
    })();
    built.unwrap_or_else(|_| PyRuntimeError::new_err(format!("rasp: internal: {message}")))
}

/// A usage error found by the binding (a name that is not an s-op, an
/// unknown option): `rasp.RaspError` with `code`.
pub fn usage(py: Python<'_>, code: &str, message: &str) -> PyErr {
    let built = (|| -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("code", code)?;
        kwargs.set_item("rendered", format!("{code}\n\n  × {message}\n"))?;
        let class = py.import("rasp.errors")?.getattr("RaspError")?;
        let value = class.call((message,), Some(&kwargs))?;
        Ok(PyErr::from_value(value))
    })();
    built.unwrap_or_else(|e| e)
}

/// Whether an evaluation was stopped by Ctrl-C.
pub fn interrupted(error: &EvalError) -> bool {
    matches!(error.kind, ErrorKind::Budget(Exceeded::Interrupted))
}

/// An evaluation error: `KeyboardInterrupt` when Ctrl-C stopped it,
/// `LimitError` past a limit, else `EvaluationError`.
pub fn eval_error(py: Python<'_>, error: &EvalError) -> PyErr {
    if interrupted(error) {
        return PyKeyboardInterrupt::new_err(());
    }
    let class = match error.code_name() {
        "rasp::eval::limit" => Class::Limit,
        _ => Class::Evaluation,
    };
    raise(py, class, error)
}

/// Any error of the language's phases.
pub fn error(py: Python<'_>, error: &rasp::Error) -> PyErr {
    match error {
        rasp::Error::Syntax(e) => raise(py, Class::Syntax, e),
        rasp::Error::Eval(e) => eval_error(py, e),
    }
}

pub fn compile_error(py: Python<'_>, error: &CompileError) -> PyErr {
    raise(py, Class::Compile, error)
}

pub fn model_error(py: Python<'_>, error: &ModelError) -> PyErr {
    raise(py, Class::Model, error)
}

pub fn draw_error(py: Python<'_>, error: &DrawError) -> PyErr {
    match error {
        DrawError::Eval(e) => eval_error(py, e),
        other => raise(py, Class::Rasp, other),
    }
}

/// Issues a compiler warning as a Python warning of class
/// `rasp.errors.CompileWarning`, with the same fields as an error.
pub fn warn(py: Python<'_>, warning: &CompileWarning) -> PyResult<()> {
    let kwargs = fields(py, warning)?;
    let class = py.import("rasp.errors")?.getattr("CompileWarning")?;
    let value = class.call((warning.to_string(),), Some(&kwargs))?;
    py.import("warnings")?.call_method1("warn", (value, 2))?;
    Ok(())
}
