//! Bindings for the iDigi push codec and session (`ferrolink.idigi.codec` / `.session` wrap them).

use std::path::PathBuf;
use std::time::Duration;

use ferrolink_core::error::Error;
use ferrolink_core::idigi::codec::{self, Decoded, DecoderLimits, FrameDecoder, Message};
use ferrolink_core::idigi::session::{Event, PushSession, SessionConfig};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::errors::{py_err, to_pyerr};

#[pyfunction]
pub fn idigi_encode_connection_request<'py>(
    py: Python<'py>,
    username: &str,
    password: &str,
    monitor_id: u32,
) -> PyResult<Bound<'py, PyBytes>> {
    let frame = codec::encode_connect_request(username, password, monitor_id).map_err(py_err)?;
    Ok(PyBytes::new(py, &frame))
}

#[pyfunction]
#[pyo3(signature = (status, version=1))]
pub fn idigi_encode_connect_response(
    py: Python<'_>,
    status: u16,
    version: u16,
) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &codec::encode_connect_response(status, version))
}

#[pyfunction]
#[pyo3(signature = (block_id, status=200))]
pub fn idigi_encode_ack(py: Python<'_>, block_id: u16, status: u16) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &codec::encode_ack(block_id, status))
}

/// PublishMessage; `raw=True` sends `payload` as is (already compressed, or deliberately odd).
#[pyfunction]
#[pyo3(signature = (block_id, count, compression, format, payload, raw=false))]
pub fn idigi_encode_publish<'py>(
    py: Python<'py>,
    block_id: u16,
    count: u16,
    compression: u8,
    format: u8,
    payload: PyBackedBytes,
    raw: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let frame = py
        .detach(|| {
            if raw {
                codec::encode_publish_raw(block_id, count, compression, format, &payload)
            } else {
                codec::encode_publish(block_id, count, compression, format, &payload)
            }
        })
        .map_err(py_err)?;
    Ok(PyBytes::new(py, &frame))
}

/// `ferrolink.idigi.codec.PublishMessage`: built here so decoding a frame costs no Python code.
///
/// Frozen, with the former dataclass's constructor, fields, equality, hash and repr.
#[pyclass(frozen, module = "ferrolink._core")]
pub struct IdigiPublishMessage {
    #[pyo3(get)]
    block_id: u16,
    #[pyo3(get)]
    count: u16,
    #[pyo3(get)]
    compression: u8,
    #[pyo3(get)]
    format: u8,
    #[pyo3(get)]
    payload: Py<PyBytes>,
}

impl IdigiPublishMessage {
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        (
            self.block_id,
            self.count,
            self.compression,
            self.format,
            self.payload.bind(py),
            codec::PUBLISH_MESSAGE,
        )
            .into_pyobject(py)
    }
}

#[pymethods]
impl IdigiPublishMessage {
    #[new]
    #[pyo3(signature = (block_id, count, compression, format, payload, r#type=codec::PUBLISH_MESSAGE))]
    fn new(
        block_id: u16,
        count: u16,
        compression: u8,
        format: u8,
        payload: Py<PyBytes>,
        r#type: u16,
    ) -> PyResult<Self> {
        if r#type != codec::PUBLISH_MESSAGE {
            return Err(py_err(Error::invalid(format!(
                "a PublishMessage has type 3, not {type}"
            ))));
        }
        Ok(IdigiPublishMessage {
            block_id,
            count,
            compression,
            format,
            payload,
        })
    }

    #[getter]
    fn r#type(&self) -> u16 {
        codec::PUBLISH_MESSAGE
    }

    /// The payload decoded as UTF-8 (raises `UnicodeDecodeError` if it is not).
    #[getter]
    fn text<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.payload.bind(py).call_method1("decode", ("utf-8",))
    }

    #[getter]
    fn is_json(&self) -> bool {
        self.format == codec::FORMAT_JSON
    }

    fn __eq__<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast::<IdigiPublishMessage>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        let same = (self.block_id, self.count, self.compression, self.format)
            == (other.block_id, other.count, other.compression, other.format)
            && self.payload.bind(py).as_bytes() == other.payload.bind(py).as_bytes();
        same.into_py_any(py)
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        self.fields(py)?.hash()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "PublishMessage(block_id={}, count={}, compression={}, format={}, payload={}, type={})",
            self.block_id,
            self.count,
            self.compression,
            self.format,
            self.payload.bind(py).repr()?,
            codec::PUBLISH_MESSAGE
        ))
    }
}

