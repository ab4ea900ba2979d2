//! Bindings for the HEXONET codec in `ferrolink_core::hexonet`: type conversion only.

use std::cell::RefCell;

use ferrolink_core::hexonet::{self, Connection};
use pyo3::intern;
use pyo3::marker::Ungil;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::errors::type_error;

/// Interned key objects (CODE, DESCRIPTION, property names...). Responses repeat the same
/// few dozen names, so reusing one interned string per name saves an allocation and a hash
/// per key and makes later dict look-ups pointer comparisons. A small direct-mapped cache
/// per thread: bounded whatever the input, no lock, a collision just replaces the slot.
const KEY_CACHE_SLOTS: usize = 512;
const KEY_CACHE_MAX_LEN: usize = 64;

type KeySlot = Option<(Box<str>, Py<PyString>)>;

thread_local! {
    static KEY_CACHE: RefCell<Vec<KeySlot>> = RefCell::new((0..KEY_CACHE_SLOTS).map(|_| None).collect());
}

fn slot_of(name: &str) -> usize {
    // FNV-1a: names are short and trusted only to be bytes; any spread will do.
    let mut hash: u32 = 0x811c_9dc5;
    for &b in name.as_bytes() {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    hash as usize % KEY_CACHE_SLOTS
}

fn key_object<'py>(py: Python<'py>, name: &str) -> Bound<'py, PyString> {
    if name.len() > KEY_CACHE_MAX_LEN {
        return PyString::new(py, name);
    }
    let slot = slot_of(name);
    KEY_CACHE.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return PyString::new(py, name);
        };
        if let Some(Some((cached, key))) = cache.get(slot) {
            if **cached == *name {
                return key.bind(py).clone();
            }
        }
        let key = PyString::intern(py, name);
        if let Some(entry) = cache.get_mut(slot) {
            *entry = Some((name.into(), key.clone().unbind()));
        }
        key
    })
}

/// Bodies at least this long are parsed without the GIL (below it, releasing costs more).
const DETACH_THRESHOLD: usize = 64 * 1024;

/// Run `parse` on a body of `len` bytes, without the GIL when the body is long.
fn detach_if_long<T: Ungil>(py: Python<'_>, len: usize, parse: impl Ungil + FnOnce() -> T) -> T {
    if len >= DETACH_THRESHOLD {
        py.detach(parse)
    } else {
        parse()
    }
}

/// `responseparser.parse`: the response hash `{KEY: value, "PROPERTY": {NAME: [values]}}`.
/// A `str` with lone surrogates (no UTF-8 form) is parsed from its `surrogatepass` bytes.
#[pyfunction]
pub fn hexonet_parse<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyDict>> {
    if let Ok(utf8) = text.extract::<PyBackedStr>() {
        let parsed = detach_if_long(py, utf8.len(), || hexonet::parse(&utf8));
        // The caller's `str` is the whole text already: values are cut from it, not a copy.
        let mut values = Values::cut_from(text.clone(), &utf8);
        return Ok(to_hash(py, &parsed, false, &mut values)?.0);
    }
    let encoded = text.call_method1(intern!(py, "encode"), ("utf-8", "surrogatepass"))?;
    let bytes = encoded.cast_into::<PyBytes>()?;
    let parsed = hexonet::parse_text::<[u8]>(bytes.as_bytes());
    Ok(to_hash(py, &parsed, false, &mut Values::Each)?.0)
}

/// `hexonet_parse` of an HTTP body, read in place (no decoded copy of the text): `(hash,
/// None)`, or for a response with exactly one record `(hash, row)` where `hash` holds `None`
/// for its `PROPERTY` table: the caller builds the table from `row` if ever asked (status
/// responses are mostly read as their one record, and a table of one-value lists is most of
/// their objects). `None` when the bytes are not UTF-8 (the caller then decodes them as
/// latin-1).
#[pyfunction]
pub fn hexonet_parse_body<'py>(py: Python<'py>, body: &[u8]) -> PyResult<Option<HashAndRow<'py>>> {
    let parsed = detach_if_long(py, body.len(), || {
        std::str::from_utf8(body)
            .ok()
            .map(|text| (text, hexonet::parse(text)))
    });
    parsed
        .map(|(text, parsed)| to_hash(py, &parsed, true, &mut Values::of(text)))
        .transpose()
}

