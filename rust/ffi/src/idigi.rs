//! iDigi push protocol: the incremental frame decoder, the client's encoders, inflate.

use std::ops::Range;

use ferrolink_core::error::Error;
use ferrolink_core::idigi::codec::{
    self, BorrowedPayload, Decoded, DecoderLimits, FrameDecoder, Message,
};
use ferrolink_core::idigi::inflate::{out_of_memory, Inflater};

use crate::{
    deliver, free_boxed, guard, input, input_text, out_buffer, out_param, Failure, FlBuffer,
    FlStatus,
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

/// Where one of a batch's byte ranges lies: `len` bytes from `offset`. Signed (`ptrdiff_t`),
/// as offsets are in C: cffi on PyPy reads signed words without a big-integer check.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlSpan {
    pub offset: isize,
    pub len: isize,
}

impl FlSpan {
    const EMPTY: FlSpan = FlSpan { offset: 0, len: 0 };

    fn of(range: Range<usize>) -> FlSpan {
        // Offsets into Rust allocations and slices never exceed isize::MAX.
        let signed = |n: usize| isize::try_from(n).unwrap_or(isize::MAX);
        FlSpan {
            offset: signed(range.start),
            len: signed(range.len()),
        }
    }
}

/// One result of a feed, in stream order. `result` is `FL_STATUS_OK` for a frame or
/// `FL_STATUS_PROTOCOL` for a malformed one (`error` says why; the stream goes on after it).
/// `message_type` says which fields a frame sets (the others are 0/empty):
/// - 1 ConnectRequest: `version`, `username`, `password`, `monitor_id`;
/// - 2 ConnectResponse: `status`, `version`;
/// - 3 PublishMessage: `block_id`, `count`, `compression`, `format`, `payload` (inflated);
/// - 4 PublishMessageReceived (ack): `block_id`, `status`;
/// - any other: a type the protocol does not define; `size` body bytes were skipped.
///
/// `username`, `password` and `error` (UTF-8) are spans of the batch's `bytes`; `payload` is a
/// span of the data passed to this feed when `payload_in_input` is true (an uncompressed
/// payload that arrived whole: never copied), else of the batch's `bytes`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FlIdigiEntry {
    pub result: FlStatus,
    pub message_type: u16,
    pub version: u16,
    pub status: u16,
    pub block_id: u16,
    pub count: u16,
    /// The Compression byte as sent (0 none, 1 zlib); `payload` is always inflated.
    pub compression: u8,
    /// 0 XML, 1 JSON.
    pub format: u8,
    pub payload_in_input: bool,
    pub monitor_id: u32,
    pub size: u32,
    pub payload: FlSpan,
    pub username: FlSpan,
    pub password: FlSpan,
    pub error: FlSpan,
}

impl FlIdigiEntry {
    const EMPTY: FlIdigiEntry = FlIdigiEntry {
        result: FlStatus::Ok,
        message_type: 0,
        version: 0,
        status: 0,
        block_id: 0,
        count: 0,
        compression: 0,
        format: 0,
        payload_in_input: false,
        monitor_id: 0,
        size: 0,
        payload: FlSpan::EMPTY,
        username: FlSpan::EMPTY,
        password: FlSpan::EMPTY,
        error: FlSpan::EMPTY,
    };
}

/// What one feed decoded: `len` entries, and the bytes their spans point into. Both belong to
/// the decoder and stay valid until the next feed on it, or its free.
#[repr(C)]
#[derive(Debug)]
pub struct FlIdigiBatch {
    pub entries: *const FlIdigiEntry,
    pub len: usize,
    pub bytes: *const u8,
    pub bytes_len: usize,
}

impl FlIdigiBatch {
    const EMPTY: FlIdigiBatch = FlIdigiBatch {
        entries: std::ptr::null(),
        len: 0,
        bytes: std::ptr::null(),
        bytes_len: 0,
    };
}

/// An incremental decoder (opaque): feed bytes in chunks of any size; each feed hands back
/// everything it completed as one batch.
pub struct FlIdigiDecoder {
    inner: FrameDecoder,
    /// What the core appends to on each feed.
    decoded: Vec<Decoded>,
    /// Which of those left their payload in the caller's data.
    borrowed: Vec<BorrowedPayload>,
    /// The last batch: its entries and the bytes their spans point into.
    entries: Vec<FlIdigiEntry>,
    bytes: Vec<u8>,
}