/// The Python classes the decoder builds for the rare message kinds (the codec's dataclasses).
struct MessageTypes {
    connect_request: Py<PyAny>,
    connect_response: Py<PyAny>,
    ack: Py<PyAny>,
    unknown: Py<PyAny>,
}

/// Feeds at least this long are decoded without the GIL whatever they hold.
const GIL_FREE_FEED: usize = 16 << 10;

/// Incremental decoder; `feed` returns `(frames, errors)` (see `ferrolink.idigi.codec`).
#[pyclass(module = "ferrolink._core")]
pub struct IdigiFrameDecoder {
    inner: FrameDecoder,
    types: MessageTypes,
    out: Vec<Decoded>,
}

#[pymethods]
impl IdigiFrameDecoder {
    /// `message_types`: the classes for ConnectRequest, ConnectResponse, ack and unknown messages.
    #[new]
    #[pyo3(signature = (message_types, max_frame_size=codec::DEFAULT_MAX_FRAME,
                        max_payload_size=codec::DEFAULT_MAX_PAYLOAD,
                        max_inflated_per_feed=codec::DEFAULT_MAX_INFLATED_PER_FEED))]
    fn new(
        message_types: (Py<PyAny>, Py<PyAny>, Py<PyAny>, Py<PyAny>),
        max_frame_size: usize,
        max_payload_size: usize,
        max_inflated_per_feed: usize,
    ) -> Self {
        let (connect_request, connect_response, ack, unknown) = message_types;
        IdigiFrameDecoder {
            inner: FrameDecoder::new(DecoderLimits {
                max_frame: max_frame_size,
                max_inflated_frame: max_payload_size,
                max_inflated_per_feed,
            }),
            types: MessageTypes {
                connect_request,
                connect_response,
                ack,
                unknown,
            },
            out: Vec::new(),
        }
    }

    /// `(frames, errors)`: every frame `data` completes, and why any frame was unusable.
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        data: PyBackedBytes,
    ) -> PyResult<(Bound<'py, PyList>, Vec<String>)> {
        let (inner, out) = (&mut self.inner, &mut self.out);
        // Big feeds and any inflating are real work: done without the GIL. Framing a small
        // feed costs less than giving the GIL up (and maybe waiting for it back), so it keeps
        // the GIL.
        if data.len() >= GIL_FREE_FEED {
            py.detach(|| inner.feed(&data, out));
        } else {
            let pending = inner.frame(&data, out);
            if !pending.is_empty() {
                py.detach(|| inner.inflate(pending, out));
            }
        }
        let types = &self.types;
        let mut frames: Vec<Bound<'py, PyAny>> = Vec::with_capacity(out.len());
        let mut errors = Vec::new();
        for item in out.drain(..) {
            let frame = match item {
                Ok(Message::Publish(p)) => Bound::new(
                    py,
                    IdigiPublishMessage {
                        block_id: p.block_id,
                        count: p.count,
                        compression: p.compression,
                        format: p.format,
                        payload: PyBytes::new(py, &p.payload).unbind(),
                    },
                )?
                .into_any(),
                Ok(Message::ConnectRequest {
                    version,
                    username,
                    password,
                    monitor_id,
                }) => types
                    .connect_request
                    .bind(py)
                    .call1((version, username, password, monitor_id))?,
                Ok(Message::ConnectResponse { status, version }) => {
                    types.connect_response.bind(py).call1((status, version))?
                }
                Ok(Message::Ack { block_id, status }) => {
                    types.ack.bind(py).call1((block_id, status))?
                }
                Ok(Message::Unknown { message_type, size }) => {
                    types.unknown.bind(py).call1((message_type, size))?
                }
                Err(e) => {
                    errors.push(e.message);
                    continue;
                }
            };
            frames.push(frame);
        }
        Ok((PyList::new(py, frames)?, errors))
    }

    #[getter]
    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    #[getter]
    fn backlog(&self) -> usize {
        self.inner.backlog()
    }
}

fn secs(name: &str, value: f64) -> PyResult<Duration> {
    if value.is_finite() && value >= 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(py_err(Error::invalid(format!(
            "{name} must be a non-negative number of seconds, got {value}"
        ))))
    }
}

/// One push connection run by a Rust thread; see `ferrolink.idigi.session`.
#[pyclass(frozen, module = "ferrolink._core")]
pub struct IdigiPushSession {
    inner: PushSession,
}

