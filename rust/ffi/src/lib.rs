//! libferrolink: ferrolink's codecs behind a C ABI (header: `include/ferrolink.h`).
//!
//! Conventions, the same for every function:
//! - Each call returns an [`FlStatus`]; on failure [`fl_last_error`] gives the reason as text.
//! - No Rust panic crosses the boundary: one would surface as `FL_STATUS_INTERNAL`.
//! - NULL where a pointer is required is `FL_STATUS_NULL_POINTER`; a NULL data pointer with
//!   length 0 is an empty input.
//! - Everything the library allocates has one free function: [`fl_buffer_free`],
//!   `fl_idigi_decoder_free`, `fl_hexonet_response_free`, `fl_myqtthub_pull_free`. Out-parameters
//!   are reset first, so freeing them after a failed call is safe.
//! - Borrowed views ([`FlSlice`]) are never freed by the caller; each function says how long
//!   they live.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use ferrolink_core::error::{Error, ErrorKind};

pub mod hexonet;
pub mod idigi;
pub mod myqtthub;

/// The outcome of a call. Negative values are failures; `fl_last_error` says why.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlStatus {
    Ok = 0,
    /// An argument was unusable (not UTF-8, out of range, unencodable).
    InvalidArgument = -1,
    /// The input violates the protocol or format (malformed frame, corrupt payload).
    Protocol = -2,
    /// A required pointer was NULL.
    NullPointer = -3,
    /// A bug inside the library (a caught panic); the message says where.
    Internal = -4,
}

/// Bytes the library allocated; release them with `fl_buffer_free`.
#[repr(C)]
#[derive(Debug)]
pub struct FlBuffer {
    pub data: *mut u8,
    pub len: usize,
}

/// Bytes borrowed from the library or from the caller; never freed through this view.
/// Text is UTF-8 and not NUL-terminated.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FlSlice {
    pub data: *const u8,
    pub len: usize,
}

impl FlSlice {
    #[cfg(test)]
    const EMPTY: FlSlice = FlSlice {
        data: std::ptr::null(),
        len: 0,
    };

    fn of(bytes: &[u8]) -> FlSlice {
        FlSlice {
            data: bytes.as_ptr(),
            len: bytes.len(),
        }
    }
}

impl FlBuffer {
    const EMPTY: FlBuffer = FlBuffer {
        data: std::ptr::null_mut(),
        len: 0,
    };

    fn from_vec(bytes: Vec<u8>) -> FlBuffer {
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        FlBuffer {
            data: Box::into_raw(boxed).cast::<u8>(),
            len,
        }
    }
}

/// Why a call failed: the status to return and the text for `fl_last_error`.
#[derive(Debug)]
pub(crate) struct Failure {
    status: FlStatus,
    message: String,
}

impl Failure {
    pub(crate) fn new(status: FlStatus, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(FlStatus::InvalidArgument, message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let status = match e.kind {
            ErrorKind::InvalidArgument => FlStatus::InvalidArgument,
            ErrorKind::Protocol | ErrorKind::BadRequest => FlStatus::Protocol,
            // The codecs behind this ABI never connect anywhere: any other kind is a bug here.
            ErrorKind::Connect
            | ErrorKind::Timeout
            | ErrorKind::Tls
            | ErrorKind::Authentication => FlStatus::Internal,
        };
        Failure::new(status, e.to_string())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set_last_error(message: &str) {
    // Interior NULs cannot cross as C text: replace them rather than lose the message.
    let text = CString::new(message.replace('\0', "\u{fffd}")).unwrap_or_default();
    LAST_ERROR.with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            *slot = text;
        }
    });
}

/// Run one entry point: its failure, or a panic, becomes a status plus the last-error text.
pub(crate) fn guard(body: impl FnOnce() -> Result<FlStatus, Failure>) -> FlStatus {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => status,
        Ok(Err(failure)) => {
            set_last_error(&failure.message);
            failure.status
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            set_last_error(&format!("internal error in libferrolink: {what}"));
            FlStatus::Internal
        }
    }
}

/// The caller's `len` bytes at `data` (NULL allowed when `len` is 0).
///
/// # Safety
/// `data` must point to `len` readable bytes that outlive the returned slice.
pub(crate) unsafe fn input<'a>(
    data: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Failure::new(
            FlStatus::NullPointer,
            format!("{what} is NULL with a length of {len}"),
        ));
    }
    // SAFETY: non-NULL, and the caller guarantees `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// Like [`input`], and the bytes must be UTF-8.
///
/// # Safety
/// As [`input`].
pub(crate) unsafe fn input_text<'a>(
    data: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { input(data, len, what) }?;
    std::str::from_utf8(bytes).map_err(|e| Failure::invalid(format!("{what} is not UTF-8: {e}")))
}

