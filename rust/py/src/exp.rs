//! Bindings for EXP: the HS256 JWT codec (client login tokens, sandbox verification).

use ferrolink_core::jwt::{self, JwtError};
use pyo3::prelude::*;

use crate::errors::raise;

fn jwt_error(py: Python<'_>, e: JwtError) -> PyErr {
    let class = match e {
        JwtError::BadSignature => "AuthenticationError",
        _ => "InvalidArgumentError",
    };
    raise(py, class, &e.to_string(), None)
}

/// Sign compact-JSON `claims` with `key` (HS256, unpadded base64url segments).
#[pyfunction]
fn jwt_encode_hs256(py: Python<'_>, claims: &str, key: &str) -> PyResult<String> {
    jwt::encode_hs256(claims, key.as_bytes()).map_err(|e| jwt_error(py, e))
}

/// Verify an HS256 `token` with `key`; returns the claims' JSON text.
#[pyfunction]
fn jwt_decode_hs256(py: Python<'_>, token: &str, key: &str) -> PyResult<String> {
    jwt::decode_hs256(token, key.as_bytes()).map_err(|e| jwt_error(py, e))
}

/// Add this service's classes and functions to `ferrolink._core`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(jwt_encode_hs256, m)?)?;
    m.add_function(wrap_pyfunction!(jwt_decode_hs256, m)?)?;
    Ok(())
}