#[pymethods]
impl IdigiPushSession {
    #[new]
    #[pyo3(signature = (host, port, username, password, monitor_id, *, tls=true, ca_file=None,
                        server_name=None, connect_timeout=10.0, idle_timeout=None,
                        keepalive=Some(30.0), max_frame_size=codec::DEFAULT_MAX_FRAME,
                        max_payload_size=codec::DEFAULT_MAX_PAYLOAD,
                        max_inflated_per_feed=codec::DEFAULT_MAX_INFLATED_PER_FEED, queue_frames=4096,
                        queue_bytes=64 << 20, backoff_initial=0.5, backoff_max=30.0,
                        max_attempts=None, tick=0.02))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        host: &str,
        port: u16,
        username: &str,
        password: &str,
        monitor_id: u32,
        tls: bool,
        ca_file: Option<PathBuf>,
        server_name: Option<String>,
        connect_timeout: f64,
        idle_timeout: Option<f64>,
        keepalive: Option<f64>,
        max_frame_size: usize,
        max_payload_size: usize,
        max_inflated_per_feed: usize,
        queue_frames: usize,
        queue_bytes: usize,
        backoff_initial: f64,
        backoff_max: f64,
        max_attempts: Option<u32>,
        tick: f64,
    ) -> PyResult<Self> {
        let mut config = SessionConfig::new(host, port, username, password, monitor_id);
        config.tls = tls;
        config.ca_file = ca_file;
        config.server_name = server_name;
        config.connect_timeout = secs("connect_timeout", connect_timeout)?;
        config.idle_timeout = idle_timeout.map(|v| secs("idle_timeout", v)).transpose()?;
        config.keepalive = keepalive.map(|v| secs("keepalive", v)).transpose()?;
        config.limits = DecoderLimits {
            max_frame: max_frame_size,
            max_inflated_frame: max_payload_size,
            max_inflated_per_feed,
        };
        config.queue_frames = queue_frames.max(1);
        config.queue_bytes = queue_bytes.max(1);
        config.backoff_initial = secs("backoff_initial", backoff_initial)?;
        config.backoff_max = secs("backoff_max", backoff_max)?;
        config.max_attempts = max_attempts;
        config.tick = secs("tick", tick)?.max(Duration::from_millis(1));
        // Loading the trust store reads files: without the GIL.
        let inner = py.detach(|| PushSession::start(config)).map_err(py_err)?;
        Ok(IdigiPushSession { inner })
    }

    /// `(events, finished)`: up to `max_items` events, waiting up to `timeout` for the first.
    #[pyo3(signature = (max_items=1024, timeout=0.1))]
    fn next_events<'py>(
        &self,
        py: Python<'py>,
        max_items: usize,
        timeout: f64,
    ) -> PyResult<(Bound<'py, PyList>, bool)> {
        let timeout = secs("timeout", timeout)?;
        let (events, finished) = py.detach(|| self.inner.next_events(max_items, timeout));
        let frame_tag = PyString::intern(py, "frame");
        let mut items: Vec<Bound<'py, PyAny>> = Vec::with_capacity(events.len());
        for event in events {
            let item = match event {
                Event::Frame {
                    generation,
                    publish,
                } => (
                    &frame_tag,
                    generation,
                    publish.block_id,
                    publish.count,
                    publish.compression,
                    publish.format,
                    PyBytes::new(py, &publish.payload),
                )
                    .into_bound_py_any(py)?,
                Event::State { state, detail } => {
                    ("state", state.name(), detail).into_bound_py_any(py)?
                }
                Event::Error(e) => {
                    ("error", to_pyerr(py, &e).into_value(py)).into_bound_py_any(py)?
                }
            };
            items.push(item);
        }
        Ok((PyList::new(py, items)?, finished))
    }

    /// Queue acks of `block_ids` from connection `generation` (stale generations are dropped).
    #[pyo3(signature = (generation, block_ids, status=200))]
    fn ack(&self, generation: u64, block_ids: Vec<u16>, status: u16) {
        self.inner.ack(generation, &block_ids, status);
    }

    #[getter]
    fn generation(&self) -> u64 {
        self.inner.generation()
    }

    /// Stop the thread, waiting up to `timeout` seconds; true once it has ended.
    #[pyo3(signature = (timeout=2.0))]
    fn stop(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = secs("timeout", timeout)?;
        Ok(py.detach(|| self.inner.stop(timeout)))
    }
}
