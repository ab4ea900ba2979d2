//! The one bridge from core errors to the Python exceptions of `ferrolink.errors`.
//!
//! The hierarchy is defined once, in Python. Each `ErrorKind` maps onto its class here and
//! nowhere else (an exhaustive `match`, so a new kind cannot be forgotten), and each class is
//! imported once per interpreter and cached.

use ferrolink_core::error::{Error, ErrorKind};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

const MODULE: &str = "ferrolink.errors";

fn class(py: Python<'_>, kind: ErrorKind) -> PyResult<&Bound<'_, PyType>> {
    static INVALID_ARGUMENT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static CONNECT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static TIMEOUT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static TLS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static PROTOCOL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static AUTHENTICATION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let (cell, name) = match kind {
        ErrorKind::InvalidArgument => (&INVALID_ARGUMENT, "InvalidArgumentError"),
        ErrorKind::Connect => (&CONNECT, "ConnectError"),
        ErrorKind::Timeout => (&TIMEOUT, "TimeoutError"),
        ErrorKind::Tls => (&TLS, "TLSError"),
        // A refused request is still the peer speaking the protocol wrongly for the caller.
        ErrorKind::Protocol | ErrorKind::BadRequest => (&PROTOCOL, "ProtocolError"),
        ErrorKind::Authentication => (&AUTHENTICATION, "AuthenticationError"),
    };
    cell.import(py, MODULE, name)
}

/// The Python exception for `error`: its class by kind, its text, and `host=` when known.
pub fn to_pyerr(py: Python<'_>, error: &Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        if !error.host.is_empty() {
            kwargs.set_item("host", &error.host)?;
        }
        let value = class(py, error.kind)?.call((error.to_string(),), Some(&kwargs))?;
        Ok(PyErr::from_value(value))
    };
    build().unwrap_or_else(|e| {
        PyRuntimeError::new_err(format!(
            "{error} (and raising it from {MODULE} failed: {e})"
        ))
    })
}

/// For `map_err`: any core error type, as its Python exception.
pub fn py_err(error: impl Into<Error>) -> PyErr {
    Python::attach(|py| to_pyerr(py, &error.into()))
}

/// A Python value of the wrong type where the binding converts arguments (`TypeError`).
pub fn type_error(message: &'static str) -> PyErr {
    PyTypeError::new_err(message)
}

/// The names of every error kind (test support: see `_raise_kind`).
#[pyfunction]
pub fn _error_kinds() -> Vec<&'static str> {
    ErrorKind::ALL.iter().map(|k| k.name()).collect()
}

/// Test support: raise the exception the bridge makes for `kind` (a name from `_error_kinds`).
#[pyfunction]
#[pyo3(signature = (kind, message, host=""))]
pub fn _raise_kind(kind: &str, message: &str, host: &str) -> PyResult<()> {
    let kind = ErrorKind::from_name(kind)
        .ok_or_else(|| py_err(Error::invalid(format!("no error kind named {kind:?}"))))?;
    Err(py_err(Error::new(kind, message).with_host(host)))
}
