//! iDigi push protocol: the incremental frame decoder, the client's encoders, inflate.

use std::collections::VecDeque;

use ferrolink_core::error::Error;
use ferrolink_core::idigi::codec::{self, Decoded, DecoderLimits, FrameDecoder, Message};
use ferrolink_core::idigi::inflate::Inflater;

use crate::{
    deliver, free_boxed, guard, input, input_text, out_buffer, out_param, Failure, FlBuffer,
    FlSlice, FlStatus,
};

/// Length of an ack (PublishMessageReceived) and of a ConnectResponse.
pub const FL_IDIGI_ACK_LEN: usize = 10;

/// What a decoder accepts from a peer (every allocation it makes is bounded by these). Start
/// from `fl_idigi_limits_default()` and change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FlIdigiLimits {
    /// Largest frame accepted (the header's size field); a larger one fails the stream.
    pub max_frame_size: usize,
    /// Largest inflated payload of one frame; a larger one fails that frame only.
    pub max_payload_size: usize,
    /// Inflated bytes one feed may produce. Frames past it stay in the decoder, in order, and
    /// come out of the next feed (a feed of 0 bytes drains them; see `fl_idigi_decoder_backlog`).
    pub max_inflated_per_feed: usize,
}

/// One decoded message. `message_type` says which fields are set (the others are 0/empty):
/// - 1 ConnectRequest: `version`, `username`, `password`, `monitor_id`;
/// - 2 ConnectResponse: `status`, `version`;
/// - 3 PublishMessage: `block_id`, `count`, `compression`, `format`, `payload` (inflated);
/// - 4 PublishMessageReceived (ack): `block_id`, `status`;
/// - any other: a type the protocol does not define; `size` body bytes were skipped.
///
/// `username`, `password` and `payload` point into the decoder: valid until the next call on it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FlIdigiFrame {
    pub message_type: u16,
    pub version: u16,
    pub status: u16,
    pub block_id: u16,
    pub count: u16,
    /// The Compression byte as sent (0 none, 1 zlib); `payload` is always inflated.
    pub compression: u8,
    /// 0 XML, 1 JSON.
    pub format: u8,
    pub monitor_id: u32,
    pub size: u32,
    pub username: FlSlice,
    pub password: FlSlice,
    pub payload: FlSlice,
}

impl FlIdigiFrame {
    const EMPTY: FlIdigiFrame = FlIdigiFrame {
        message_type: 0,
        version: 0,
        status: 0,
        block_id: 0,
        count: 0,
        compression: 0,
        format: 0,
        monitor_id: 0,
        size: 0,
        username: FlSlice::EMPTY,
        password: FlSlice::EMPTY,
        payload: FlSlice::EMPTY,
    };

    /// A view of `message`, borrowing its bytes.
    fn of(message: &Message) -> FlIdigiFrame {
        let mut frame = FlIdigiFrame::EMPTY;
        match message {
            Message::ConnectRequest {
                version,
                username,
                password,
                monitor_id,
            } => {
                frame.message_type = codec::CONNECT_REQUEST;
                frame.version = *version;
                frame.username = FlSlice::of(username.as_bytes());
                frame.password = FlSlice::of(password.as_bytes());
                frame.monitor_id = *monitor_id;
            }
            Message::ConnectResponse { status, version } => {
                frame.message_type = codec::CONNECT_RESPONSE;
                frame.status = *status;
                frame.version = *version;
            }
            Message::Publish(p) => {
                frame.message_type = codec::PUBLISH_MESSAGE;
                frame.block_id = p.block_id;
                frame.count = p.count;
                frame.compression = p.compression;
                frame.format = p.format;
                frame.payload = FlSlice::of(&p.payload);
            }
            Message::Ack { block_id, status } => {
                frame.message_type = codec::PUBLISH_MESSAGE_RECEIVED;
                frame.block_id = *block_id;
                frame.status = *status;
            }
            Message::Unknown { message_type, size } => {
                frame.message_type = *message_type;
                frame.size = *size;
            }
        }
        frame
    }
}

/// A run of consecutive good frames taken at once by `fl_idigi_decoder_take`; they and their
/// views stay valid until the next call on the decoder.
#[repr(C)]
#[derive(Debug)]
pub struct FlIdigiBatch {
    pub frames: *const FlIdigiFrame,
    pub len: usize,
}

