//! Values between Python and the library: inputs in, atoms and JSON out.
//!
//! An input is a Python `str` (its characters are the tokens, as `rasp run`
//! reads a plain string) or any other iterable of atoms: `str`, `int`
//! (64 bits), `float`, `bool` (and NumPy's scalars, which convert the same
//! way). Atoms come back as the interpreter's real types: `str`, `int`,
//! `float`, `bool`.

use std::sync::Arc;

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

use rasp::eval::atom::Atom;
use rasp::eval::value::Value;

/// One input, as read from Python.
pub enum Input {
    /// A string, split into characters when it is used (off the GIL).
    Text(String),
    Atoms(Vec<Atom>),
}

impl Input {
    /// The input's tokens.
    pub fn atoms(&self) -> Vec<Atom> {
        match self {
            Input::Text(text) => chars(text),
            Input::Atoms(atoms) => atoms.clone(),
        }
    }

    /// How the input is shown in an error message: the string, or the
    /// list as `rasp run` reads one.
    pub fn shown(&self) -> String {
        match self {
            Input::Text(text) => text.clone(),
            Input::Atoms(atoms) => {
                let items: Vec<String> = atoms.iter().map(Atom::repr).collect();
                format!("[{}]", items.join(", "))
            }
        }
    }
}

/// A string's characters as string atoms. ASCII characters share one
/// atom per thread (a batch's millions of tokens are mostly a few letters:
/// a reference count beats an allocation each).
pub fn chars(text: &str) -> Vec<Atom> {
    thread_local! {
        static ASCII: Vec<Atom> = (0u8..128)
            .map(|b| Atom::Str(Arc::from(&*char::from(b).to_string())))
            .collect();
    }
    ASCII.with(|ascii| {
        let mut buf = [0u8; 4];
        text.chars()
            .map(|c| match ascii.get(c as usize) {
                Some(atom) => atom.clone(),
                None => Atom::Str(Arc::from(&*c.encode_utf8(&mut buf))),
            })
            .collect()
    })
}

/// An input from a Python object.
pub fn input(object: &Bound<'_, PyAny>) -> PyResult<Input> {
    if let Ok(text) = object.cast::<PyString>() {
        return Ok(Input::Text(text.to_cow()?.into_owned()));
    }
    let items = object.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "an input is a str or a list of atoms (str, int, float, bool), not {}",
            type_name(object)
        ))
    })?;
    let mut atoms = Vec::new();
    for item in items {
        atoms.push(atom(&item?)?);
    }
    Ok(Input::Atoms(atoms))
}

/// Every input of an iterable of inputs.
pub fn inputs(objects: &Bound<'_, PyAny>) -> PyResult<Vec<Input>> {
    if objects.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "a batch of inputs is a list of inputs, not one str (give [text] for one input)",
        ));
    }
    let items = objects.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "a batch of inputs is an iterable of inputs, not {}",
            type_name(objects)
        ))
    })?;
    items.map(|item| input(&item?)).collect()
}

/// An atom from a Python object.
pub fn atom(object: &Bound<'_, PyAny>) -> PyResult<Atom> {
    if let Ok(b) = object.cast::<PyBool>() {
        return Ok(Atom::Bool(b.is_true()));
    }
    if let Ok(text) = object.cast::<PyString>() {
        return Ok(Atom::Str(Arc::from(&*text.to_cow()?)));
    }
    if let Ok(x) = object.cast::<PyFloat>() {
        return Ok(Atom::Float(x.value()));
    }
    if object.is_instance_of::<PyInt>() {
        return object.extract::<i64>().map(Atom::Int).map_err(|_| {
            PyOverflowError::new_err(format!(
                "the int {object} does not fit in 64 bits, as RASP's ints must"
            ))
        });
    }
    // NumPy's scalars and anything else that says it is a number. (A type
    // named `bool` here is NumPy's: Python's was read above.)
    if matches!(type_name(object).as_str(), "bool_" | "bool") {
        return Ok(Atom::Bool(object.is_truthy()?));
    }
    if object.hasattr("__index__")? {
        if let Ok(i) = object.extract::<i64>() {
            return Ok(Atom::Int(i));
        }
    }
    if object.hasattr("__float__")? {
        if let Ok(x) = object.extract::<f64>() {
            return Ok(Atom::Float(x));
        }
    }
    Err(PyTypeError::new_err(format!(
        "a token is a str, int, float or bool, not {}",
        type_name(object)
    )))
}

/// The Python type's name of an object.
fn type_name(object: &Bound<'_, PyAny>) -> String {
    object
        .get_type()
        .name()
        .map_or_else(|_| "an object".to_string(), |n| n.to_string())
}

