//! `rasp._rasp`, the native part of the Python package `rasp`: the
//! library's interpreter, compiler and runtime as Python classes. It only
//! converts; the language is the `rasp` crate's.
//!
//! Long work releases the GIL, uses every core as the command line does,
//! and stops on Ctrl-C ([`work`]); every error is a Python exception of
//! `rasp.errors` carrying the diagnostic ([`errors`]).

mod convert;
mod errors;
mod model;
mod objects;
mod program;
mod runs;
mod work;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Counts each thread's allocations, so that the evaluator's memory limits
/// hold in the Python process as in the `rasp` binary.
#[global_allocator]
static ALLOCATOR: rasp::memory::Counting = rasp::memory::Counting;

/// Sets the time one evaluation may take (the program's top level, one
/// input's s-op, one compilation), in seconds; `None` or 0 for no limit
/// (the default).
#[pyfunction]
#[pyo3(signature = (seconds))]
fn set_time_limit(seconds: Option<f64>) -> PyResult<()> {
    let limit = match seconds {
        None => None,
        Some(0.0) => None,
        Some(s) if s.is_finite() && s > 0.0 && s <= 365.0 * 86_400.0 => {
            Some(std::time::Duration::from_secs_f64(s))
        }
        Some(s) => {
            return Err(PyValueError::new_err(format!(
                "a time limit is between 0 and a year of seconds, not {s}"
            )))
        }
    };
    rasp::memory::set_time_limit(limit);
    Ok(())
}

/// Sets the memory the process may hold while evaluating, in MiB, all
/// threads together; `None` for the default (8 GiB or half the machine's
/// memory, whichever is less).
#[pyfunction]
#[pyo3(signature = (mib))]
fn set_memory_limit(mib: Option<u64>) -> PyResult<()> {
    let bytes = match mib {
        None => rasp::memory::default_limit(),
        Some(m) if (1..=1 << 30).contains(&m) => usize::try_from(m << 20).unwrap_or(usize::MAX),
        Some(m) => {
            return Err(PyValueError::new_err(format!(
                "a memory limit is between 1 and 2**30 MiB, not {m}"
            )))
        }
    };
    rasp::memory::set_process_limit(bytes);
    Ok(())
}

#[pymodule]
fn _rasp(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<program::Program>()?;
    module.add_class::<objects::PySOp>()?;
    module.add_class::<objects::PySelector>()?;
    module.add_class::<objects::PyValue>()?;
    module.add_class::<model::PyModel>()?;
    module.add_function(wrap_pyfunction!(set_time_limit, module)?)?;
    module.add_function(wrap_pyfunction!(set_memory_limit, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
