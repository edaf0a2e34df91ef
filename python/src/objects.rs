//! What a program binds, as Python objects: `rasp.SOp`, `rasp.Selector`
//! and `rasp.Value`, each shown as the REPL shows it (`repr`) and in a
//! notebook (`_repr_html_`, drawn by `rasp._display` from the data these
//! classes give), on the running example.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use rasp::eval::atom::Atom;
use rasp::eval::print::sequence_typed;
use rasp::eval::run::{eval_selector, PreparedSOp};
use rasp::eval::sop::{NodeId, SOp, Selector};
use rasp::eval::value::Value;
use rasp::repl::show::{value_lines, Display};

use crate::convert::{self, atoms_to_py, Input, Mirror};
use crate::errors;
use crate::runs::{self, Errors};
use crate::work::interruptible;

/// The running example: the input s-ops and selectors are shown on.
#[derive(Clone, Debug)]
pub struct Example {
    pub atoms: Vec<Atom>,
    /// The string it was given as, if it was one.
    text: Option<String>,
}

impl Example {
    /// The REPL's first example, `"hello"`.
    pub fn hello() -> Example {
        Example::of_input(&Input::Text("hello".into()))
    }

    pub fn of_input(input: &Input) -> Example {
        Example {
            atoms: input.atoms(),
            text: match input {
                Input::Text(text) => Some(text.clone()),
                Input::Atoms(_) => None,
            },
        }
    }

    /// The example of the REPL's `set example` (a string or a list).
    pub fn of_value(value: &Value, atoms: Vec<Atom>) -> Example {
        let text = match value {
            Value::Atom(Atom::Str(s)) => Some(s.to_string()),
            _ => None,
        };
        Example { atoms, text }
    }

    /// The example as the REPL holds it (built here: its values are not
    /// thread-safe).
    fn to_repl(&self) -> rasp::repl::Example {
        let value = match &self.text {
            Some(text) => Value::Atom(Atom::str(text)),
            None => Value::list(self.atoms.iter().cloned().map(Value::Atom).collect()),
        };
        rasp::repl::Example {
            value,
            atoms: self.atoms.clone(),
        }
    }

    /// `"hello"`, `[1, 2, 3]`.
    fn text(&self) -> String {
        self.to_repl().text()
    }
}

/// Each s-op's evaluation order, worked out once and shared by every
/// object of one program.
#[derive(Default)]
pub struct Prepared(Mutex<HashMap<NodeId, Arc<PreparedSOp>>>);

impl Prepared {
    pub fn get(&self, sop: &SOp) -> Arc<PreparedSOp> {
        let Ok(mut cache) = self.0.lock() else {
            return Arc::new(PreparedSOp::new(sop));
        };
        cache
            .entry(sop.id())
            .or_insert_with(|| Arc::new(PreparedSOp::new(sop)))
            .clone()
    }

    /// Forgets every order: one worked out while Ctrl-C stopped the work
    /// holds that error.
    pub fn clear(&self) {
        if let Ok(mut cache) = self.0.lock() {
            cache.clear();
        }
    }
}

/// The REPL's lines for a value, without their common indentation.
fn dedented(lines: &str) -> String {
    let indent = lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let out: Vec<&str> = lines
        .lines()
        .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
        .collect();
    out.join("\n")
}

/// The example of `input`, or `example` when it is `None`.
fn example_or(input: Option<&Bound<'_, PyAny>>, example: &Mutex<Example>) -> PyResult<Example> {
    match input {
        Some(object) => Ok(Example::of_input(&convert::input(object)?)),
        None => Ok(current(example)),
    }
}

fn current(example: &Mutex<Example>) -> Example {
    example
        .lock()
        .map(|e| e.clone())
        .unwrap_or_else(|_| Example::hello())
}

fn set_example(example: &Mutex<Example>, object: &Bound<'_, PyAny>) -> PyResult<()> {
    let new = Example::of_input(&convert::input(object)?);
    if new.atoms.is_empty() {
        return Err(PyValueError::new_err("the running example cannot be empty"));
    }
    if let Ok(mut held) = example.lock() {
        *held = new;
    }
    Ok(())
}

/// Atoms as a sequence prints them: strings bare, bools `T`/`F`, floats
/// to 3 decimals.
fn shorts(atoms: &[Atom]) -> Vec<String> {
    atoms.iter().map(Atom::short).collect()
}

/// An s-op: a sequence operation, run on inputs.
#[pyclass(frozen, module = "rasp", name = "SOp")]
pub struct PySOp {
    pub sop: SOp,
    pub name: String,
    pub example: Mutex<Example>,
    pub prepared: Arc<Prepared>,
}

impl PySOp {
    pub fn new(sop: SOp, name: String, example: Example, prepared: Arc<Prepared>) -> PySOp {
        PySOp {
            sop,
            name,
            example: Mutex::new(example),
            prepared,
        }
    }
}