/// An atom as the Python value of its type.
pub fn atom_to_py<'py>(py: Python<'py>, atom: &Atom) -> PyResult<Bound<'py, PyAny>> {
    Ok(match atom {
        Atom::Str(s) => PyString::new(py, s).into_any(),
        Atom::Int(i) => i.into_pyobject(py)?.into_any(),
        Atom::Float(x) => PyFloat::new(py, *x).into_any(),
        Atom::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
    })
}

/// Atoms as a Python list.
pub fn atoms_to_py<'py>(py: Python<'py>, atoms: &[Atom]) -> PyResult<Bound<'py, PyList>> {
    let items = atoms
        .iter()
        .map(|a| atom_to_py(py, a))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// JSON as Python values, with the convention of `rasp`'s JSON output and
/// weight files: `{"float": "inf"}` (`"-inf"`, `"nan"`) is a float.
pub fn json_to_py<'py>(py: Python<'py>, json: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value as J;
    Ok(match json {
        J::Null => py.None().into_bound(py),
        J::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u), _) => u.into_pyobject(py)?.into_any(),
            (None, None, x) => PyFloat::new(py, x.unwrap_or(f64::NAN)).into_any(),
        },
        J::String(s) => PyString::new(py, s).into_any(),
        J::Array(items) => {
            let items = items
                .iter()
                .map(|item| json_to_py(py, item))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        J::Object(fields) => {
            if let (1, Some(J::String(x))) = (fields.len(), fields.get("float")) {
                let value = match x.as_str() {
                    "inf" => Some(f64::INFINITY),
                    "-inf" => Some(f64::NEG_INFINITY),
                    "nan" => Some(f64::NAN),
                    _ => None,
                };
                if let Some(value) = value {
                    return Ok(PyFloat::new(py, value).into_any());
                }
            }
            let dict = PyDict::new(py);
            for (key, value) in fields {
                dict.set_item(key, json_to_py(py, value)?)?;
            }
            dict.into_any()
        }
    })
}

/// The most nesting a program's value keeps when it is handed to Python
/// (deeper parts are `None`; Python itself could not print them).
const MAX_DEPTH: usize = 200;

/// A program's top-level value as plain data, built on the thread that ran
/// the program (its lists and dicts are not thread-safe) and turned into
/// Python objects later.
#[derive(Debug, Clone)]
pub enum Mirror {
    Atom(Atom),
    List(Vec<Mirror>),
    Dict(Vec<(Atom, Mirror)>),
    /// A selection matrix: one row per query.
    Matrix(Vec<Vec<bool>>),
    /// A function, or a part nested too deep: `None` in Python.
    Opaque,
}

impl Mirror {
    pub fn of(value: &Value) -> Mirror {
        Mirror::at_depth(value, 0)
    }

    fn at_depth(value: &Value, depth: usize) -> Mirror {
        if depth >= MAX_DEPTH {
            return Mirror::Opaque;
        }
        match value {
            Value::Atom(a) => Mirror::Atom(a.clone()),
            Value::List(items) => Mirror::List(
                items
                    .0
                    .iter()
                    .map(|v| Mirror::at_depth(v, depth + 1))
                    .collect(),
            ),
            Value::Dict(dict) => Mirror::Dict(
                dict.iter()
                    .map(|(k, v)| (k.clone(), Mirror::at_depth(v, depth + 1)))
                    .collect(),
            ),
            Value::Sequence(seq) => {
                Mirror::List(seq.values.iter().cloned().map(Mirror::Atom).collect())
            }
            Value::Matrix(m) => Mirror::Matrix(
                (0..m.len())
                    .map(|q| (0..m.len()).map(|k| m.get(q, k)).collect())
                    .collect(),
            ),
            Value::Func(_) | Value::Builtin(_) | Value::SOp(_) | Value::Selector(_) => {
                Mirror::Opaque
            }
        }
    }

    pub fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            Mirror::Atom(a) => atom_to_py(py, a)?,
            Mirror::List(items) => {
                let items = items
                    .iter()
                    .map(|m| m.to_py(py))
                    .collect::<PyResult<Vec<_>>>()?;
                PyList::new(py, items)?.into_any()
            }
            Mirror::Dict(entries) => {
                let dict = PyDict::new(py);
                for (k, v) in entries {
                    dict.set_item(atom_to_py(py, k)?, v.to_py(py)?)?;
                }
                dict.into_any()
            }
            Mirror::Matrix(rows) => PyList::new(
                py,
                rows.iter()
                    .map(|row| PyList::new(py, row))
                    .collect::<PyResult<Vec<_>>>()?,
            )?
            .into_any(),
            Mirror::Opaque => py.None().into_bound(py),
        })
    }
}