/// Copy `data` to the end of a batch's `bytes`.
fn keep(bytes: &mut Vec<u8>, data: &[u8]) -> FlSpan {
    let start = bytes.len();
    bytes.extend_from_slice(data);
    FlSpan::of(start..bytes.len())
}

impl FlIdigiDecoder {
    /// Turn what the last feed decoded into the batch's entries.
    fn fill_batch(&mut self) -> Result<(), Failure> {
        self.entries.clear();
        self.bytes.clear();
        let total = self
            .decoded
            .iter()
            .map(|d| match d {
                Ok(Message::Publish(p)) => p.payload.len(),
                Ok(Message::ConnectRequest {
                    username, password, ..
                }) => username.len() + password.len(),
                Ok(_) => 0,
                Err(e) => e.message.len(),
            })
            .sum();
        let count = self.decoded.len();
        trim(&mut self.bytes, total);
        trim(&mut self.entries, count);
        // What the core already holds, bounded by the limits; no memory is a failed feed.
        let oom = |bytes| Failure::from(Error::protocol(out_of_memory(bytes)));
        self.bytes.try_reserve(total).map_err(|_| oom(total))?;
        self.entries
            .try_reserve(count)
            .map_err(|_| oom(count.saturating_mul(std::mem::size_of::<FlIdigiEntry>())))?;
        let decoded = std::mem::take(&mut self.decoded);
        let mut borrowed = self.borrowed.iter().peekable();
        for (slot, item) in decoded.iter().enumerate() {
            let mut entry = FlIdigiEntry::EMPTY;
            match item {
                Ok(Message::ConnectRequest {
                    version,
                    username,
                    password,
                    monitor_id,
                }) => {
                    entry.message_type = codec::CONNECT_REQUEST;
                    entry.version = *version;
                    entry.username = keep(&mut self.bytes, username.as_bytes());
                    entry.password = keep(&mut self.bytes, password.as_bytes());
                    entry.monitor_id = *monitor_id;
                }
                Ok(Message::ConnectResponse { status, version }) => {
                    entry.message_type = codec::CONNECT_RESPONSE;
                    entry.status = *status;
                    entry.version = *version;
                }
                Ok(Message::Publish(p)) => {
                    entry.message_type = codec::PUBLISH_MESSAGE;
                    entry.block_id = p.block_id;
                    entry.count = p.count;
                    entry.compression = p.compression;
                    entry.format = p.format;
                    match borrowed.next_if(|b| b.slot == slot) {
                        Some(b) => {
                            entry.payload_in_input = true;
                            entry.payload = FlSpan::of(b.range.clone());
                        }
                        None => entry.payload = keep(&mut self.bytes, &p.payload),
                    }
                }
                Ok(Message::Ack { block_id, status }) => {
                    entry.message_type = codec::PUBLISH_MESSAGE_RECEIVED;
                    entry.block_id = *block_id;
                    entry.status = *status;
                }
                Ok(Message::Unknown { message_type, size }) => {
                    entry.message_type = *message_type;
                    entry.size = *size;
                }
                Err(e) => {
                    entry.result = FlStatus::Protocol;
                    entry.error = keep(&mut self.bytes, e.message.as_bytes());
                }
            }
            self.entries.push(entry);
        }
        // Keep the vector's capacity for the next feed; the payloads go now.
        self.decoded = decoded;
        self.decoded.clear();
        trim(&mut self.decoded, count);
        self.borrowed.clear();
        trim(&mut self.borrowed, count);
        Ok(())
    }
}

/// Memory a decoder keeps between feeds whatever they need.
const RETAIN_BYTES: usize = 1 << 20;

/// Give back what an outsized feed left in `v` (emptied), keeping room for `need` items: one
/// big feed must not pin its peak memory for the decoder's life.
fn trim<T>(v: &mut Vec<T>, need: usize) {
    let held = v.capacity().saturating_mul(std::mem::size_of::<T>());
    if held > RETAIN_BYTES && v.capacity() / 4 > need {
        v.shrink_to(need);
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
            decoded: Vec::new(),
            borrowed: Vec::new(),
            entries: Vec::new(),
            bytes: Vec::new(),
        };
        *out = Box::into_raw(Box::new(decoder));
        Ok(FlStatus::Ok)
    })
}