/// `Response(body)`'s common case in one call: `hexonet_parse_body`, or `None` when the
/// body needs the general path (not UTF-8, a `{` that may start a placeholder, or no `CODE`
/// or `DESCRIPTION`: an invalid response).
#[pyfunction]
pub fn hexonet_parse_response<'py>(
    py: Python<'py>,
    body: &[u8],
) -> PyResult<Option<HashAndRow<'py>>> {
    if hexonet::may_have_placeholder(body) {
        return Ok(None);
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return Ok(None);
    };
    let parsed = detach_if_long(py, body.len(), || hexonet::parse(text));
    let has = |name: &str| parsed.top.iter().any(|(key, _)| key == name);
    if !has("CODE") || !has("DESCRIPTION") {
        return Ok(None);
    }
    to_hash(py, &parsed, true, &mut Values::of(text)).map(Some)
}

type HashAndRow<'py> = (Bound<'py, PyDict>, Option<Bound<'py, PyDict>>);

/// Parsed text as Python `str` objects.
trait PyText: hexonet::Text {
    /// A key (top-level or property name).
    fn key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>>;
    fn value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>>;
}

impl PyText for str {
    fn key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        // The usual top-level keys from statics, no cache look-up.
        Ok(match self {
            "CODE" => intern!(py, "CODE").clone(),
            "DESCRIPTION" => intern!(py, "DESCRIPTION").clone(),
            "QUEUETIME" => intern!(py, "QUEUETIME").clone(),
            "RUNTIME" => intern!(py, "RUNTIME").clone(),
            _ => key_object(py, self),
        })
    }

    fn value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        Ok(PyString::new(py, self))
    }
}

/// Bytes of a `str` with lone surrogates (rare): decoded back the way they were encoded.
impl PyText for [u8] {
    fn key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        self.value(py)
    }

    fn value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        let text = PyBytes::new(py, self).call_method1(
            intern!(py, "decode"),
            (intern!(py, "utf-8"), intern!(py, "surrogatepass")),
        )?;
        Ok(text.cast_into::<PyString>()?)
    }
}

/// The hash, its keys in the original's order (`PROPERTY` where the first property line
/// was). With `one_row`, a response with exactly one record gives that record instead of the
/// `PROPERTY` table, which stays `None` at its place (see `hexonet_parse_body`).
fn to_hash<'py, T: PyText + ?Sized>(
    py: Python<'py>,
    parsed: &hexonet::Parsed<'_, T>,
    one_row: bool,
    values: &mut Values<'py, '_>,
) -> PyResult<HashAndRow<'py>> {
    let hash = PyDict::new(py);
    let (before, after) = parsed.top.split_at(parsed.property_at);
    for (key, value) in before {
        hash.set_item(key.key(py)?, values.make(py, *value)?)?;
    }
    let mut row = None;
    if !parsed.columns.is_empty() {
        // Every column has at least one value, so as many values as columns means one each.
        let table = if one_row && parsed.values.len() == parsed.columns.len() {
            let record = PyDict::new(py);
            for &(column, value) in &parsed.values {
                if let Some(name) = parsed.columns.get(column) {
                    record.set_item(name.key(py)?, values.make(py, value)?)?;
                }
            }
            row = Some(record);
            py.None().into_bound(py)
        } else {
            property_table(py, parsed, values)?.into_any()
        };
        hash.set_item(intern!(py, "PROPERTY"), table)?;
    }
    for (key, value) in after {
        hash.set_item(key.key(py)?, values.make(py, *value)?)?;
    }
    Ok((hash, row))
}

