//! Binding for the pooled HTTPS/1.1 client (`ferrolink.http.Client` is its public face).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ferrolink_core::error::Error;
use ferrolink_core::transport::{
    ClientOptions, HttpClient as CoreClient, ProxySetting, Request, MAX_RESPONSE_BODY,
};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

use crate::errors::py_err;

/// Seconds from Python into an optional `Duration`, rejecting negatives and NaN by name.
pub fn seconds(name: &str, value: Option<f64>) -> PyResult<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && v > 0.0 => Ok(Some(Duration::from_secs_f64(v))),
        Some(v) => Err(py_err(Error::invalid(format!(
            "{name} must be a positive number of seconds, got {v}"
        )))),
    }
}

/// The constructor arguments `HttpClient` and `AsyncHttpClient` share.
pub struct OptionsArgs {
    pub connect_timeout: Option<f64>,
    pub read_timeout: Option<f64>,
    pub total_timeout: Option<f64>,
    pub ca_file: Option<PathBuf>,
    pub verify: bool,
    pub proxy: Option<String>,
    pub trust_env: bool,
    pub user_agent: Option<String>,
    pub max_idle_per_host: usize,
    pub max_response_body: u64,
}

impl OptionsArgs {
    pub fn into_options(self) -> PyResult<ClientOptions> {
        Ok(ClientOptions {
            connect_timeout: seconds("connect_timeout", self.connect_timeout)?,
            read_timeout: seconds("read_timeout", self.read_timeout)?,
            total_timeout: seconds("total_timeout", self.total_timeout)?,
            ca_file: self.ca_file,
            verify: self.verify,
            proxy: match (self.proxy, self.trust_env) {
                (Some(url), _) => ProxySetting::Url(url),
                (None, true) => ProxySetting::FromEnv,
                (None, false) => ProxySetting::None,
            },
            user_agent: self
                .user_agent
                .unwrap_or_else(|| ClientOptions::default().user_agent),
            max_idle_per_host: self.max_idle_per_host,
            max_response_body: self.max_response_body,
        })
    }
}

/// Pooled HTTPS/1.1 client.
#[pyclass(frozen, module = "ferrolink._core")]
pub struct HttpClient {
    inner: CoreClient,
}

type RawResponse<'py> = (u16, String, Vec<(String, String)>, Bound<'py, PyBytes>);

#[pymethods]
impl HttpClient {
    #[new]
    #[pyo3(signature = (*, connect_timeout=None, read_timeout=None, total_timeout=None,
                        ca_file=None, verify=true, proxy=None, trust_env=true,
                        user_agent=None, max_idle_per_host=32,
                        max_response_body=MAX_RESPONSE_BODY))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        connect_timeout: Option<f64>,
        read_timeout: Option<f64>,
        total_timeout: Option<f64>,
        ca_file: Option<PathBuf>,
        verify: bool,
        proxy: Option<String>,
        trust_env: bool,
        user_agent: Option<String>,
        max_idle_per_host: usize,
        max_response_body: u64,
    ) -> PyResult<Self> {
        let options = OptionsArgs {
            connect_timeout,
            read_timeout,
            total_timeout,
            ca_file,
            verify,
            proxy,
            trust_env,
            user_agent,
            max_idle_per_host,
            max_response_body,
        }
        .into_options()?;
        // Loading the system trust store reads files: do it without the GIL.
        let inner = py.detach(|| CoreClient::new(&options)).map_err(py_err)?;
        Ok(HttpClient { inner })
    }

    /// Send one request; returns `(status, reason, headers, body)`.
    #[pyo3(signature = (method, url, headers, body=None, timeout=None))]
    fn request<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        body: Option<PyBackedBytes>,
        timeout: Option<f64>,
    ) -> PyResult<RawResponse<'py>> {
        let timeout = seconds("timeout", timeout)?;
        let request = Request {
            method,
            url,
            headers: &headers,
            body: body.as_deref(),
            timeout,
        };
        let response = py.detach(|| self.inner.send(&request)).map_err(py_err)?;
        Ok((
            response.status,
            response.reason,
            response.headers,
            PyBytes::new(py, &response.body),
        ))
    }
}

/// Bench-only ceiling: `n` identical requests in a Rust loop, no Python in between.
/// Returns the elapsed seconds; fails on the first error or non-2xx status.
#[pyfunction]
#[pyo3(signature = (client, method, url, headers, body, n))]
pub fn _bench_request_loop(
    py: Python<'_>,
    client: &HttpClient,
    method: &str,
    url: &str,
    headers: Vec<(String, String)>,
    body: Option<PyBackedBytes>,
    n: usize,
) -> PyResult<f64> {
    let request = Request {
        method,
        url,
        headers: &headers,
        body: body.as_deref(),
        timeout: None,
    };
    py.detach(|| {
        let start = Instant::now();
        for _ in 0..n {
            let response = client.inner.send(&request)?;
            if !(200..300).contains(&response.status) {
                return Err(Error::invalid(format!(
                    "bench loop got HTTP status {}",
                    response.status
                )));
            }
        }
        Ok(start.elapsed().as_secs_f64())
    })
    .map_err(py_err)
}
