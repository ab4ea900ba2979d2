//! Raising the Python exceptions of `ferrolink.errors` from Rust.
//!
//! The hierarchy is defined once, in Python; the binding looks classes up by name so the two
//! can never drift apart.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Build an instance of `ferrolink.errors.<class>` with `message` (and `host=` when known).
pub fn raise(py: Python<'_>, class: &str, message: &str, host: Option<&str>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = py.import("ferrolink.errors")?.getattr(class)?;
        let kwargs = PyDict::new(py);
        if let Some(h) = host.filter(|h| !h.is_empty()) {
            kwargs.set_item("host", h)?;
        }
        let value = cls.call((message,), Some(&kwargs))?;
        Ok(PyErr::from_value(value))
    };
    build().unwrap_or_else(|e| {
        PyRuntimeError::new_err(format!(
            "{message} (and ferrolink.errors.{class} failed: {e})"
        ))
    })
}