/// `{NAME: [values]}`: each column's values first, then each list made at its final size in
/// one call (no appends growing it).
fn property_table<'py, T: PyText + ?Sized>(
    py: Python<'py>,
    parsed: &hexonet::Parsed<'_, T>,
    values: &mut Values<'py, '_>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut columns: Vec<Vec<Bound<'py, PyString>>> = vec![Vec::new(); parsed.columns.len()];
    for &(column, value) in &parsed.values {
        if let Some(list) = columns.get_mut(column) {
            list.push(values.make(py, value)?);
        }
    }
    let table = PyDict::new(py);
    for (name, list) in parsed.columns.iter().zip(columns) {
        table.set_item(name.key(py)?, PyList::new(py, list)?)?;
    }
    Ok(table)
}

/// How the value `str` objects of one parsed text are made. A long ASCII text's values are
/// cut out of the `str` of the piece of text that holds them: a cut of a `str` whose kind is
/// known copies the characters, where a `str` from UTF-8 bytes must check them again, value
/// by value. Values come in text order, so one piece of some 32 KB at a time is enough; the
/// next replaces it, in the memory it freed. (One `str` of a whole list page, the size of the
/// body, cost page faults on every parse once other work had run in between: 75 per 320 KB.)
enum Values<'py, 'a> {
    Each,
    Cut { text: &'a str, piece: Piece<'py> },
}

/// The bytes `start..end` of a text and their `str` (`None`: not ASCII, make each value).
struct Piece<'py> {
    start: usize,
    end: usize,
    text: Option<Bound<'py, PyString>>,
}

/// Texts shorter than this make each value on its own (the cuts gain less than their set-up).
const CUT_THRESHOLD: usize = 4096;

/// The size of a piece: a block the allocator hands back for the next one.
const PIECE: usize = 32 * 1024;

impl<'py> Piece<'py> {
    /// The piece of `text` from `start` (where a value starts) to just after the first `\n`
    /// at least [`PIECE`] bytes on: a value (never holding a `\n`) starting in it ends in it.
    fn at(py: Python<'py>, text: &str, start: usize) -> Piece<'py> {
        let bytes = text.as_bytes();
        let end = match bytes
            .get(start + PIECE..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        {
            Some(at) => start + PIECE + at + 1,
            None => text.len(),
        };
        let text = text
            .get(start..end)
            .and_then(|piece| ascii_str(PyString::new(py, piece), piece));
        Piece { start, end, text }
    }
}

impl<'py, 'a> Values<'py, 'a> {
    /// For a text given as bytes: its values cut from `str`s of its pieces when it is long.
    fn of(text: &'a str) -> Values<'py, 'a> {
        if text.len() < CUT_THRESHOLD {
            return Values::Each;
        }
        let none = Piece {
            start: 0,
            end: 0,
            text: None,
        };
        Values::Cut { text, piece: none }
    }

    /// For a text the caller passed as the `str` `whole`: its values cut from it when it is
    /// long and ASCII.
    fn cut_from(whole: Bound<'py, PyString>, text: &'a str) -> Values<'py, 'a> {
        if text.len() < CUT_THRESHOLD {
            return Values::Each;
        }
        match ascii_str(whole, text) {
            Some(whole) => Values::Cut {
                text,
                piece: Piece {
                    start: 0,
                    end: text.len(),
                    text: Some(whole),
                },
            },
            None => Values::Each,
        }
    }

    fn make<T: PyText + ?Sized>(
        &mut self,
        py: Python<'py>,
        value: &T,
    ) -> PyResult<Bound<'py, PyString>> {
        let Values::Cut { text, piece } = self else {
            return value.value(py);
        };
        let at = (value.as_bytes().as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        if !(piece.start <= at && at < piece.end) {
            *piece = Piece::at(py, text, at);
        }
        match &piece.text {
            // ASCII: byte offsets are character offsets.
            Some(whole) => {
                let from = at - piece.start;
                substring(whole, from, from + value.as_bytes().len())
            }
            None => value.value(py),
        }
    }
}

/// `whole`, the `str` of `text`, when it is ASCII: as many characters as bytes (Python checked
/// every byte making the `str`).
fn ascii_str<'py>(whole: Bound<'py, PyString>, text: &str) -> Option<Bound<'py, PyString>> {
    match whole.len() {
        Ok(chars) if chars == text.len() => Some(whole),
        _ => None,
    }
}

