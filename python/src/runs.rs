//! Running an s-op on inputs from Python: one input, or a batch in one
//! call, spread over every core as `rasp run` spreads it
//! ([`rasp::eval::batch::run_batch`]), with the GIL released and Ctrl-C
//! stopping it.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use rasp::eval::atom::Atom;
use rasp::eval::batch::{out_of_memory, run_batch};
use rasp::eval::error::EvalError;
use rasp::eval::sop::SOp;

use crate::convert::{atoms_to_py, Input};
use crate::errors;
use crate::objects::Prepared;
use crate::work::{interruptible, Cancel};

/// Inputs taken at a time: run in parallel, then the next block unless
/// Ctrl-C was pressed.
pub const BLOCK: usize = 4096;

/// What a batch does with an input that fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errors {
    /// Raise the first failure (in input order), with its `index`.
    Raise,
    /// Put the exception in the input's place in the results.
    Return,
}

impl Errors {
    pub fn parse(text: &str) -> PyResult<Errors> {
        match text {
            "raise" => Ok(Errors::Raise),
            "return" => Ok(Errors::Return),
            other => Err(PyValueError::new_err(format!(
                "errors is \"raise\" or \"return\", not {other:?}"
            ))),
        }
    }
}

/// The outcome of one input.
pub type Outcome = Result<Vec<Atom>, EvalError>;

/// Runs the s-op on every input, in blocks, on all cores.
fn evaluate(prepared: &Prepared, sop: &SOp, inputs: &[Input], cancel: &Cancel) -> Vec<Outcome> {
    let prepared = prepared.get(sop);
    let mut outcomes = Vec::with_capacity(inputs.len());
    for block in inputs.chunks(BLOCK) {
        if cancel.is_set() {
            break;
        }
        outcomes.extend(run_batch(block, |input| {
            match prepared.eval(&input.atoms()) {
                Ok(seq) => (Ok(seq.values), false),
                Err(e) => {
                    let memory = out_of_memory(&e);
                    (Err(e.on_input(&input.shown())), memory)
                }
            }
        }));
    }
    outcomes
}

/// Runs the s-op on every input off the GIL; Ctrl-C raises
/// `KeyboardInterrupt` (and forgets the evaluation orders worked out
/// meanwhile).
pub fn outcomes(
    py: Python<'_>,
    prepared: &Prepared,
    sop: &SOp,
    inputs: Vec<Input>,
) -> PyResult<Vec<Outcome>> {
    interruptible(py, |cancel| evaluate(prepared, sop, &inputs, cancel))
        .inspect_err(|_| prepared.clear())
}

/// One input's values, or its error raised.
pub fn run_one<'py>(
    py: Python<'py>,
    prepared: &Prepared,
    sop: &SOp,
    input: Input,
) -> PyResult<Bound<'py, PyList>> {
    let outcome = outcomes(py, prepared, sop, vec![input])?.pop();
    match outcome {
        Some(Ok(values)) => atoms_to_py(py, &values),
        Some(Err(e)) => Err(errors::eval_error(py, &e)),
        None => Err(errors::internal(py, "no outcome for the input")),
    }
}

/// Every input's values, in order; failures as `errors` says.
pub fn run_many<'py>(
    py: Python<'py>,
    prepared: &Prepared,
    sop: &SOp,
    inputs: Vec<Input>,
    errors: Errors,
) -> PyResult<Bound<'py, PyList>> {
    let outcomes = outcomes(py, prepared, sop, inputs)?;
    to_py(py, outcomes.iter().map(|o| o.as_ref()), errors, |py, e| {
        errors::eval_error(py, e)
    })
}

/// Outcomes as a Python list: each a list of values, or the exception
/// (`errors="return"`), or the first failure raised with its `index`.
pub fn to_py<'py, 'a, E: 'a>(
    py: Python<'py>,
    outcomes: impl Iterator<Item = Result<&'a Vec<Atom>, &'a E>>,
    errors: Errors,
    exception: impl Fn(Python<'py>, &E) -> PyErr,
) -> PyResult<Bound<'py, PyList>> {
    let mut items = Vec::new();
    for (index, outcome) in outcomes.enumerate() {
        match outcome {
            Ok(values) => items.push(atoms_to_py(py, values)?.into_any()),
            Err(e) => {
                let error = exception(py, e);
                if error.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) {
                    return Err(error);
                }
                let value = error.value(py);
                value.setattr("index", index)?;
                match errors {
                    Errors::Raise => return Err(error),
                    Errors::Return => items.push(value.clone().into_any()),
                }
            }
        }
    }
    PyList::new(py, items)
}