/// An incremental decoder (opaque): feed bytes in chunks of any size, take frames one by one
/// (`fl_idigi_decoder_next`) or in runs (`fl_idigi_decoder_take`).
pub struct FlIdigiDecoder {
    inner: FrameDecoder,
    /// What the core appends to on each feed.
    scratch: Vec<Decoded>,
    /// Results not taken yet, in stream order.
    ready: VecDeque<Decoded>,
    /// The messages last handed out (one by `next`, a run by `take`): the views' owners.
    taken: Vec<Message>,
    /// The views of a run handed out by `take`.
    batch: Vec<FlIdigiFrame>,
}

impl FlIdigiDecoder {
    /// Hand out the leading run of good results: a binding then reads a whole run per call.
    fn take_run(&mut self) -> &[FlIdigiFrame] {
        let run = self.ready.iter().take_while(|r| r.is_ok()).count();
        self.taken.clear();
        self.taken.extend(self.ready.drain(..run).flatten());
        self.batch.clear();
        self.batch.extend(self.taken.iter().map(FlIdigiFrame::of));
        &self.batch
    }
}

/// The defaults the Python package uses (64 MiB frames and payloads, 256 MiB per feed).
#[no_mangle]
pub extern "C" fn fl_idigi_limits_default() -> FlIdigiLimits {
    let limits = DecoderLimits::default();
    FlIdigiLimits {
        max_frame_size: limits.max_frame,
        max_payload_size: limits.max_inflated_frame,
        max_inflated_per_feed: limits.max_inflated_per_feed,
    }
}

/// Create a decoder into `*out` (free it with `fl_idigi_decoder_free`). `limits` NULL means
/// the defaults; a limit of 0 is INVALID_ARGUMENT.
///
/// # Safety
/// `limits` must be NULL or valid for reads; `out` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn fl_idigi_decoder_new(
    limits: *const FlIdigiLimits,
    out: *mut *mut FlIdigiDecoder,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let out = unsafe { out_param(out, "out") }?;
        *out = std::ptr::null_mut();
        // SAFETY: caller contract.
        let limits = unsafe { limits.as_ref() }
            .copied()
            .unwrap_or_else(|| fl_idigi_limits_default());
        if limits.max_frame_size == 0
            || limits.max_payload_size == 0
            || limits.max_inflated_per_feed == 0
        {
            return Err(Failure::invalid(
                "max_frame_size, max_payload_size and max_inflated_per_feed must be positive",
            ));
        }
        let decoder = FlIdigiDecoder {
            inner: FrameDecoder::new(DecoderLimits {
                max_frame: limits.max_frame_size,
                max_inflated_frame: limits.max_payload_size,
                max_inflated_per_feed: limits.max_inflated_per_feed,
            }),
            scratch: Vec::new(),
            ready: VecDeque::new(),
            taken: Vec::new(),
            batch: Vec::new(),
        };
        *out = Box::into_raw(Box::new(decoder));
        Ok(FlStatus::Ok)
    })
}

/// Free a decoder (NULL is ignored). Frames taken from it become invalid.
///
/// # Safety
/// `decoder` must be NULL or come from `fl_idigi_decoder_new`, and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn fl_idigi_decoder_free(decoder: *mut FlIdigiDecoder) {
    // SAFETY: the pointer came from Box::into_raw in fl_idigi_decoder_new (caller contract).
    unsafe { free_boxed::<FlIdigiDecoder, _>(decoder) }
}

/// # Safety
/// `decoder` must be NULL or a live decoder not used by another thread during the call.
unsafe fn decoder_mut<'a>(decoder: *mut FlIdigiDecoder) -> Result<&'a mut FlIdigiDecoder, Failure> {
    // SAFETY: caller contract.
    unsafe { out_param(decoder, "decoder") }
}

