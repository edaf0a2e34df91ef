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
    // The inputs are freed by the worker, not by the caller's thread.
    interruptible(py, move |cancel| evaluate(prepared, sop, &inputs, cancel))
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
    let list = to_py(py, outcomes.iter().map(|o| o.as_ref()), errors, |py, e| {
        errors::eval_error(py, e)
    });
    free_later(outcomes);
    list
}

/// Drops a batch's results on a pool thread: freeing a million atoms is
/// work the caller need not wait for.
pub fn free_later<T: Send + 'static>(results: Vec<T>) {
    if results.len() >= BLOCK {
        rayon::spawn(move || drop(results));
    }
}

/// Python's cyclic garbage collector, paused while a batch's results are
/// made (hundreds of thousands of new lists would start it again and
/// again, each time walking every list made so far) and resumed when
/// dropped.
pub struct PausedGc<'py> {
    gc: Option<Bound<'py, PyAny>>,
}

impl<'py> PausedGc<'py> {
    pub fn new(py: Python<'py>, items: usize) -> PyResult<PausedGc<'py>> {
        if items < BLOCK {
            return Ok(PausedGc { gc: None });
        }
        let gc = py.import("gc")?.into_any();
        if !gc.call_method0("isenabled")?.is_truthy()? {
            return Ok(PausedGc { gc: None });
        }
        gc.call_method0("disable")?;
        Ok(PausedGc { gc: Some(gc) })
    }
}

impl Drop for PausedGc<'_> {
    fn drop(&mut self) {
        if let Some(gc) = &self.gc {
            let _ = gc.call_method0("enable");
        }
    }
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
    let _paused = PausedGc::new(py, outcomes.size_hint().0)?;
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