#[pymethods]
impl PySOp {
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The running example the object is shown on.
    #[getter]
    fn get_example<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        atoms_to_py(py, &current(&self.example).atoms)
    }

    #[setter]
    fn set_example(&self, input: &Bound<'_, PyAny>) -> PyResult<()> {
        set_example(&self.example, input)
    }

    /// The s-op's values on one input.
    fn run<'py>(&self, py: Python<'py>, input: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        runs::run_one(py, &self.prepared, &self.sop, convert::input(input)?)
    }

    fn __call__<'py>(
        &self,
        py: Python<'py>,
        input: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.run(py, input)
    }

    #[pyo3(signature = (inputs, errors = "raise"))]
    fn run_many<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
        errors: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let errors = Errors::parse(errors)?;
        runs::run_many(
            py,
            &self.prepared,
            &self.sop,
            convert::inputs(inputs)?,
            errors,
        )
    }

    /// The paper's layers and heads, as `rasp analyze --json` gives them.
    fn analyze<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (sop, name) = (&self.sop, &self.name);
        let json = py.detach(|| rasp::analyze::analyze(sop, name).to_json());
        convert::json_to_py(py, &json)
    }

    /// The drawing of `rasp draw` on `input` (default: the running example).
    #[pyo3(signature = (input = None, format = "svg"))]
    fn draw<'py>(
        &self,
        py: Python<'py>,
        input: Option<&Bound<'py, PyAny>>,
        format: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let format = match format {
            "svg" => rasp::draw::Format::Svg,
            "dot" => rasp::draw::Format::Dot,
            other => {
                return Err(PyValueError::new_err(format!(
                    "a drawing's format is \"svg\" or \"dot\", not {other:?}"
                )))
            }
        };
        let example = example_or(input, &self.example)?;
        let (sop, name) = (&self.sop, &self.name);
        let drawn = interruptible(py, |_| {
            rasp::draw::flow(sop, name, &example.atoms, None).map(|flow| format.render(&flow))
        })?;
        let text = drawn.map_err(|e| errors::draw_error(py, &e))?;
        let drawing = py.import("rasp._display")?.getattr("Drawing")?;
        let file = rasp::draw::default_path(&self.name, format);
        drawing.call1((text, format.extension(), &self.name, file))
    }

    /// What a notebook shows: the s-op on the running example.
    fn _example_data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let example = current(&self.example);
        let prepared = self.prepared.get(&self.sop);
        let result = interruptible(py, |_| prepared.eval(&example.atoms))
            .inspect_err(|_| self.prepared.clear())?;
        let data = PyDict::new(py);
        data.set_item("kind", "s-op")?;
        data.set_item("name", &self.name)?;
        data.set_item("example", example.text())?;
        data.set_item("input", atoms_to_py(py, &example.atoms)?)?;
        data.set_item("labels", shorts(&example.atoms))?;
        match result {
            Ok(seq) => {
                data.set_item("output", atoms_to_py(py, &seq.values)?)?;
                data.set_item("cells", shorts(&seq.values))?;
                data.set_item("type", seq.ty.plural())?;
                data.set_item("text", sequence_typed(&seq))?;
            }
            Err(e) => {
                let e = errors::eval_error(py, &e);
                data.set_item("error", e.value(py))?;
            }
        }
        Ok(data)
    }

    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        py.import("rasp._display")?
            .getattr("example_html")?
            .call1((slf.call_method0("_example_data")?,))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let example = current(&self.example);
        let (sop, name) = (&self.sop, &self.name);
        interruptible(py, |_| {
            let display = Display::new(example.to_repl());
            dedented(&value_lines(
                &display,
                Some(name),
                &Value::SOp(sop.clone()),
                true,
            ))
        })
    }
}

/// A selector: which keys each query selects.
#[pyclass(frozen, module = "rasp", name = "Selector")]
pub struct PySelector {
    pub selector: Selector,
    pub name: String,
    pub example: Mutex<Example>,
}

#[pymethods]
impl PySelector {
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The running example the object is shown on.
    #[getter]
    fn get_example<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        atoms_to_py(py, &current(&self.example).atoms)
    }

    #[setter]
    fn set_example(&self, input: &Bound<'_, PyAny>) -> PyResult<()> {
        set_example(&self.example, input)
    }

    /// The selection on `input` (default: the running example): one row
    /// per query, `True` where it selects the key.
    #[pyo3(signature = (input = None))]
    fn matrix(&self, py: Python<'_>, input: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Vec<bool>>> {
        let example = example_or(input, &self.example)?;
        let selector = &self.selector;
        let selection = interruptible(py, |_| eval_selector(selector, &example.atoms))?
            .map_err(|e| errors::eval_error(py, &e))?;
        let n = selection.len();
        Ok((0..n)
            .map(|q| (0..n).map(|k| selection.get(q, k)).collect())
            .collect())
    }

    fn _example_data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let example = current(&self.example);
        let data = PyDict::new(py);
        data.set_item("kind", "selector")?;
        data.set_item("name", &self.name)?;
        data.set_item("example", example.text())?;
        data.set_item("input", atoms_to_py(py, &example.atoms)?)?;
        data.set_item("labels", shorts(&example.atoms))?;
        match self.matrix(py, None) {
            Ok(rows) => data.set_item("matrix", rows)?,
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) => {
                return Err(e)
            }
            Err(e) => data.set_item("error", e.value(py))?,
        }
        Ok(data)
    }

    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        py.import("rasp._display")?
            .getattr("example_html")?
            .call1((slf.call_method0("_example_data")?,))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let example = current(&self.example);
        let (selector, name) = (&self.selector, &self.name);
        interruptible(py, |_| {
            let display = Display::new(example.to_repl());
            let value = Value::Selector(selector.clone());
            dedented(&value_lines(&display, Some(name), &value, true))
        })
    }
}

/// Any other value a program binds: an atom, a list, a dict, a function.
#[pyclass(frozen, module = "rasp", name = "Value")]
pub struct PyValue {
    pub name: String,
    /// `int`, `list`, `function`, ...
    pub kind: String,
    /// What the REPL prints for it.
    pub lines: String,
    pub mirror: Mirror,
}

#[pymethods]
impl PyValue {
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    #[getter]
    fn kind(&self) -> &str {
        &self.kind
    }

    /// The value as Python data (`None` for a function).
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.mirror.to_py(py)
    }

    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let text = dedented(&slf.get().lines);
        py.import("rasp._display")?
            .getattr("text_html")?
            .call1((text,))
    }

    fn __repr__(&self) -> String {
        dedented(&self.lines)
    }
}
