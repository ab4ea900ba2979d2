//! Bindings for the idigi service's Rust codecs (filled in by its issue).

use pyo3::prelude::*;

/// Add this service's classes and functions to `ferrolink._core`.
pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
