//! HEXONET: the response parser (to a flat, documented result) and the command encoder.

use std::borrow::Cow;

use ferrolink_core::hexonet::{self, Connection};

use crate::{
    deliver, free_boxed, guard, input, input_text, out_buffer, out_param, FlBuffer, FlSlice,
    FlStatus,
};

/// A `KEY = VALUE` pair: a top-level line of a response, or one field of a command.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FlHexonetEntry {
    pub key: FlSlice,
    pub value: FlSlice,
}

/// One `PROPERTY[NAME][i] = VALUE` line: the value and the index of its column.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FlHexonetValue {
    pub column: usize,
    pub value: FlSlice,
}

/// A parsed response, flat (every view is owned by the response; free it with
/// `fl_hexonet_response_free`):
/// - `top`: the top-level keys, upper-cased, in line order with duplicates (insert them into a
///   map in order: the last value wins);
/// - `columns`: the property names, upper-cased and without whitespace, in order of first
///   appearance;
/// - `values`: every property value in order of appearance, tagged with its column (the `[i]`
///   in the text is ignored: a column's values are its values in order);
/// - `property_at`: how many `top` entries precede the first property line (`top_len` when
///   there is none): a map that keeps insertion order gets the property table there, as the
///   original's hash does.
///
/// Lines that are not `KEY = VALUE` are skipped; a top-level key `PROPERTY` is ignored.
#[repr(C)]
#[derive(Debug)]
pub struct FlHexonetResponse {
    pub top: *const FlHexonetEntry,
    pub top_len: usize,
    pub columns: *const FlSlice,
    pub columns_len: usize,
    pub values: *const FlHexonetValue,
    pub values_len: usize,
    pub property_at: usize,
}

/// The response and everything its views point into. `view` comes first, so a pointer to
/// it is a pointer to the whole.
#[repr(C)]
struct OwnedResponse {
    view: FlHexonetResponse,
    _text: Box<[u8]>,
    _keys: Vec<Box<[u8]>>,
    _top: Vec<FlHexonetEntry>,
    _columns: Vec<FlSlice>,
    _values: Vec<FlHexonetValue>,
}

/// A view of `s`, keeping the heap copy in `keep` when it is not borrowed from the text.
fn keep_bytes(s: Cow<'_, [u8]>, keep: &mut Vec<Box<[u8]>>) -> FlSlice {
    match s {
        Cow::Borrowed(b) => FlSlice::of(b),
        Cow::Owned(o) => {
            let boxed = o.into_boxed_slice();
            let view = FlSlice::of(&boxed);
            keep.push(boxed);
            view
        }
    }
}

fn parse_owned(text: Box<[u8]>) -> Box<OwnedResponse> {
    let mut keys = Vec::new();
    let (top, columns, values, property_at) = {
        let parsed = hexonet::parse_text::<[u8]>(&text);
        let property_at = parsed.property_at;
        let top: Vec<FlHexonetEntry> = parsed
            .top
            .into_iter()
            .map(|(key, value)| FlHexonetEntry {
                key: keep_bytes(key, &mut keys),
                value: FlSlice::of(value),
            })
            .collect();
        let columns: Vec<FlSlice> = parsed
            .columns
            .into_iter()
            .map(|name| keep_bytes(name, &mut keys))
            .collect();
        let values: Vec<FlHexonetValue> = parsed
            .values
            .into_iter()
            .map(|(column, value)| FlHexonetValue {
                column,
                value: FlSlice::of(value),
            })
            .collect();
        (top, columns, values, property_at)
    };
    // Moving the boxes and vectors below moves no heap data: every view stays valid.
    Box::new(OwnedResponse {
        view: FlHexonetResponse {
            top: top.as_ptr(),
            top_len: top.len(),
            columns: columns.as_ptr(),
            columns_len: columns.len(),
            values: values.as_ptr(),
            values_len: values.len(),
            property_at,
        },
        _text: text,
        _keys: keys,
        _top: top,
        _columns: columns,
        _values: values,
    })
}

/// Parse a response text of `len` bytes into `*out`. Never fails on any bytes: UTF-8 is the
/// encoding, and bytes that are not UTF-8 pass through untouched (keys are upper-cased only
/// where they are UTF-8).
///
/// # Safety
/// `text` readable for `len` bytes; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fl_hexonet_parse(
    text: *const u8,
    len: usize,
    out: *mut *const FlHexonetResponse,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let out = unsafe { out_param(out, "out") }?;
        *out = std::ptr::null();
        // SAFETY: caller contract.
        let text = unsafe { input(text, len, "response text") }?;
        let owned = Box::into_raw(parse_owned(text.into()));
        // `view` is the first field of a repr(C) struct: same address.
        *out = owned.cast_const().cast::<FlHexonetResponse>();
        Ok(FlStatus::Ok)
    })
}

