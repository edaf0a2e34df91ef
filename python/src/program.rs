//! `rasp.Program`: a program run once, its top-level names kept.
//!
//! The interpreter runs the program on a worker thread (its values are not
//! thread-safe; the s-op graph is), and what the program binds at top level
//! is kept: s-ops and selectors as graph nodes any thread can evaluate, other
//! values as data and as the REPL shows them. The s-op a program runs by
//! default is the one `rasp run` picks: the last s-op it bound or showed at
//! top level. `draw(...)` statements draw nothing here (`SOp.draw` does);
//! `set example` sets the running example.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use rasp::compile::{compile_noting, CompileOptions};
use rasp::eval::atom::Atom;
use rasp::eval::sop::{SOp, Selector};
use rasp::eval::value::Value;
use rasp::eval::{Event, Interpreter};
use rasp::repl::show::{value_lines, Display};
use rasp::syntax::span::source;

use crate::convert::{self, Mirror};
use crate::errors;
use crate::model::PyModel;
use crate::objects::{Example, Prepared, PySOp, PySelector, PyValue};
use crate::runs::{self, Errors};
use crate::work::interruptible;

/// What a top-level name is bound to.
#[derive(Clone)]
enum Binding {
    SOp(SOp),
    Selector(Selector),
    Other {
        kind: String,
        lines: String,
        mirror: Mirror,
    },
}

/// The REPL's text of a value is kept up to this many characters.
const MAX_SHOWN: usize = 100_000;

/// What running a program leaves.
struct Ran {
    names: Vec<(String, Binding)>,
    default: Option<(String, SOp)>,
    example: Option<Example>,
}

/// Runs `text` (named `name`, `load`ing from `dir`) in a fresh interpreter.
fn run_program(name: &str, text: &str, dir: Option<&Path>) -> Result<Ran, rasp::Error> {
    let mut interp = Interpreter::new()?;
    let src = source(name, text.to_string());
    let display = Display::new(rasp::repl::Example::hello());
    let mut names: Vec<(String, Binding)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut default = None;
    let mut example = None;
    interp.run(&src, dir, &mut |event| match event {
        Event::Value { value, .. } => {
            if let Value::SOp(s) = value {
                default = Some((s.label(), s));
            }
        }
        Event::Assigned(bound) => {
            for (name, value) in bound {
                let name = name.to_string();
                let binding = match &value {
                    Value::SOp(s) => {
                        default = Some((name.clone(), s.clone()));
                        Binding::SOp(s.clone())
                    }
                    Value::Selector(s) => Binding::Selector(s.clone()),
                    other => {
                        let mut lines = value_lines(&display, Some(&name), other, true);
                        if lines.len() > MAX_SHOWN {
                            let cut = (0..=MAX_SHOWN)
                                .rev()
                                .find(|&i| lines.is_char_boundary(i))
                                .unwrap_or(0);
                            lines.truncate(cut);
                            lines.push_str("…\n");
                        }
                        Binding::Other {
                            kind: other.kind_name().to_string(),
                            lines,
                            mirror: Mirror::of(other),
                        }
                    }
                };
                match index.get(&name) {
                    Some(&i) => names[i].1 = binding,
                    None => {
                        index.insert(name.clone(), names.len());
                        names.push((name, binding));
                    }
                }
            }
        }
        Event::SetExample {
            subset,
            value,
            atoms,
        } => {
            if subset.sops() {
                example = Some(Example::of_value(&value, atoms));
            }
        }
        Event::Draw { .. } | Event::Command(_) => {}
    })?;
    Ok(Ran {
        names,
        default,
        example,
    })
}

/// A RASP program, run once; its top-level names are kept.
#[pyclass(frozen, module = "rasp", name = "Program")]
pub struct Program {
    text: String,
    name: String,
    path: Option<PathBuf>,
    names: Vec<(String, Binding)>,
    default: Option<(String, SOp)>,
    example: Mutex<Example>,
    prepared: Arc<Prepared>,
}

