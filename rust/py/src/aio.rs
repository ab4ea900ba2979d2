//! The asyncio bridge for the async transport.
//!
//! A request is spawned on the core's tokio runtime with the asyncio future it settles. When it
//! finishes, its outcome is pushed onto the loop's [`AsyncCompletions`] queue, without the GIL;
//! only a push onto an empty queue wakes the loop (one byte on a socket the loop watches, or
//! `call_soon_threadsafe` where the loop cannot watch sockets). One loop callback then settles
//! every queued future at once, so a burst of responses costs one wake-up, not one each.

use std::sync::{Arc, Mutex};

use ferrolink_core::aio::{self, AsyncHttpClient as CoreClient, OwnedRequest};
use ferrolink_core::error::Error;
use ferrolink_core::transport::{Response, MAX_RESPONSE_BODY};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use tokio::task::AbortHandle;

use crate::errors::{py_err, to_pyerr};
use crate::http::{seconds, OptionsArgs};

type Outcome = Result<Response, Error>;

/// How the loop learns that the queue is no longer empty.
enum Wake {
    /// The loop watches `reader` (`loop.add_reader`); a byte on `writer` wakes it, no GIL.
    #[cfg(unix)]
    Socket {
        reader: std::os::unix::net::UnixStream,
        writer: std::os::unix::net::UnixStream,
    },
    /// `schedule(completions)`, e.g. `loop.call_soon_threadsafe`, called with the GIL.
    Schedule(Py<PyAny>),
}

struct Queue {
    done: Mutex<Vec<(Py<PyAny>, Outcome)>>,
    wake: Wake,
}

impl Queue {
    fn push(self: &Arc<Self>, future: Py<PyAny>, outcome: Outcome) {
        let was_empty = match self.done.lock() {
            Ok(mut done) => {
                done.push((future, outcome));
                done.len() == 1
            }
            Err(_) => return,
        };
        if was_empty {
            self.wake();
        }
    }

    fn wake(self: &Arc<Self>) {
        match &self.wake {
            #[cfg(unix)]
            Wake::Socket { writer, .. } => {
                use std::io::Write;
                // A full socket buffer means wake-ups are already pending: nothing is lost.
                let _ = (&*writer).write(&[1]);
            }
            Wake::Schedule(schedule) => Python::attach(|py| {
                let completions = AsyncCompletions {
                    queue: Arc::clone(self),
                };
                // Fails only once the loop is closed: nobody awaits these futures any more.
                let _ = schedule.call1(py, (completions,));
            }),
        }
    }

    fn take(&self) -> Vec<(Py<PyAny>, Outcome)> {
        #[cfg(unix)]
        if let Wake::Socket { reader, .. } = &self.wake {
            use std::io::Read;
            let mut buf = [0u8; 256];
            while matches!((&*reader).read(&mut buf), Ok(n) if n == buf.len()) {}
        }
        self.done
            .lock()
            .map(|mut done| std::mem::take(&mut *done))
            .unwrap_or_default()
    }
}

/// One event loop's completion queue; calling it settles every finished request's future.
#[pyclass(frozen, module = "ferrolink._core")]
pub struct AsyncCompletions {
    queue: Arc<Queue>,
}

#[pymethods]
impl AsyncCompletions {
    /// Without `schedule` (POSIX), wake-ups arrive on the socket [`fileno`] returns.
    #[new]
    #[pyo3(signature = (schedule=None))]
    fn new(schedule: Option<Py<PyAny>>) -> PyResult<Self> {
        let wake = match schedule {
            Some(schedule) => Wake::Schedule(schedule),
            #[cfg(unix)]
            None => {
                let (reader, writer) = std::os::unix::net::UnixStream::pair()?;
                reader.set_nonblocking(true)?;
                writer.set_nonblocking(true)?;
                Wake::Socket { reader, writer }
            }
            #[cfg(not(unix))]
            None => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "schedule is required on this platform",
                ))
            }
        };
        Ok(AsyncCompletions {
            queue: Arc::new(Queue {
                done: Mutex::new(Vec::new()),
                wake,
            }),
        })
    }

    /// The socket to watch for wake-ups, or None when wake-ups go through `schedule`.
    fn fileno(&self) -> Option<i64> {
        match &self.queue.wake {
            #[cfg(unix)]
            Wake::Socket { reader, .. } => {
                use std::os::fd::AsRawFd;
                Some(i64::from(reader.as_raw_fd()))
            }
            Wake::Schedule(_) => None,
        }
    }

    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        for (future, outcome) in self.queue.take() {
            let settled = match outcome {
                Ok(response) => {
                    let value = (
                        response.status,
                        response.reason,
                        response.headers,
                        PyBytes::new(py, &response.body),
                    );
                    future.call_method1(py, intern!(py, "set_result"), (value,))
                }
                Err(e) => {
                    let error = to_pyerr(py, &e).into_value(py);
                    future.call_method1(py, intern!(py, "set_exception"), (error,))
                }
            };
            if let Err(e) = settled {
                // Only a cancelled future refuses a result; its awaiter has gone.
                if !future
                    .call_method0(py, intern!(py, "cancelled"))?
                    .is_truthy(py)?
                {
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

/// A request in flight; `abort()` drops it and its connection on the runtime.
#[pyclass(frozen, module = "ferrolink._core")]
pub struct AsyncPending {
    handle: AbortHandle,
}

#[pymethods]
impl AsyncPending {
    fn abort(&self) {
        self.handle.abort();
    }
}

/// Pooled async HTTPS/1.1 client (see `ferrolink.http.AsyncClient` for the public face).
#[pyclass(frozen, module = "ferrolink._core")]
pub struct AsyncHttpClient {
    inner: CoreClient,
}

#[pymethods]
impl AsyncHttpClient {
    #[new]
    #[pyo3(signature = (*, connect_timeout=None, read_timeout=None, total_timeout=None,
                        ca_file=None, verify=true, proxy=None, trust_env=true,
                        user_agent=None, max_idle_per_host=32,
                        max_response_body=MAX_RESPONSE_BODY, max_connections=100))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        connect_timeout: Option<f64>,
        read_timeout: Option<f64>,
        total_timeout: Option<f64>,
        ca_file: Option<std::path::PathBuf>,
        verify: bool,
        proxy: Option<String>,
        trust_env: bool,
        user_agent: Option<String>,
        max_idle_per_host: usize,
        max_response_body: u64,
        max_connections: usize,
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
        let inner = py
            .detach(|| CoreClient::new(&options, max_connections))
            .map_err(py_err)?;
        Ok(AsyncHttpClient { inner })
    }

    /// Start one request; its outcome settles `future` through `completions`:
    /// `(status, reason, headers, body)` or a `ferrolink.errors` exception.
    #[pyo3(signature = (completions, future, method, url, headers, body=None, timeout=None))]
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        completions: &AsyncCompletions,
        future: Py<PyAny>,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<PyBackedBytes>,
        timeout: Option<f64>,
    ) -> PyResult<AsyncPending> {
        let request = OwnedRequest {
            method,
            url,
            headers,
            body: body.map(bytes::Bytes::from_owner),
            timeout: seconds("timeout", timeout)?,
        };
        let runtime = aio::runtime().map_err(py_err)?;
        let client = self.inner.clone();
        let queue = Arc::clone(&completions.queue);
        let handle = runtime.spawn(async move {
            let outcome = client.send(request).await;
            queue.push(future, outcome);
        });
        Ok(AsyncPending {
            handle: handle.abort_handle(),
        })
    }
}