/// Free a response from `fl_hexonet_parse` (NULL is ignored).
///
/// # Safety
/// `response` must be NULL or from `fl_hexonet_parse`, freed once.
#[no_mangle]
pub unsafe extern "C" fn fl_hexonet_response_free(response: *const FlHexonetResponse) {
    // SAFETY: it points to the OwnedResponse that fl_hexonet_parse leaked (caller contract).
    unsafe { free_boxed::<OwnedResponse, _>(response) }
}

/// # Safety
/// `pairs` readable for `len` entries whose views are readable.
unsafe fn entries<'a>(
    pairs: *const FlHexonetEntry,
    len: usize,
) -> Result<Vec<(&'a str, &'a str)>, crate::Failure> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if pairs.is_null() {
        return Err(crate::Failure::new(FlStatus::NullPointer, "pairs is NULL"));
    }
    // SAFETY: non-NULL, `len` entries (caller contract).
    let pairs = unsafe { std::slice::from_raw_parts(pairs, len) };
    pairs
        .iter()
        .map(|p| {
            // SAFETY: caller contract on each view.
            let key = unsafe { input_text(p.key.data, p.key.len, "a command key") }?;
            // SAFETY: as above.
            let value = unsafe { input_text(p.value.data, p.value.len, "a command value") }?;
            Ok((key, value))
        })
        .collect()
}

/// The `s_command` block of a command given as pairs in the order to send: `KEY=VALUE` lines
/// (CR and LF removed from values) joined by `\n`.
///
/// # Safety
/// `pairs` readable for `len` entries; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fl_hexonet_command_block(
    pairs: *const FlHexonetEntry,
    len: usize,
    out: *mut FlBuffer,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let out = unsafe { out_buffer(out) }?;
        // SAFETY: caller contract.
        let pairs = unsafe { entries(pairs, len) }?;
        deliver(out, hexonet::command_block(&pairs).into_bytes())
    })
}

/// The connection fields of a request; a NULL `data` (or an empty value) leaves it out.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FlHexonetConnection {
    pub entity: FlSlice,
    pub login: FlSlice,
    pub otp: FlSlice,
    pub pw: FlSlice,
    pub remoteaddr: FlSlice,
    pub session: FlSlice,
    pub user: FlSlice,
}

/// # Safety
/// The view must be readable when `data` is not NULL.
unsafe fn field<'a>(view: FlSlice, name: &str) -> Result<Option<&'a str>, crate::Failure> {
    if view.data.is_null() {
        return Ok(None);
    }
    // SAFETY: caller contract.
    unsafe { input_text(view.data, view.len, name) }.map(Some)
}

