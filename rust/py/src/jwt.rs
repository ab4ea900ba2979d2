//! Binding for the HS256 JWT codec (EXP client login tokens, sandbox verification).

use ferrolink_core::jwt;
use pyo3::prelude::*;

use crate::errors::py_err;

/// Sign compact-JSON `claims` with `key` (HS256, unpadded base64url segments).
#[pyfunction]
pub fn jwt_encode_hs256(claims: &str, key: &str) -> PyResult<String> {
    jwt::encode_hs256(claims, key.as_bytes()).map_err(py_err)
}

/// Verify an HS256 `token` with `key`; returns the claims' JSON text.
#[pyfunction]
pub fn jwt_decode_hs256(token: &str, key: &str) -> PyResult<String> {
    jwt::decode_hs256(token, key.as_bytes()).map_err(py_err)
}
