//! Bindings for the MyQttHub codec: fused base64 + `/publish` body building (single and
//! batch) and `/pull` reply decoding. Conversions only; the rules live in `ferrolink_core::myqtthub`.

use ferrolink_core::error::Error;
use ferrolink_core::myqtthub::{self as codec, Member, Publish};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use serde_json::Value;

use crate::errors::py_err;

/// The `/publish` JSON body for one message, base64 written in place.
#[pyfunction]
#[pyo3(signature = (token, topic, payload, qos=0, retain=false, dup=false))]
pub fn myqtthub_publish_body<'py>(
    py: Python<'py>,
    token: &str,
    topic: &str,
    payload: &[u8],
    qos: u8,
    retain: bool,
    dup: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let msg = Publish {
        topic,
        payload,
        qos,
        retain,
        dup,
    };
    let body = codec::publish_body(token, &msg).map_err(py_err)?;
    Ok(PyBytes::new(py, &body))
}

type BatchItem = (PyBackedStr, PyBackedBytes, u8, bool, bool);

/// Bodies for a batch of `(topic, payload, qos, retain, dup)`, encoded without the GIL.
#[pyfunction]
pub fn myqtthub_publish_bodies<'py>(
    py: Python<'py>,
    token: &str,
    messages: Vec<BatchItem>,
) -> PyResult<Bound<'py, PyList>> {
    let bodies = py
        .detach(|| {
            let batch: Vec<Publish<'_>> = messages
                .iter()
                .map(|(topic, payload, qos, retain, dup)| Publish {
                    topic,
                    payload,
                    qos: *qos,
                    retain: *retain,
                    dup: *dup,
                })
                .collect();
            codec::publish_bodies(token, &batch)
        })
        .map_err(py_err)?;
    PyList::new(py, bodies.iter().map(|b| PyBytes::new(py, b)))
}

/// Decode a `/pull` reply into a list of dicts, `payload` as bytes, other members as sent.
#[pyfunction]
pub fn myqtthub_decode_pull<'py>(py: Python<'py>, body: &[u8]) -> PyResult<Bound<'py, PyList>> {
    let messages = py
        .detach(|| codec::decode_pull(body))
        .map_err(|e| py_err(Error::protocol(e)))?;
    let out = PyList::empty(py);
    for members in messages {
        let dict = PyDict::new(py);
        for (key, member) in members {
            let key = member_key(py, &key);
            match member {
                Member::Payload(bytes) => dict.set_item(key, PyBytes::new(py, &bytes))?,
                Member::Json(value) => dict.set_item(key, json_to_py(py, value)?)?,
            }
        }
        out.append(dict)?;
    }
    Ok(out)
}

/// The usual member names as interned strings: one object each, not one per message.
fn member_key<'py>(py: Python<'py>, key: &str) -> Bound<'py, PyString> {
    match key {
        "topic" => intern!(py, "topic").clone(),
        "payload" => intern!(py, "payload").clone(),
        "qos" => intern!(py, "qos").clone(),
        "retain" => intern!(py, "retain").clone(),
        "dup" => intern!(py, "dup").clone(),
        other => PyString::new(py, other),
    }
}

fn json_to_py(py: Python<'_>, value: Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64()
                    .unwrap_or(f64::NAN)
                    .into_pyobject(py)?
                    .into_any()
                    .unbind()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
    })
}
