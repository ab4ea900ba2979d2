//! Binding for the sandbox's throwaway certificate authority.

use pyo3::prelude::*;

use crate::errors::py_err;

/// Generate a throwaway CA and a server certificate for `hosts`: `(ca_pem, cert_pem, key_pem)`.
#[pyfunction]
pub fn generate_test_ca(py: Python<'_>, hosts: Vec<String>) -> PyResult<(String, String, String)> {
    let ca = py
        .detach(|| ferrolink_core::testca::generate(&hosts))
        .map_err(py_err)?;
    Ok((ca.ca_cert_pem, ca.server_cert_pem, ca.server_key_pem))
}