/// The caller's out-parameter, or a NULL_POINTER failure.
///
/// # Safety
/// `ptr` must be NULL or valid for writes of a `T` for the duration of the call.
pub(crate) unsafe fn out_param<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller guarantees a non-NULL `ptr` is valid for writes.
    unsafe { ptr.as_mut() }
        .ok_or_else(|| Failure::new(FlStatus::NullPointer, format!("{what} is NULL")))
}

/// Store `bytes` in the caller's buffer (which was reset before the work began).
pub(crate) fn deliver(out: &mut FlBuffer, bytes: Vec<u8>) -> Result<FlStatus, Failure> {
    *out = FlBuffer::from_vec(bytes);
    Ok(FlStatus::Ok)
}

/// Reset `*out` to empty and return it: a later free is then safe whatever happens.
///
/// # Safety
/// As [`out_param`].
pub(crate) unsafe fn out_buffer<'a>(out: *mut FlBuffer) -> Result<&'a mut FlBuffer, Failure> {
    // SAFETY: forwarded contract.
    let out = unsafe { out_param(out, "out") }?;
    *out = FlBuffer::EMPTY;
    Ok(out)
}

/// Free what `Box::into_raw` made `T` into, seen through `ptr` (a `T` itself, or the `repr(C)`
/// first field of one); NULL is ignored, and a panic in a destructor stays on this side.
///
/// # Safety
/// `ptr` must be NULL or come from `Box::<T>::into_raw`, and be freed once.
pub(crate) unsafe fn free_boxed<T, V>(ptr: *const V) {
    if !ptr.is_null() {
        let _ = guard(|| {
            // SAFETY: caller contract.
            drop(unsafe { Box::from_raw(ptr.cast_mut().cast::<T>()) });
            Ok(FlStatus::Ok)
        });
    }
}

const EMPTY_TEXT: &[u8] = b"\0";

/// The reason the last failing call on this thread failed (UTF-8, NUL-terminated; empty if
/// none failed yet). Valid until the next failing call on the same thread; never freed.
#[no_mangle]
pub extern "C" fn fl_last_error() -> *const c_char {
    LAST_ERROR.with(|cell| match cell.try_borrow() {
        Ok(text) => text.as_ptr(),
        Err(_) => EMPTY_TEXT.as_ptr().cast(),
    })
}

/// The library version, e.g. "0.1.0" (static, never freed).
#[no_mangle]
pub extern "C" fn fl_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Release a buffer the library filled; safe on an empty or already freed buffer and on NULL.
///
/// # Safety
/// `buffer` must be NULL or point to an `FlBuffer` that this library filled (or reset).
#[no_mangle]
pub unsafe extern "C" fn fl_buffer_free(buffer: *mut FlBuffer) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller guarantees NULL or a valid FlBuffer.
        let Some(buffer) = (unsafe { buffer.as_mut() }) else {
            return;
        };
        if !buffer.data.is_null() {
            let slice = std::ptr::slice_from_raw_parts_mut(buffer.data, buffer.len);
            // SAFETY: `data`/`len` came from `Box::<[u8]>::into_raw` in `FlBuffer::from_vec`.
            drop(unsafe { Box::from_raw(slice) });
        }
        *buffer = FlBuffer::EMPTY;
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_internal_with_a_message() {
        let status = guard(|| panic!("boom"));
        assert_eq!(status, FlStatus::Internal);
        // SAFETY: fl_last_error returns a valid NUL-terminated string.
        let text = unsafe { std::ffi::CStr::from_ptr(fl_last_error()) };
        assert!(text.to_str().unwrap().contains("boom"));
    }

    #[test]
    fn buffers_free_once_and_tolerate_null() {
        let mut buf = FlBuffer::from_vec(b"abc".to_vec());
        // SAFETY: a buffer this library filled, then the reset one, then NULL.
        unsafe {
            fl_buffer_free(&mut buf);
            assert!(buf.data.is_null());
            fl_buffer_free(&mut buf);
            fl_buffer_free(std::ptr::null_mut());
        }
        let mut empty = FlBuffer::from_vec(Vec::new());
        // SAFETY: as above.
        unsafe { fl_buffer_free(&mut empty) };
    }

    #[test]
    fn null_inputs_are_errors_unless_empty() {
        // SAFETY: NULL with length 0 is never read.
        assert_eq!(unsafe { input(std::ptr::null(), 0, "x") }.unwrap(), b"");
        // SAFETY: NULL with a length is rejected before any read.
        let err = unsafe { input(std::ptr::null(), 3, "x") }.unwrap_err();
        assert_eq!(err.status, FlStatus::NullPointer);
        let bad = [0xffu8];
        // SAFETY: a live one-byte array.
        let err = unsafe { input_text(bad.as_ptr(), 1, "name") }.unwrap_err();
        assert_eq!(err.status, FlStatus::InvalidArgument);
    }
}