/// Decode everything `data` completes; take the results with `fl_idigi_decoder_next`.
/// `*frames_ready` (if not NULL) receives how many results are waiting. Malformed frames are
/// reported by `fl_idigi_decoder_next` in their place in the stream, so this returns OK.
///
/// # Safety
/// `decoder` live; `data` readable for `len` bytes; `frames_ready` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fl_idigi_decoder_feed(
    decoder: *mut FlIdigiDecoder,
    data: *const u8,
    len: usize,
    frames_ready: *mut usize,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let d = unsafe { decoder_mut(decoder) }?;
        // SAFETY: caller contract.
        let data = unsafe { input(data, len, "data") }?;
        d.inner.feed(data, &mut d.scratch);
        d.ready.extend(d.scratch.drain(..));
        // SAFETY: caller contract.
        if let Some(ready) = unsafe { frames_ready.as_mut() } {
            *ready = d.ready.len();
        }
        Ok(FlStatus::Ok)
    })
}

/// Take the next result into `*frame`: OK with a frame, END when none is left, or PROTOCOL
/// for a malformed frame (the message says why; call again for the frames after it).
///
/// # Safety
/// `decoder` live; `frame` writable.
#[no_mangle]
pub unsafe extern "C" fn fl_idigi_decoder_next(
    decoder: *mut FlIdigiDecoder,
    frame: *mut FlIdigiFrame,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let d = unsafe { decoder_mut(decoder) }?;
        // SAFETY: caller contract.
        let frame = unsafe { out_param(frame, "frame") }?;
        *frame = FlIdigiFrame::EMPTY;
        d.taken.clear();
        match d.ready.pop_front() {
            None => Ok(FlStatus::End),
            Some(Err(e)) => Err(Error::protocol(e).into()),
            Some(Ok(message)) => {
                // Moving the message moves none of the heap bytes the views show.
                *frame = FlIdigiFrame::of(&message);
                d.taken.push(message);
                Ok(FlStatus::Ok)
            }
        }
    })
}

/// Take the leading run of good frames at once into `*batch`: OK with at least one frame, END
/// when none is left, or PROTOCOL for a malformed frame (the message says why; call again for
/// the frames after it). The faster way to drain a decoder from a binding.
///
/// # Safety
/// `decoder` live; `batch` writable.
#[no_mangle]
pub unsafe extern "C" fn fl_idigi_decoder_take(
    decoder: *mut FlIdigiDecoder,
    batch: *mut FlIdigiBatch,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let d = unsafe { decoder_mut(decoder) }?;
        // SAFETY: caller contract.
        let batch = unsafe { out_param(batch, "batch") }?;
        *batch = FlIdigiBatch {
            frames: std::ptr::null(),
            len: 0,
        };
        match d.ready.front() {
            None => Ok(FlStatus::End),
            Some(Err(_)) => match d.ready.pop_front() {
                Some(Err(e)) => Err(Error::protocol(e).into()),
                _ => Err(Failure::new(FlStatus::Internal, "decoder queue changed")),
            },
            Some(Ok(_)) => {
                let frames = d.take_run();
                *batch = FlIdigiBatch {
                    frames: frames.as_ptr(),
                    len: frames.len(),
                };
                Ok(FlStatus::Ok)
            }
        }
    })
}

/// # Safety
/// `decoder` NULL or live; `out` NULL or writable.
unsafe fn report(
    decoder: *const FlIdigiDecoder,
    out: *mut usize,
    what: impl FnOnce(&FrameDecoder) -> usize,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let d = unsafe { decoder.as_ref() }
            .ok_or_else(|| Failure::new(FlStatus::NullPointer, "decoder is NULL"))?;
        // SAFETY: caller contract.
        *unsafe { out_param(out, "out") }? = what(&d.inner);
        Ok(FlStatus::Ok)
    })
}

/// Bytes of an incomplete frame the decoder holds, into `*out`.
///
/// # Safety
/// `decoder` live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fl_idigi_decoder_buffered(
    decoder: *const FlIdigiDecoder,
    out: *mut usize,
) -> FlStatus {
    // SAFETY: forwarded contract.
    unsafe { report(decoder, out, FrameDecoder::buffered) }
}

/// Complete frames held back by the per-feed inflate budget, into `*out`; a feed of 0 bytes
/// releases the next budget's worth.
///
/// # Safety
/// `decoder` live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fl_idigi_decoder_backlog(
    decoder: *const FlIdigiDecoder,
    out: *mut usize,
) -> FlStatus {
    // SAFETY: forwarded contract.
    unsafe { report(decoder, out, FrameDecoder::backlog) }
}