/// `whole[from:to]`.
fn substring<'py>(
    whole: &Bound<'py, PyString>,
    from: usize,
    to: usize,
) -> PyResult<Bound<'py, PyString>> {
    let (Ok(from), Ok(to)) = (isize::try_from(from), isize::try_from(to)) else {
        return Err(type_error("a value lies outside its response text"));
    };
    // SAFETY: `whole` is a live `str`; PyUnicode_Substring returns a new reference to a `str`
    // or NULL with an exception set (checked by `from_owned_ptr_or_err`).
    unsafe {
        let cut = pyo3::ffi::PyUnicode_Substring(whole.as_ptr(), from, to);
        Ok(Bound::from_owned_ptr_or_err(whole.py(), cut)?.cast_into_unchecked())
    }
}

/// Rows of a property table: row `i` maps each column that has an `i`-th value to it.
/// The value objects are shared with the columns, not copied.
#[pyfunction]
pub fn hexonet_rows<'py>(
    py: Python<'py>,
    properties: &Bound<'py, PyDict>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let mut columns: Vec<(Bound<'py, PyAny>, Bound<'py, PyList>)> =
        Vec::with_capacity(properties.len());
    for (key, values) in properties.iter() {
        let values = values
            .cast_into::<PyList>()
            .map_err(|_| type_error("every PROPERTY column must be a list of values"))?;
        columns.push((key, values));
    }
    let lengths: Vec<usize> = columns.iter().map(|(_, v)| v.len()).collect();
    let count = lengths.iter().copied().max().unwrap_or(0);
    let mut rows: Vec<Bound<'py, PyDict>> = Vec::with_capacity(count);
    for i in 0..count {
        // A row with the same columns as the previous one starts as its copy (a key-table
        // copy is cheaper than inserting the keys afresh); setting the values then only
        // replaces. Key order is the same either way.
        let row = match rows.last() {
            Some(previous) if !lengths.contains(&i) => previous.copy()?,
            _ => PyDict::new(py),
        };
        for ((key, values), &length) in columns.iter().zip(&lengths) {
            if i < length {
                row.set_item(key, values.get_item(i)?)?;
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// `ferrolink.hexonet.Record`: one row of a response, a dict `{COLUMN: value}`. A native
/// class so that a list page's records are made in one call ([`hexonet_records`]): a Python
/// class costs an `__init__` call per record, more than building the row itself. The free
/// list lets a page's records reuse the memory of the previous page's (not subclassable:
/// a subclass would inherit the free list's deallocator).
#[pyclass(
    module = "ferrolink.hexonet.record",
    name = "Record",
    frozen,
    freelist = 1024
)]
pub struct Record {
    data: Py<PyDict>,
}

#[pymethods]
impl Record {
    #[new]
    fn new(data: Bound<'_, PyDict>) -> Self {
        Record {
            data: data.unbind(),
        }
    }

    /// The row dict itself (the same object on every call).
    #[pyo3(name = "getData")]
    fn get_data_camel<'py>(&self, py: Python<'py>) -> Bound<'py, PyDict> {
        self.data.bind(py).clone()
    }

    fn get_data<'py>(&self, py: Python<'py>) -> Bound<'py, PyDict> {
        self.data.bind(py).clone()
    }

    /// The value of column `key`, `None` when the row has none.
    #[pyo3(name = "getDataByKey")]
    fn get_data_by_key_camel<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.data.bind(py).get_item(key)
    }

    fn get_data_by_key<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.data.bind(py).get_item(key)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Record({})", self.data.bind(py).repr()?))
    }

    /// Pickling and `copy` work as for the original's plain Python class.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> (Bound<'py, pyo3::types::PyType>, (Bound<'py, PyDict>,)) {
        (slf.get_type(), (slf.get().data.bind(slf.py()).clone(),))
    }
}