/// The form body: `s_<field>=<value>&` per present connection field, then
/// `s_command=<block>`, percent-encoded like Python's `urllib.parse.quote`. `secured` masks
/// the password field and `PASSWORD=` lines as `***` (for logs).
///
/// # Safety
/// `connection` readable (its views too); `block` readable for `block_len`; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fl_hexonet_post_data(
    connection: *const FlHexonetConnection,
    block: *const u8,
    block_len: usize,
    secured: bool,
    out: *mut FlBuffer,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let out = unsafe { out_buffer(out) }?;
        // SAFETY: caller contract.
        let c = unsafe { connection.as_ref() }
            .ok_or_else(|| crate::Failure::new(FlStatus::NullPointer, "connection is NULL"))?;
        // SAFETY: caller contract on every view.
        let conn = unsafe {
            Connection {
                entity: field(c.entity, "entity")?,
                login: field(c.login, "login")?,
                otp: field(c.otp, "otp")?,
                pw: field(c.pw, "pw")?,
                remoteaddr: field(c.remoteaddr, "remoteaddr")?,
                session: field(c.session, "session")?,
                user: field(c.user, "user")?,
            }
        };
        // SAFETY: caller contract.
        let block = unsafe { input_text(block, block_len, "block") }?;
        deliver(out, hexonet::post_data(&conn, block, secured).into_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: FlSlice) -> &'static str {
        // SAFETY: views of a response alive for the whole test.
        std::str::from_utf8(unsafe { std::slice::from_raw_parts(s.data, s.len) }).unwrap()
    }

    #[test]
    fn flat_result_of_the_spec_example() {
        let body = "[RESPONSE]\r\ncode = 200\r\nDESCRIPTION = Command completed successfully\r\n\
                    PROPERTY[DOMAIN][0] = example.com\r\nproperty[domain][1] = example.net\r\n\
                    PROPERTY[TOTAL][0] = 2\r\nEOF\r\n";
        let mut r = std::ptr::null();
        // SAFETY: a live string and an out-parameter on the stack.
        assert_eq!(
            unsafe { fl_hexonet_parse(body.as_ptr(), body.len(), &mut r) },
            FlStatus::Ok
        );
        // SAFETY: fl_hexonet_parse succeeded.
        let resp = unsafe { &*r };
        // SAFETY: views owned by `resp`.
        let top = unsafe { std::slice::from_raw_parts(resp.top, resp.top_len) };
        assert_eq!(text(top[0].key), "CODE");
        assert_eq!(text(top[0].value), "200");
        assert_eq!(resp.property_at, 2); // after CODE and DESCRIPTION
                                         // SAFETY: as above.
        let columns = unsafe { std::slice::from_raw_parts(resp.columns, resp.columns_len) };
        assert_eq!(
            columns.iter().map(|c| text(*c)).collect::<Vec<_>>(),
            ["DOMAIN", "TOTAL"]
        );
        // SAFETY: as above.
        let values = unsafe { std::slice::from_raw_parts(resp.values, resp.values_len) };
        assert_eq!(values[1].column, 0);
        assert_eq!(text(values[1].value), "example.net");
        // SAFETY: freed once.
        unsafe { fl_hexonet_response_free(r) };
    }

    #[test]
    fn bytes_that_are_not_utf8_pass_through() {
        let body = b"co\xffde = \xfe\r\nproperty[d\xffx][0] = 1";
        let mut r = std::ptr::null();
        // SAFETY: a live array and an out-parameter on the stack.
        assert_eq!(
            unsafe { fl_hexonet_parse(body.as_ptr(), body.len(), &mut r) },
            FlStatus::Ok
        );
        // SAFETY: fl_hexonet_parse succeeded; views owned by the response.
        unsafe {
            let top = &*(*r).top;
            let key = std::slice::from_raw_parts(top.key.data, top.key.len);
            assert_eq!(key, b"CO\xffDE");
            let column = &*(*r).columns;
            assert_eq!(
                std::slice::from_raw_parts(column.data, column.len),
                b"D\xffX"
            );
            fl_hexonet_response_free(r);
        }
    }

    #[test]
    fn command_and_post_data() {
        let pairs = [
            FlHexonetEntry {
                key: FlSlice::of(b"COMMAND"),
                value: FlSlice::of(b"CheckAuthentication"),
            },
            FlHexonetEntry {
                key: FlSlice::of(b"PASSWORD"),
                value: FlSlice::of(b"se\ncret"),
            },
        ];
        let mut block = FlBuffer::EMPTY;
        // SAFETY: live pairs and buffer.
        assert_eq!(
            unsafe { fl_hexonet_command_block(pairs.as_ptr(), pairs.len(), &mut block) },
            FlStatus::Ok
        );
        // SAFETY: filled by the library.
        let text_block = unsafe { std::slice::from_raw_parts(block.data, block.len) };
        assert_eq!(text_block, b"COMMAND=CheckAuthentication\nPASSWORD=secret");
        let mut conn = FlHexonetConnection {
            entity: FlSlice::of(b"54cd"),
            login: FlSlice::of(b"test.user"),
            otp: FlSlice::EMPTY,
            pw: FlSlice::of(b"pw"),
            remoteaddr: FlSlice::EMPTY,
            session: FlSlice::EMPTY,
            user: FlSlice::EMPTY,
        };
        let mut body = FlBuffer::EMPTY;
        // SAFETY: live views and buffers.
        let status = unsafe { fl_hexonet_post_data(&conn, block.data, block.len, true, &mut body) };
        assert_eq!(status, FlStatus::Ok);
        // SAFETY: filled by the library.
        let body_text = unsafe { std::slice::from_raw_parts(body.data, body.len) };
        assert_eq!(
            body_text,
            &b"s_entity=54cd&s_login=test.user&s_pw=***&s_command=COMMAND%3DCheckAuthentication%0APASSWORD%3D%2A%2A%2A"[..]
        );
        conn.login = FlSlice {
            data: b"\xff".as_ptr(),
            len: 1,
        };
        // SAFETY: as above.
        let status = unsafe { fl_hexonet_post_data(&conn, block.data, block.len, true, &mut body) };
        assert_eq!(status, FlStatus::InvalidArgument);
        // SAFETY: buffers filled (or reset) by the library.
        unsafe {
            crate::fl_buffer_free(&mut block);
            crate::fl_buffer_free(&mut body);
        }
    }
}