/// ConnectRequest: protocol version 1, UTF-8 credentials (at most 65535 bytes each).
///
/// # Safety
/// Each pointer readable for its length; `out` writable (free it with `fl_buffer_free`).
#[no_mangle]
pub unsafe extern "C" fn fl_idigi_encode_connect_request(
    username: *const u8,
    username_len: usize,
    password: *const u8,
    password_len: usize,
    monitor_id: u32,
    out: *mut FlBuffer,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let out = unsafe { out_buffer(out) }?;
        // SAFETY: caller contract.
        let username = unsafe { input_text(username, username_len, "username") }?;
        // SAFETY: caller contract.
        let password = unsafe { input_text(password, password_len, "password") }?;
        let frame =
            codec::encode_connect_request(username, password, monitor_id).map_err(Error::from)?;
        deliver(out, frame)
    })
}

/// The documented 10-byte ack `0004 00000004 <block_id> <status>` into `out`
/// (`out_len` at least `FL_IDIGI_ACK_LEN`).
///
/// # Safety
/// `out` writable for `out_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn fl_idigi_encode_ack(
    block_id: u16,
    status: u16,
    out: *mut u8,
    out_len: usize,
) -> FlStatus {
    guard(|| {
        if out.is_null() {
            return Err(Failure::new(FlStatus::NullPointer, "out is NULL"));
        }
        if out_len < FL_IDIGI_ACK_LEN {
            return Err(Failure::invalid(format!(
                "an ack is {FL_IDIGI_ACK_LEN} bytes; out has room for {out_len}"
            )));
        }
        let ack = codec::encode_ack(block_id, status);
        // SAFETY: `out` is non-NULL and writable for at least 10 bytes (caller contract).
        unsafe { std::ptr::copy_nonoverlapping(ack.as_ptr(), out, ack.len()) };
        Ok(FlStatus::Ok)
    })
}

/// PublishMessage; with `compression` 1 the payload is zlib-compressed here (a server's or a
/// test's encoder).
///
/// # Safety
/// `payload` readable for `payload_len` bytes; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fl_idigi_encode_publish(
    block_id: u16,
    count: u16,
    compression: u8,
    format: u8,
    payload: *const u8,
    payload_len: usize,
    out: *mut FlBuffer,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let out = unsafe { out_buffer(out) }?;
        // SAFETY: caller contract.
        let payload = unsafe { input(payload, payload_len, "payload") }?;
        let frame = codec::encode_publish(block_id, count, compression, format, payload)
            .map_err(Error::from)?;
        deliver(out, frame)
    })
}