/// One `Record` per row dict, in order (each wraps its row, not a copy).
#[pyfunction]
pub fn hexonet_records<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyList>,
) -> PyResult<Bound<'py, PyList>> {
    let records = rows
        .iter()
        .map(|row| {
            let data = row
                .cast_into::<PyDict>()
                .map_err(|_| type_error("every row must be a dict"))?;
            Bound::new(py, Record::new(data))
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, records)
}

type ConnectionTuple = (
    Option<PyBackedStr>,
    Option<PyBackedStr>,
    Option<PyBackedStr>,
    Option<PyBackedStr>,
    Option<PyBackedStr>,
    Option<PyBackedStr>,
    Option<PyBackedStr>,
);

/// The form body: `connection` is `(entity, login, otp, pw, remoteaddr, session, user)`;
/// `command` is either the verbatim command text or `(KEY, VALUE)` pairs in send order.
#[pyfunction]
#[pyo3(signature = (connection, command, secured=false))]
pub fn hexonet_post_data(
    connection: ConnectionTuple,
    command: &Bound<'_, PyAny>,
    secured: bool,
) -> PyResult<String> {
    let (entity, login, otp, pw, remoteaddr, session, user) = &connection;
    let conn = Connection {
        entity: entity.as_deref(),
        login: login.as_deref(),
        otp: otp.as_deref(),
        pw: pw.as_deref(),
        remoteaddr: remoteaddr.as_deref(),
        session: session.as_deref(),
        user: user.as_deref(),
    };
    Ok(hexonet::post_data(&conn, &command_text(command)?, secured))
}

/// The form body as bytes, after `fields`: the connection fields as
/// `hexonet_post_data(connection, "")` wrote them (without its `s_command=`).
#[pyfunction]
pub fn hexonet_post_body<'py>(
    py: Python<'py>,
    fields: PyBackedStr,
    command: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let body = hexonet::post_data_after(&fields, &command_text(command)?);
    Ok(PyBytes::new(py, body.as_bytes()))
}

/// A flattened command, its form body and its IDN keys (see [`hexonet_command`]).
type Command<'py> = (
    Bound<'py, PyDict>,
    Bound<'py, PyBytes>,
    Vec<Bound<'py, PyString>>,
);