/// Free a decoder (NULL is ignored). Its last batch goes with it.
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

/// Decode everything `data` completes into `*batch`: frames and malformed frames in stream
/// order (a malformed frame is an entry, so this returns OK). The batch replaces the previous
/// one; spans into `data` are the caller's to keep alive.
///
/// # Safety
/// `decoder` live; `data` readable for `len` bytes; `batch` writable.
#[no_mangle]
pub unsafe extern "C" fn fl_idigi_decoder_feed(
    decoder: *mut FlIdigiDecoder,
    data: *const u8,
    len: usize,
    batch: *mut FlIdigiBatch,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        if let Some(batch) = unsafe { batch.as_mut() } {
            *batch = FlIdigiBatch::EMPTY;
        }
        // SAFETY: caller contract.
        let d = unsafe { decoder_mut(decoder) }?;
        // SAFETY: caller contract.
        let data = unsafe { input(data, len, "data") }?;
        // SAFETY: caller contract.
        let batch = unsafe { out_param(batch, "batch") }?;
        d.inner
            .feed_borrowing(data, &mut d.decoded, &mut d.borrowed);
        let filled = d.fill_batch();
        // A failed batch leaves nothing decoded behind for the next one.
        d.decoded.clear();
        d.borrowed.clear();
        filled?;
        *batch = FlIdigiBatch {
            entries: d.entries.as_ptr(),
            len: d.entries.len(),
            bytes: d.bytes.as_ptr(),
            bytes_len: d.bytes.len(),
        };
        Ok(FlStatus::Ok)
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

    /// A decoder with the default limits.
    fn decoder() -> *mut FlIdigiDecoder {
        let mut d = std::ptr::null_mut();
        // SAFETY: out-parameter on the stack; NULL limits mean defaults.
        assert_eq!(
            unsafe { fl_idigi_decoder_new(std::ptr::null(), &mut d) },
            FlStatus::Ok
        );
        d
    }

    /// Feed `data`; the entries, each with its payload (or error text) copied out.
    fn feed(d: *mut FlIdigiDecoder, data: &[u8]) -> Vec<(FlIdigiEntry, Vec<u8>)> {
        let mut batch = FlIdigiBatch::EMPTY;
        // SAFETY: a live decoder, `data` and a local batch; the batch is read before the next call.
        unsafe {
            assert_eq!(
                fl_idigi_decoder_feed(d, data.as_ptr(), data.len(), &mut batch),
                FlStatus::Ok
            );
            if batch.len == 0 {
                return Vec::new();
            }
            let bytes = std::slice::from_raw_parts(batch.bytes, batch.bytes_len);
            let entries = std::slice::from_raw_parts(batch.entries, batch.len);
            entries
                .iter()
                .map(|e| {
                    let (source, span) = match e.result {
                        FlStatus::Ok if e.payload_in_input => (data, e.payload),
                        FlStatus::Ok => (bytes, e.payload),
                        _ => (bytes, e.error),
                    };
                    let range = span.offset as usize..(span.offset + span.len) as usize;
                    (*e, source[range].to_vec())
                })
                .collect()
        }
    }

    #[test]
    fn decode_byte_by_byte_with_a_bad_frame_between() {
        let mut stream = codec::encode_publish(0x01a7, 2, 1, 1, b"{\"a\":1}").unwrap();
        stream.extend(codec::encode_publish_raw(7, 1, 1, 1, b"\x78\x9c\xff").unwrap());
        stream.extend(codec::encode_ack(300, 200));
        let d = decoder();
        let got: Vec<_> = stream.iter().flat_map(|b| feed(d, &[*b])).collect();
        assert_eq!(got.len(), 3);
        let (first, payload) = &got[0];
        assert_eq!(
            (first.block_id, first.count, first.compression),
            (0x01a7, 2, 1)
        );
        assert_eq!(payload, b"{\"a\":1}");
        assert_eq!(got[1].0.result, FlStatus::Protocol);
        assert!(String::from_utf8_lossy(&got[1].1).contains("invalid deflate"));
        let ack = got[2].0;
        assert_eq!((ack.message_type, ack.block_id, ack.status), (4, 300, 200));
        // SAFETY: from fl_idigi_decoder_new; freed once.
        unsafe { fl_idigi_decoder_free(d) };
    }

    #[test]
    fn one_feed_one_batch_in_stream_order() {
        let mut stream = codec::encode_connect_request("jürgen", "pw", 7).unwrap();
        stream.extend(codec::encode_publish(1, 1, 1, 1, b"{\"a\":1}").unwrap());
        stream.extend(codec::encode_publish_raw(2, 1, 1, 1, b"\x78\x9c\xff").unwrap());
        stream.extend(codec::encode_publish(3, 1, 0, 0, b"<a/>").unwrap());
        let d = decoder();
        let got = feed(d, &stream);
        let kinds: Vec<_> = got
            .iter()
            .map(|(e, _)| (e.result, e.message_type))
            .collect();
        assert_eq!(
            kinds,
            [
                (FlStatus::Ok, 1),
                (FlStatus::Ok, 3),
                (FlStatus::Protocol, 0),
                (FlStatus::Ok, 3)
            ]
        );
        assert_eq!(got[1].1, b"{\"a\":1}");
        assert!(!got[1].0.payload_in_input);
        // The uncompressed payload is a span of the data fed, not a copy.
        let plain = got[3].0;
        assert!(plain.payload_in_input);
        assert_eq!(&stream[plain.payload.offset as usize..][..4], b"<a/>");
        // Credentials are spans of the batch's bytes.
        let mut batch = FlIdigiBatch::EMPTY;
        // SAFETY: live pointers; the batch is read before the next call.
        unsafe {
            let tail = codec::encode_connect_request("u", "secret", 1).unwrap();
            fl_idigi_decoder_feed(d, tail.as_ptr(), tail.len(), &mut batch);
            let entry = &*batch.entries;
            let bytes = std::slice::from_raw_parts(batch.bytes, batch.bytes_len);
            let span = entry.password;
            assert_eq!(
                &bytes[span.offset as usize..][..span.len as usize],
                b"secret"
            );
            assert_eq!(
                fl_idigi_decoder_feed(d, std::ptr::null(), 0, &mut batch),
                FlStatus::Ok
            );
            assert_eq!(batch.len, 0);
            fl_idigi_decoder_free(d);
        }
    }

    #[test]
    fn an_outsized_feed_gives_its_memory_back() {
        let big = codec::encode_publish(1, 1, 1, 1, &vec![b'x'; 4 << 20]).unwrap();
        let d = decoder();
        assert_eq!(feed(d, &big)[0].1.len(), 4 << 20);
        // SAFETY: from fl_idigi_decoder_new, not used by anything else.
        let bytes = |d: *mut FlIdigiDecoder| unsafe { (*d).bytes.capacity() };
        assert!(bytes(d) >= 4 << 20);
        assert_eq!(feed(d, &codec::encode_ack(1, 200)).len(), 1);
        assert!(bytes(d) <= RETAIN_BYTES, "{}", bytes(d));
        // SAFETY: from fl_idigi_decoder_new; freed once.
        unsafe { fl_idigi_decoder_free(d) };
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
        let mut batch = FlIdigiBatch::EMPTY;
        // SAFETY: NULL decoder and NULL batch are checked.
        let status =
            unsafe { fl_idigi_decoder_feed(std::ptr::null_mut(), b"x".as_ptr(), 1, &mut batch) };
        assert_eq!(status, FlStatus::NullPointer);
        let d = decoder();
        // SAFETY: a live decoder; NULL batch is checked.
        let status = unsafe { fl_idigi_decoder_feed(d, b"x".as_ptr(), 1, std::ptr::null_mut()) };
        assert_eq!(status, FlStatus::NullPointer);
        // SAFETY: from fl_idigi_decoder_new; freed once.
        unsafe { fl_idigi_decoder_free(d) };
        let mut ack = [0u8; 4];
        // SAFETY: a 4-byte buffer declared as such.
        let status = unsafe { fl_idigi_encode_ack(1, 200, ack.as_mut_ptr(), ack.len()) };
        assert_eq!(status, FlStatus::InvalidArgument);
    }
}