/// Inflate one payload (zlib, raw deflate or gzip, sniffed); more than `max_output` bytes
/// of output is PROTOCOL (a decompression bomb), as is corrupt data.
///
/// # Safety
/// `data` readable for `len` bytes; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fl_inflate(
    data: *const u8,
    len: usize,
    max_output: usize,
    out: *mut FlBuffer,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let out = unsafe { out_buffer(out) }?;
        // SAFETY: caller contract.
        let data = unsafe { input(data, len, "data") }?;
        let inflated = Inflater::new()
            .inflate(data, max_output)
            .map_err(Error::protocol)?;
        deliver(out, inflated)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take_all(d: *mut FlIdigiDecoder) -> Vec<Result<FlIdigiFrame, String>> {
        let mut got = Vec::new();
        loop {
            let mut frame = FlIdigiFrame::EMPTY;
            // SAFETY: a live decoder and a local frame.
            match unsafe { fl_idigi_decoder_next(d, &mut frame) } {
                FlStatus::Ok => got.push(Ok(frame)),
                FlStatus::End => return got,
                FlStatus::Protocol => {
                    // SAFETY: a valid C string.
                    let text = unsafe { std::ffi::CStr::from_ptr(crate::fl_last_error()) };
                    got.push(Err(text.to_string_lossy().into_owned()));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn decode_byte_by_byte_with_a_bad_frame_between() {
        let mut stream = codec::encode_publish(0x01a7, 2, 1, 1, b"{\"a\":1}").unwrap();
        stream.extend(codec::encode_publish_raw(7, 1, 1, 1, b"\x78\x9c\xff").unwrap());
        stream.extend(codec::encode_ack(300, 200));
        let mut d = std::ptr::null_mut();
        // SAFETY: out-parameter on the stack; NULL limits mean defaults.
        assert_eq!(
            unsafe { fl_idigi_decoder_new(std::ptr::null(), &mut d) },
            FlStatus::Ok
        );
        for byte in &stream {
            let mut ready = 0;
            // SAFETY: one live byte.
            let status = unsafe { fl_idigi_decoder_feed(d, byte, 1, &mut ready) };
            assert_eq!(status, FlStatus::Ok);
        }
        let got = take_all(d);
        assert_eq!(got.len(), 3);
        let first = got[0].as_ref().unwrap();
        assert_eq!(
            (first.block_id, first.count, first.compression),
            (0x01a7, 2, 1)
        );
        assert_eq!(first.payload.len, 7);
        assert!(got[1].as_ref().unwrap_err().contains("invalid deflate"));
        let ack = got[2].as_ref().unwrap();
        assert_eq!((ack.message_type, ack.block_id, ack.status), (4, 300, 200));
        // SAFETY: from fl_idigi_decoder_new; freed once.
        unsafe { fl_idigi_decoder_free(d) };
    }

    #[test]
    fn take_hands_out_runs_between_errors() {
        let mut stream = codec::encode_connect_request("jürgen", "pw", 7).unwrap();
        stream.extend(codec::encode_publish(1, 1, 1, 1, b"{\"a\":1}").unwrap());
        stream.extend(codec::encode_publish_raw(2, 1, 1, 1, b"\x78\x9c\xff").unwrap());
        stream.extend(codec::encode_publish(3, 1, 0, 0, b"").unwrap());
        let mut d = std::ptr::null_mut();
        let mut batch = FlIdigiBatch {
            frames: std::ptr::null(),
            len: 0,
        };
        // SAFETY: live pointers throughout; views read before the next call.
        unsafe {
            assert_eq!(fl_idigi_decoder_new(std::ptr::null(), &mut d), FlStatus::Ok);
            let ready = std::ptr::null_mut();
            assert_eq!(
                fl_idigi_decoder_feed(d, stream.as_ptr(), stream.len(), ready),
                FlStatus::Ok
            );
            assert_eq!(fl_idigi_decoder_take(d, &mut batch), FlStatus::Ok);
            assert_eq!(batch.len, 2);
            let frames = std::slice::from_raw_parts(batch.frames, batch.len);
            let user = std::slice::from_raw_parts(frames[0].username.data, frames[0].username.len);
            assert_eq!(user, "jürgen".as_bytes());
            let payload = std::slice::from_raw_parts(frames[1].payload.data, frames[1].payload.len);
            assert_eq!(payload, b"{\"a\":1}");
            assert_eq!(fl_idigi_decoder_take(d, &mut batch), FlStatus::Protocol);
            assert_eq!(fl_idigi_decoder_take(d, &mut batch), FlStatus::Ok);
            assert_eq!(batch.len, 1);
            assert_eq!(fl_idigi_decoder_take(d, &mut batch), FlStatus::End);
            fl_idigi_decoder_free(d);
        }
    }

    #[test]
    fn null_and_zero_limits_are_refused() {
        let limits = FlIdigiLimits {
            max_inflated_per_feed: 0,
            ..fl_idigi_limits_default()
        };
        let mut d = std::ptr::null_mut();
        // SAFETY: valid pointers.
        let status = unsafe { fl_idigi_decoder_new(&limits, &mut d) };
        assert_eq!(status, FlStatus::InvalidArgument);
        assert!(d.is_null());
        // SAFETY: NULL decoder is checked.
        let status = unsafe {
            fl_idigi_decoder_feed(std::ptr::null_mut(), b"x".as_ptr(), 1, std::ptr::null_mut())
        };
        assert_eq!(status, FlStatus::NullPointer);
        let mut ack = [0u8; 4];
        // SAFETY: a 4-byte buffer declared as such.
        let status = unsafe { fl_idigi_encode_ack(1, 200, ack.as_mut_ptr(), ack.len()) };
        assert_eq!(status, FlStatus::InvalidArgument);
    }
}