/// `request()`'s command in one call: the command flattened as the original sends it
/// (keys upper-cased, `None` values dropped, a list value `K: [a, b]` as `K0=a`, `K1=b`,
/// `str()` of anything else, `\r`/`\n` removed from values), its form body after `fields`
/// (keys sorted), and the keys whose values may need IDN conversion.
#[pyfunction]
pub fn hexonet_command<'py>(
    py: Python<'py>,
    fields: PyBackedStr,
    command: &Bound<'py, PyAny>,
) -> PyResult<Command<'py>> {
    let flat = PyDict::new(py);
    // The same command as text, in the dict's order (a repeated key keeps its first place and
    // takes the last value, as in the dict): each key and value is read from Python once.
    let mut pairs: Vec<(String, String)> = Vec::new();
    let items = match command.cast_exact::<PyDict>() {
        Ok(dict) => dict.items().into_any(),
        Err(_) => command.call_method0(intern!(py, "items"))?,
    };
    for item in items.try_iter()? {
        let (key, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item?.extract()?;
        if value.is_none() {
            continue;
        }
        let (upper, upper_text) = upper_key(&key)?;
        if value.is_instance_of::<PyList>() {
            for (i, element) in value.try_iter()?.enumerate() {
                let numbered = format!("{upper_text}{i}");
                let key = PyString::new(py, &numbered).into_any();
                put(
                    &flat,
                    &mut pairs,
                    (key, numbered),
                    one_line(element?.str()?)?,
                )?;
            }
        } else {
            let text = match value.cast_exact::<PyString>() {
                Ok(text) => text.clone(),
                Err(_) => value.str()?,
            };
            put(&flat, &mut pairs, (upper, upper_text), one_line(text)?)?;
        }
    }
    // In the command's order: a server-side ConvertIDN lists the names in this order.
    let idn_keys = pairs
        .iter()
        .filter(|(key, value)| hexonet::is_idn_key(key) && hexonet::needs_idn_conversion(value))
        .map(|(key, _)| PyString::new(py, key))
        .collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let body = hexonet::post_data_after(&fields, &hexonet::command_block(&pairs));
    Ok((flat, PyBytes::new(py, body.as_bytes()), idn_keys))
}

/// A Python object with its text.
type Texted<'py, T> = (Bound<'py, T>, String);

/// `flat[key] = value`, with `pairs` kept the same as text.
fn put<'py>(
    flat: &Bound<'py, PyDict>,
    pairs: &mut Vec<(String, String)>,
    (key, key_text): Texted<'py, PyAny>,
    (value, value_text): Texted<'py, PyString>,
) -> PyResult<()> {
    // A repeated key is rare: only then is the list searched.
    let repeated = flat.contains(&key)?;
    match pairs.iter_mut().find(|(k, _)| repeated && *k == key_text) {
        Some(pair) => pair.1 = value_text,
        None => pairs.push((key_text, value_text)),
    }
    flat.set_item(key, value)
}

/// `key.upper()` and its text; an upper-case ASCII `str` is returned as itself (no new
/// object).
fn upper_key<'py>(key: &Bound<'py, PyAny>) -> PyResult<Texted<'py, PyAny>> {
    if key.is_exact_instance_of::<PyString>() {
        let text: PyBackedStr = key.extract()?;
        if text.is_ascii() && !text.bytes().any(|b| b.is_ascii_lowercase()) {
            return Ok((key.clone(), text.to_string()));
        }
    }
    let upper = key.call_method0(intern!(key.py(), "upper"))?;
    let text: PyBackedStr = upper.extract()?;
    Ok((upper, text.to_string()))
}

/// `text` without `\r` and `\n`, and its text.
fn one_line(text: Bound<'_, PyString>) -> PyResult<Texted<'_, PyString>> {
    let s: PyBackedStr = text.extract()?;
    if !s.contains(['\r', '\n']) {
        return Ok((text, s.to_string()));
    }
    let stripped: String = s.chars().filter(|&c| c != '\r' && c != '\n').collect();
    Ok((PyString::new(text.py(), &stripped), stripped))
}

/// The command block: the verbatim text, or the block built from `(KEY, VALUE)` pairs.
fn command_text(command: &Bound<'_, PyAny>) -> PyResult<String> {
    if command.is_instance_of::<PyString>() {
        Ok(command.extract::<PyBackedStr>()?.to_string())
    } else {
        // Extraction errors pass through unchanged: a lone surrogate must stay a
        // UnicodeEncodeError the caller can name, not become a TypeError.
        let pairs: Vec<(PyBackedStr, PyBackedStr)> = command.extract()?;
        Ok(hexonet::command_block(&pairs))
    }
}

/// `urllib.parse.quote(text)` (safe characters: letters, digits, `_.-~/`).
#[pyfunction]
pub fn hexonet_quote(text: PyBackedStr) -> String {
    hexonet::quote(&text)
}