impl Program {
    fn start(py: Python<'_>, text: String, name: String, path: Option<PathBuf>) -> PyResult<Self> {
        let dir = path.as_deref().and_then(Path::parent);
        let ran = interruptible(py, |_| run_program(&name, &text, dir))?
            .map_err(|e| errors::error(py, &e))?;
        Ok(Program {
            text,
            name,
            path,
            names: ran.names,
            default: ran.default,
            example: Mutex::new(ran.example.unwrap_or_else(Example::hello)),
            prepared: Arc::new(Prepared::default()),
        })
    }

    /// The program of a model's record (its `source`).
    pub fn from_source(py: Python<'_>, text: &str) -> PyResult<Self> {
        Program::start(py, text.to_string(), "<model source>".to_string(), None)
    }

    /// The s-op a model names: a top-level name, or the label of the
    /// program's default s-op.
    pub fn sop_named(&self, py: Python<'_>, name: &str) -> PyResult<SOp> {
        match (self.binding(name), &self.default) {
            (Some(Binding::SOp(sop)), _) => Ok(sop.clone()),
            (_, Some((label, sop))) if label == name => Ok(sop.clone()),
            _ => Err(errors::usage(
                py,
                "rasp::python::not_an_sop",
                &format!("the program binds no s-op `{name}` to compare the model with"),
            )),
        }
    }

    fn example(&self) -> Example {
        self.example
            .lock()
            .map(|e| e.clone())
            .unwrap_or_else(|_| Example::hello())
    }

    fn binding(&self, name: &str) -> Option<&Binding> {
        self.names.iter().find(|(n, _)| n == name).map(|(_, b)| b)
    }

    /// The s-op `sop` names: `None` for the default, a name, or an `SOp`.
    fn pick(&self, py: Python<'_>, sop: Option<&Bound<'_, PyAny>>) -> PyResult<(String, SOp)> {
        let Some(sop) = sop else {
            return self.default.clone().ok_or_else(|| {
                errors::usage(
                    py,
                    "rasp::python::no_sop",
                    &format!("`{}` defines no s-op to run: assign one at top level, as in `result = reverse(tokens);`", self.name),
                )
            });
        };
        if let Ok(object) = sop.cast::<PySOp>() {
            let object = object.get();
            return Ok((object.name.clone(), object.sop.clone()));
        }
        let name = sop.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err("sop is the name of an s-op (a str), an SOp or None")
        })?;
        let name = name.to_cow()?.into_owned();
        let what = match self.binding(&name) {
            Some(Binding::SOp(s)) => return Ok((name, s.clone())),
            Some(Binding::Selector(_)) => "a selector".to_string(),
            Some(Binding::Other { kind, .. }) => format!("a value of type {kind}"),
            None => "not defined".to_string(),
        };
        Err(errors::usage(
            py,
            "rasp::python::not_an_sop",
            &format!("`{name}` is {what}, not an s-op of the program"),
        ))
    }
}

#[pymethods]
impl Program {
    #[new]
    #[pyo3(signature = (source, name = "<program>"))]
    fn new(py: Python<'_>, source: String, name: &str) -> PyResult<Self> {
        Program::start(py, source, name.to_string(), None)
    }

    /// A program read from a file (`load` statements look beside it).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let text = rasp::files::read_program(&path).map_err(|e| {
            errors::usage(
                py,
                "rasp::python::read_file",
                &format!("cannot read `{}`: {e}", path.display()),
            )
        })?;
        Program::start(py, text, path.display().to_string(), Some(path))
    }

    #[getter]
    fn source(&self) -> &str {
        &self.text
    }

    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    /// The s-op `run` runs when given none.
    #[getter]
    fn default_sop(&self) -> Option<&str> {
        self.default.as_ref().map(|(name, _)| name.as_str())
    }

    /// The names of the s-ops the program binds at top level, in order.
    fn sops(&self) -> Vec<String> {
        self.names
            .iter()
            .filter(|(_, b)| matches!(b, Binding::SOp(_)))
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Every name the program binds at top level, in order.
    fn names(&self) -> Vec<String> {
        self.names.iter().map(|(n, _)| n.clone()).collect()
    }

    fn __contains__(&self, name: &str) -> bool {
        self.binding(name).is_some()
    }

    fn __getitem__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let binding = self
            .binding(name)
            .ok_or_else(|| PyKeyError::new_err(name.to_string()))?;
        let example = self.example();
        Ok(match binding.clone() {
            Binding::SOp(sop) => {
                let object = PySOp::new(sop, name.to_string(), example, self.prepared.clone());
                Bound::new(py, object)?.into_any()
            }
            Binding::Selector(selector) => Bound::new(
                py,
                PySelector {
                    selector,
                    name: name.to_string(),
                    example: Mutex::new(example),
                },
            )?
            .into_any(),
            Binding::Other {
                kind,
                lines,
                mirror,
            } => Bound::new(
                py,
                PyValue {
                    name: name.to_string(),
                    kind,
                    lines,
                    mirror,
                },
            )?
            .into_any(),
        })
    }

    /// The running example s-ops and selectors are shown on.
    #[getter]
    fn get_example<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        convert::atoms_to_py(py, &self.example().atoms)
    }

    #[setter]
    fn set_example(&self, input: &Bound<'_, PyAny>) -> PyResult<()> {
        let new = Example::of_input(&convert::input(input)?);
        if new.atoms.is_empty() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "the running example cannot be empty",
            ));
        }
        if let Ok(mut example) = self.example.lock() {
            *example = new;
        }
        Ok(())
    }

    /// The s-op's values on one input.
    #[pyo3(signature = (input, sop = None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        input: &Bound<'py, PyAny>,
        sop: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let (_, sop) = self.pick(py, sop)?;
        runs::run_one(py, &self.prepared, &sop, convert::input(input)?)
    }

    /// The s-op's values on every input, in one call on all cores.
    #[pyo3(signature = (inputs, sop = None, errors = "raise"))]
    fn run_many<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
        sop: Option<&Bound<'py, PyAny>>,
        errors: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let errors = Errors::parse(errors)?;
        let (_, sop) = self.pick(py, sop)?;
        runs::run_many(py, &self.prepared, &sop, convert::inputs(inputs)?, errors)
    }

    /// The s-op compiled to a transformer for inputs over `vocab` of
    /// lengths 1 to `max_len`.
    #[pyo3(signature = (vocab, max_len, sop = None, dtype = "f32"))]
    fn compile(
        &self,
        py: Python<'_>,
        vocab: &Bound<'_, PyAny>,
        max_len: usize,
        sop: Option<&Bound<'_, PyAny>>,
        dtype: &str,
    ) -> PyResult<PyModel> {
        let (name, sop) = self.pick(py, sop)?;
        let vocab = vocabulary(py, vocab)?;
        let options = CompileOptions {
            dtype: crate::model::parse_dtype(dtype)?,
        };
        let text = &self.text;
        let compiled = interruptible(py, |_| {
            compile_noting(&sop, &name, text, &vocab, max_len, &options)
        })?;
        let (model, warnings) = compiled.map_err(|e| errors::compile_error(py, &e))?;
        for warning in &warnings {
            errors::warn(py, warning)?;
        }
        Ok(PyModel::new(model, Some(sop)))
    }

    fn __repr__(&self) -> String {
        let default = self
            .default
            .as_ref()
            .map_or_else(String::new, |(n, _)| format!(", default {n}"));
        format!(
            "<rasp.Program {}: s-ops {:?}{default}>",
            self.name,
            self.sops()
        )
    }
}

/// A vocabulary: a list of tokens, or text as `--vocab` takes it (`a,b,c`,
/// `[1, 2, 3]`).
fn vocabulary(py: Python<'_>, vocab: &Bound<'_, PyAny>) -> PyResult<Vec<Atom>> {
    if let Ok(text) = vocab.cast::<PyString>() {
        return Interpreter::parse_vocab(&text.to_cow()?).map_err(|e| errors::error(py, &e));
    }
    let items = vocab.try_iter().map_err(|_| {
        PyTypeError::new_err("a vocabulary is a list of tokens or a str such as \"a,b,c\"")
    })?;
    items.map(|item| convert::atom(&item?)).collect()
}
