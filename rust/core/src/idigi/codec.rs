//! The push protocol's messages: encoders and an incremental, linear-time frame decoder.
//!
//! Every message starts with a 6-byte header: type (u16) and size (u32, bytes after the
//! header), big-endian. Sizes are unsigned (the originals read them signed).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use flate2::write::ZlibEncoder;
use std::io::Write;

use super::inflate::{copied, inflate_all, inflated_bound, out_of_memory, Inflater};

pub const CONNECT_REQUEST: u16 = 0x0001;
pub const CONNECT_RESPONSE: u16 = 0x0002;
pub const PUBLISH_MESSAGE: u16 = 0x0003;
pub const PUBLISH_MESSAGE_RECEIVED: u16 = 0x0004;

pub const HEADER_LEN: usize = 6;
/// DataBlockId, Count, Compression, Format, PayloadSize.
pub const PUBLISH_PREFIX_LEN: usize = 10;
pub const PROTOCOL_VERSION: u16 = 1;
pub const STATUS_OK: u16 = 200;
pub const COMPRESSION_NONE: u8 = 0;
pub const COMPRESSION_ZLIB: u8 = 1;
pub const FORMAT_XML: u8 = 0;
pub const FORMAT_JSON: u8 = 1;

/// Default largest frame accepted (header size field).
pub const DEFAULT_MAX_FRAME: usize = 64 << 20;
/// Default largest inflated payload of one frame. Real blocks are far smaller: a block holds
/// at most `monBatchSize` messages (100 by default), the biggest being FileData events (files
/// up to 120 KB, base64 in the envelope: about 170 KB each), so some 17 MB. 64 MiB leaves four
/// times that, and a compressed block can never grow past what an uncompressed one may be.
pub const DEFAULT_MAX_PAYLOAD: usize = 64 << 20;
/// Default most inflated bytes one feed produces (frames past it wait for the next feed).
/// With a 64 MiB per-frame cap, one feed holds at most 256 MiB of inflated payloads; a stream
/// of bombs thus costs about 0.5 GiB at peak, counting the copies handed to Python.
pub const DEFAULT_MAX_INFLATED_PER_FEED: usize = 256 << 20;

/// What a [`FrameDecoder`] accepts from a peer: every allocation it makes is bounded by these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderLimits {
    /// Largest frame (the header's size field); a bigger one fails the stream.
    pub max_frame: usize,
    /// Largest inflated payload of one frame; a bigger one is an error for that frame.
    pub max_inflated_frame: usize,
    /// Inflated bytes one feed may produce. Compressed frames past it stay buffered, in order
    /// with everything after them, and come out of the next feed (an empty feed drains). One
    /// frame is always inflated, so a feed never produces more than this or one frame's cap.
    pub max_inflated_per_feed: usize,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        DecoderLimits {
            max_frame: DEFAULT_MAX_FRAME,
            max_inflated_frame: DEFAULT_MAX_PAYLOAD,
            max_inflated_per_feed: DEFAULT_MAX_INFLATED_PER_FEED,
        }
    }
}

/// Malformed input or an unencodable value; the message says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    pub message: String,
}

impl CodecError {
    pub fn new(message: impl Into<String>) -> Self {
        CodecError {
            message: message.into(),
        }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodecError {}

/// A PublishMessage with its payload already decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub block_id: u16,
    pub count: u16,
    /// The Compression byte as sent (0 none, 1 zlib); `payload` is always inflated.
    pub compression: u8,
    pub format: u8,
    pub payload: Vec<u8>,
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    ConnectRequest {
        version: u16,
        username: String,
        password: String,
        monitor_id: u32,
    },
    ConnectResponse {
        status: u16,
        version: u16,
    },
    Publish(Publish),
    Ack {
        block_id: u16,
        status: u16,
    },
    /// A type this protocol version does not define; its `size` body bytes were skipped.
    Unknown {
        message_type: u16,
        size: u32,
    },
}

/// A message's header in a buffer sized for its `size`-byte body.
fn header(message_type: u16, size: usize) -> Result<Vec<u8>, CodecError> {
    let size32 = u32::try_from(size).map_err(|_| {
        CodecError::new(format!(
            "message body of {size} bytes exceeds the u32 size field"
        ))
    })?;
    let mut out = Vec::with_capacity(HEADER_LEN + size);
    out.extend_from_slice(&message_type.to_be_bytes());
    out.extend_from_slice(&size32.to_be_bytes());
    Ok(out)
}

/// ConnectRequest: UTF-8 credentials with their byte lengths, protocol version 1.
pub fn encode_connect_request(
    username: &str,
    password: &str,
    monitor_id: u32,
) -> Result<Vec<u8>, CodecError> {
    let user = username.as_bytes();
    let pass = password.as_bytes();
    let user_len = u16::try_from(user.len()).map_err(|_| {
        CodecError::new(format!(
            "username is {} bytes in UTF-8; the protocol allows at most 65535",
            user.len()
        ))
    })?;
    let pass_len = u16::try_from(pass.len()).map_err(|_| {
        CodecError::new(format!(
            "password is {} bytes in UTF-8; the protocol allows at most 65535",
            pass.len()
        ))
    })?;
    let body = 10 + user.len() + pass.len();
    let mut out = header(CONNECT_REQUEST, body)?;
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out.extend_from_slice(&user_len.to_be_bytes());
    out.extend_from_slice(user);
    out.extend_from_slice(&pass_len.to_be_bytes());
    out.extend_from_slice(pass);
    out.extend_from_slice(&monitor_id.to_be_bytes());
    Ok(out)
}

/// A 10-byte message: header with size 4, then two u16 fields.
fn two_field_message(message_type: u16, first: u16, second: u16) -> [u8; 10] {
    let mut out = [0u8; 10];
    out[..2].copy_from_slice(&message_type.to_be_bytes());
    out[2..6].copy_from_slice(&4u32.to_be_bytes());
    out[6..8].copy_from_slice(&first.to_be_bytes());
    out[8..].copy_from_slice(&second.to_be_bytes());
    out
}

/// ConnectResponse: status and the server's protocol version (10 bytes).
pub fn encode_connect_response(status: u16, version: u16) -> [u8; 10] {
    two_field_message(CONNECT_RESPONSE, status, version)
}

/// PublishMessageReceived, the documented 10-byte form `0004 00000004 <block> <status>`.
pub fn encode_ack(block_id: u16, status: u16) -> [u8; 10] {
    two_field_message(PUBLISH_MESSAGE_RECEIVED, block_id, status)
}

/// PublishMessage; with `compression` 1 the payload is zlib-compressed here, at zlib's default
/// level as a real server (Java's `Deflater`) sends it.
pub fn encode_publish(
    block_id: u16,
    count: u16,
    compression: u8,
    format: u8,
    payload: &[u8],
) -> Result<Vec<u8>, CodecError> {
    let data: Cow<'_, [u8]> = match compression {
        COMPRESSION_NONE => payload.into(),
        COMPRESSION_ZLIB => {
            let mut z = ZlibEncoder::new(
                Vec::with_capacity(payload.len() / 2 + 64),
                flate2::Compression::default(),
            );
            z.write_all(payload)
                .and_then(|()| z.finish())
                .map_err(|e| CodecError::new(format!("zlib compression failed: {e}")))?
                .into()
        }
        other => {
            return Err(CodecError::new(format!(
                "unknown compression byte {other} (0 none, 1 zlib)"
            )))
        }
    };
    encode_publish_raw(block_id, count, compression, format, &data)
}

/// PublishMessage with `data` sent as is (for pre-compressed or deliberately odd payloads).
pub fn encode_publish_raw(
    block_id: u16,
    count: u16,
    compression: u8,
    format: u8,
    data: &[u8],
) -> Result<Vec<u8>, CodecError> {
    let payload_size = u32::try_from(data.len())
        .map_err(|_| CodecError::new(format!("payload of {} bytes exceeds u32", data.len())))?;
    let mut out = header(PUBLISH_MESSAGE, PUBLISH_PREFIX_LEN + data.len())?;
    out.extend_from_slice(&block_id.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.push(compression);
    out.push(format);
    out.extend_from_slice(&payload_size.to_be_bytes());
    out.extend_from_slice(data);
    Ok(out)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decode a complete 10-byte ConnectResponse into `(status, server_version)`.
pub fn decode_connect_response(frame: &[u8; 10]) -> Result<(u16, u16), CodecError> {
    let message_type = be16(frame, 0);
    let size = be32(frame, 2);
    if message_type != CONNECT_RESPONSE {
        return Err(CodecError::new(format!(
            "expected a ConnectResponse (type 2), got message type {message_type}"
        )));
    }
    if size != 4 {
        return Err(CodecError::new(format!(
            "ConnectResponse size must be 4, got {size}"
        )));
    }
    Ok((be16(frame, 6), be16(frame, 8)))
}

/// Where the decoder is within the stream.
enum State {
    /// Collecting the 6 header bytes.
    Header,
    /// Collecting `size` body bytes of a known message type.
    Body { message_type: u16, size: usize },
    /// Discarding the body of an unknown message type.
    Skip {
        message_type: u16,
        size: u32,
        left: usize,
    },
    /// A header-level error left the stream misaligned; nothing more can be decoded.
    Failed(CodecError),
}

/// Incremental decoder: feed it bytes as they arrive, in chunks of any size.
///
/// Each body byte is copied at most once (straight from the input when a whole frame is
/// present, else into a buffer that grows, amortised, with the bytes that actually arrived:
/// a header's size reserves nothing), so reassembly is linear in the stream length whatever the
/// read size. Errors in one frame's body (bad PayloadSize, bad compression) are reported for
/// that frame only: the header's size keeps the stream aligned. An unacceptable header
/// (oversized, impossible size) or a failed allocation fails the decoder for good.
///
/// A feed frames everything first and then inflates the compressed payloads it found together,
/// across threads when there are enough of them (see [`inflate_all`]); results keep stream order.
/// At most [`DecoderLimits::max_inflated_per_feed`] is inflated per feed; the rest is held
/// ([`backlog`](Self::backlog)) and comes first out of the next feed.
pub struct FrameDecoder {
    state: State,
    header: [u8; HEADER_LEN],
    header_len: usize,
    body: Vec<u8>,
    limits: DecoderLimits,
    inflater: Inflater,
    /// Decoded frames held back by the inflate budget, in stream order (placeholders included).
    held: Vec<Decoded>,
    /// Their compressed payloads, slots relative to `held`.
    held_payloads: Vec<PendingPayload<'static>>,
}

/// One decode result: a message, or the reason one frame was unusable.
pub type Decoded = Result<Message, CodecError>;

/// A compressed PublishMessage framed but not yet inflated.
struct PendingPayload<'a> {
    /// Where its placeholder sits in the output.
    slot: usize,
    block_id: u16,
    /// The whole body, prefix included: borrowed from the input when the frame arrived whole.
    body: Cow<'a, [u8]>,
}

impl AsRef<[u8]> for PendingPayload<'_> {
    fn as_ref(&self) -> &[u8] {
        self.body.get(PUBLISH_PREFIX_LEN..).unwrap_or_default()
    }
}

/// An uncompressed payload left in the caller's buffer (by [`FrameDecoder::feed_borrowing`]).
struct PlainPayload<'a> {
    /// Where its frame sits in the output.
    slot: usize,
    /// Where the payload starts in the data fed.
    start: usize,
    payload: &'a [u8],
}

/// Where an uncompressed payload lies in the data given to [`FrameDecoder::feed_borrowing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BorrowedPayload {
    /// The frame's index in `out`; its `payload` was left empty.
    pub slot: usize,
    /// The payload's bytes in the data fed.
    pub range: Range<usize>,
}

/// The compressed payloads one [`FrameDecoder::frame`] call left for [`FrameDecoder::inflate`].
pub struct PendingInflate<'a> {
    payloads: Vec<PendingPayload<'a>>,
    /// Uncompressed payloads not copied yet (only when borrowing).
    plain: Vec<PlainPayload<'a>>,
}

impl PendingInflate<'_> {
    /// Number of payloads to inflate.
    pub fn len(&self) -> usize {
        self.payloads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.payloads.is_empty()
    }
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(DecoderLimits::default())
    }
}

impl FrameDecoder {
    pub fn new(limits: DecoderLimits) -> Self {
        FrameDecoder {
            state: State::Header,
            header: [0; HEADER_LEN],
            header_len: 0,
            body: Vec::new(),
            limits,
            inflater: Inflater::new(),
            held: Vec::new(),
            held_payloads: Vec::new(),
        }
    }

    pub fn limits(&self) -> DecoderLimits {
        self.limits
    }

    /// Bytes of an incomplete frame currently held.
    pub fn buffered(&self) -> usize {
        self.header_len + self.body.len()
    }

    /// Complete frames held back by the inflate budget; the next feed (even an empty one)
    /// returns them first.
    pub fn backlog(&self) -> usize {
        self.held.len()
    }

    /// True between frames (nothing partial held).
    pub fn at_boundary(&self) -> bool {
        matches!(self.state, State::Header) && self.header_len == 0
    }

    /// Decode everything `data` completes, appending results to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Decoded>) {
        let pending = self.frame(data, out);
        self.inflate(pending, out);
    }

    /// Like [`feed`](Self::feed), without copying the uncompressed payloads that arrived whole
    /// in `data`: their frames' `payload` stays empty and `borrowed` gets where they lie in
    /// `data` (in stream order). A caller that keeps `data` hands them on with no copy at all.
    pub fn feed_borrowing(
        &mut self,
        data: &[u8],
        out: &mut Vec<Decoded>,
        borrowed: &mut Vec<BorrowedPayload>,
    ) {
        let pending = self.frame_into(data, out, true);
        let plain = self.settle(pending, out);
        borrowed.extend(plain.into_iter().map(|p| BorrowedPayload {
            slot: p.slot,
            range: p.start..p.start + p.payload.len(),
        }));
    }

    /// First half of [`feed`](Self::feed): appends every frame `data` completes to `out`, a
    /// compressed PublishMessage as a placeholder with an empty payload, and returns those
    /// payloads. Pass them to [`inflate`](Self::inflate) with the same `out` before reading it.
    pub fn frame<'a>(&mut self, data: &'a [u8], out: &mut Vec<Decoded>) -> PendingInflate<'a> {
        self.frame_into(data, out, false)
    }

    /// [`frame`](Self::frame); with `borrow`, uncompressed payloads that arrived whole are
    /// left in `data` and listed in the result instead of copied.
    fn frame_into<'a>(
        &mut self,
        mut data: &'a [u8],
        out: &mut Vec<Decoded>,
        borrow: bool,
    ) -> PendingInflate<'a> {
        let total = data.len();
        // What the last feed held back goes first, in order.
        let base = out.len();
        let mut pending = PendingInflate {
            payloads: std::mem::take(&mut self.held_payloads)
                .into_iter()
                .map(|p| PendingPayload {
                    slot: p.slot + base,
                    ..p
                })
                .collect(),
            plain: Vec::new(),
        };
        out.append(&mut self.held);
        while !data.is_empty() {
            match &mut self.state {
                State::Failed(e) => {
                    out.push(Err(CodecError::new(format!(
                        "stream unusable after an earlier error: {e}"
                    ))));
                    break;
                }
                State::Header => {
                    let take = (HEADER_LEN - self.header_len).min(data.len());
                    self.header[self.header_len..self.header_len + take]
                        .copy_from_slice(&data[..take]);
                    self.header_len += take;
                    data = &data[take..];
                    if self.header_len == HEADER_LEN {
                        self.header_len = 0;
                        self.start_frame(out);
                    }
                }
                State::Skip {
                    message_type,
                    size,
                    left,
                } => {
                    let take = (*left).min(data.len());
                    *left -= take;
                    data = &data[take..];
                    if *left == 0 {
                        out.push(Ok(Message::Unknown {
                            message_type: *message_type,
                            size: *size,
                        }));
                        self.state = State::Header;
                    }
                }
                State::Body { message_type, size } => {
                    let (message_type, size) = (*message_type, *size);
                    if self.body.is_empty() && data.len() >= size {
                        // Whole frame present: decode in place, no copy into the buffer.
                        let at = borrow.then_some(total - data.len());
                        let body = Cow::Borrowed(&data[..size]);
                        data = &data[size..];
                        self.state = State::Header;
                        finish_frame(message_type, body, at, out, &mut pending);
                    } else {
                        let take = (size - self.body.len()).min(data.len());
                        if let Err(e) = grow(&mut self.body, take, size) {
                            self.body = Vec::new();
                            self.state = State::Failed(e.clone());
                            out.push(Err(e));
                            break;
                        }
                        self.body.extend_from_slice(&data[..take]);
                        data = &data[take..];
                        if self.body.len() == size {
                            let body = Cow::Owned(std::mem::take(&mut self.body));
                            self.state = State::Header;
                            finish_frame(message_type, body, None, out, &mut pending);
                        }
                    }
                }
            }
        }
        pending
    }

    /// Second half of [`feed`](Self::feed): inflates `pending` and puts each payload, or the
    /// reason it could not be inflated, in its frame's place in `out`. Past the feed's inflate
    /// budget, the remaining frames move from `out` into the decoder for the next feed.
    pub fn inflate(&mut self, pending: PendingInflate<'_>, out: &mut Vec<Decoded>) {
        for p in self.settle(pending, out) {
            fill_plain(&p, out);
        }
    }

    /// [`inflate`](Self::inflate), returning the borrowed uncompressed payloads still in `out`.
    fn settle<'a>(
        &mut self,
        pending: PendingInflate<'a>,
        out: &mut Vec<Decoded>,
    ) -> Vec<PlainPayload<'a>> {
        let PendingInflate {
            mut payloads,
            mut plain,
        } = pending;
        let cap = self.limits.max_inflated_frame;
        // Inflate in waves whose worst case fits what is left of the budget, measuring after
        // each wave. The first payload of a feed always goes (so every frame gets through);
        // a feed thus produces at most the budget, or that one payload.
        let mut left = self.limits.max_inflated_per_feed;
        let mut done = 0;
        while done < payloads.len() {
            let mut end = done;
            let mut worst = 0usize;
            while let Some(p) = payloads.get(end) {
                let bound = inflated_bound(p.as_ref().len()).min(cap);
                if end > 0 && worst.saturating_add(bound) > left {
                    break;
                }
                worst = worst.saturating_add(bound);
                end += 1;
            }
            if end == done {
                break;
            }
            let produced = self.place(&payloads[done..end], out);
            left = left.saturating_sub(produced);
            done = end;
        }
        if done < payloads.len() {
            let first = payloads[done].slot;
            // Held frames outlive `data`: their uncompressed payloads are copied now.
            let kept = plain.partition_point(|p| p.slot < first);
            for p in &plain[kept..] {
                fill_plain(p, out);
            }
            plain.truncate(kept);
            self.hold(payloads.split_off(done), out);
        }
        plain
    }

    /// Frames from the first unfinished payload on wait for the next feed, compressed bytes
    /// copied out of the caller's buffer (a copy that finds no memory fails its frame only).
    fn hold(&mut self, rest: Vec<PendingPayload<'_>>, out: &mut Vec<Decoded>) {
        let first = rest.first().map_or(out.len(), |p| p.slot);
        self.held = out.split_off(first);
        self.held_payloads = Vec::with_capacity(rest.len());
        for p in rest {
            let slot = p.slot - first;
            let body = match p.body {
                Cow::Owned(body) => body,
                Cow::Borrowed(body) => match copied(body) {
                    Ok(body) => body,
                    Err(e) => {
                        if let Some(held) = self.held.get_mut(slot) {
                            *held = Err(e);
                        }
                        continue;
                    }
                },
            };
            self.held_payloads.push(PendingPayload {
                slot,
                block_id: p.block_id,
                body: Cow::Owned(body),
            });
        }
    }

    /// Inflate `payloads` into their slots; returns the bytes produced.
    fn place(&mut self, payloads: &[PendingPayload<'_>], out: &mut [Decoded]) -> usize {
        let cap = self.limits.max_inflated_frame;
        let results = inflate_all(&mut self.inflater, payloads, cap);
        let mut produced = 0;
        for (p, result) in payloads.iter().zip(results) {
            produced += result.as_ref().map_or(0, Vec::len);
            let Some(slot) = out.get_mut(p.slot) else {
                continue;
            };
            match (result, slot) {
                (Ok(payload), Ok(Message::Publish(publish))) => publish.payload = payload,
                (Err(e), slot) => {
                    *slot = Err(CodecError::new(format!(
                        "PublishMessage block {}: {e}",
                        p.block_id
                    )))
                }
                // `out` was changed between `frame` and `inflate`: nothing sane to fill in.
                (Ok(_), _) => {}
            }
        }
        produced
    }

    fn start_frame(&mut self, out: &mut Vec<Decoded>) {
        let message_type = be16(&self.header, 0);
        let size32 = be32(&self.header, 2);
        let size = usize::try_from(size32).unwrap_or(usize::MAX);
        let fail = |msg: String| State::Failed(CodecError::new(msg));
        let minimum = match message_type {
            CONNECT_REQUEST => Some(10),
            CONNECT_RESPONSE | PUBLISH_MESSAGE_RECEIVED => Some(4),
            PUBLISH_MESSAGE => Some(PUBLISH_PREFIX_LEN),
            _ => None,
        };
        self.state = if size > self.limits.max_frame {
            fail(format!(
                "message type {message_type} declares {size} bytes, over the maximum frame size of {} bytes",
                self.limits.max_frame
            ))
        } else if let Some(min) = minimum {
            let exact = matches!(message_type, CONNECT_RESPONSE | PUBLISH_MESSAGE_RECEIVED);
            if size < min || (exact && size != min) {
                fail(format!(
                    "message type {message_type} declares an impossible size of {size} bytes"
                ))
            } else {
                State::Body { message_type, size }
            }
        } else if size == 0 {
            out.push(Ok(Message::Unknown {
                message_type,
                size: 0,
            }));
            State::Header
        } else {
            State::Skip {
                message_type,
                size: size32,
                left: size,
            }
        };
        if let State::Failed(e) = &self.state {
            out.push(Err(e.clone()));
        }
    }
}

/// Make room in a reassembly buffer for `take` more bytes of a `size`-byte body: amortised
/// doubling (linear for big frames) that never goes past `size`, and fails rather than aborts.
fn grow(body: &mut Vec<u8>, take: usize, size: usize) -> Result<(), CodecError> {
    let need = body.len() + take;
    if need <= body.capacity() {
        return Ok(());
    }
    let target = need.max(body.capacity().saturating_mul(2)).min(size);
    body.try_reserve_exact(target - body.len())
        .map_err(|_| out_of_memory(target))
}

/// Copy a borrowed uncompressed payload into its frame (a failed allocation fails the frame).
fn fill_plain(p: &PlainPayload<'_>, out: &mut [Decoded]) {
    if let Some(slot) = out.get_mut(p.slot) {
        match (copied(p.payload), &mut *slot) {
            (Ok(payload), Ok(Message::Publish(publish))) => publish.payload = payload,
            (Err(e), slot) => *slot = Err(e),
            (Ok(_), _) => {}
        }
    }
}

/// Decode one complete body into `out`; a compressed payload is queued in `pending` instead,
/// and so is an uncompressed one when `borrowed_at` says where the body lies in the data fed.
fn finish_frame<'a>(
    message_type: u16,
    body: Cow<'a, [u8]>,
    borrowed_at: Option<usize>,
    out: &mut Vec<Decoded>,
    pending: &mut PendingInflate<'a>,
) {
    let decoded = match message_type {
        CONNECT_REQUEST => decode_connect_request(&body),
        CONNECT_RESPONSE => Ok(Message::ConnectResponse {
            status: be16(&body, 0),
            version: be16(&body, 2),
        }),
        PUBLISH_MESSAGE_RECEIVED => Ok(Message::Ack {
            block_id: be16(&body, 0),
            status: be16(&body, 2),
        }),
        _ => match decode_publish_prefix(&body) {
            Ok(publish) if publish.compression == COMPRESSION_ZLIB => {
                pending.payloads.push(PendingPayload {
                    slot: out.len(),
                    block_id: publish.block_id,
                    body,
                });
                Ok(Message::Publish(publish))
            }
            Ok(mut publish) => match (body, borrowed_at) {
                (Cow::Borrowed(b), Some(at)) => {
                    pending.plain.push(PlainPayload {
                        slot: out.len(),
                        start: at + PUBLISH_PREFIX_LEN,
                        payload: &b[PUBLISH_PREFIX_LEN..],
                    });
                    Ok(Message::Publish(publish))
                }
                (Cow::Borrowed(b), None) => copied(&b[PUBLISH_PREFIX_LEN..]).map(|payload| {
                    publish.payload = payload;
                    Message::Publish(publish)
                }),
                // A reassembled body becomes the payload: no second allocation for big frames.
                (Cow::Owned(mut b), _) => {
                    b.drain(..PUBLISH_PREFIX_LEN);
                    publish.payload = b;
                    Ok(Message::Publish(publish))
                }
            },
            Err(e) => Err(e),
        },
    };
    out.push(decoded);
}

/// A PublishMessage's prefix, checked against the frame; the payload is left empty.
fn decode_publish_prefix(body: &[u8]) -> Result<Publish, CodecError> {
    let block_id = be16(body, 0);
    let count = be16(body, 2);
    let compression = body[4];
    let format = body[5];
    let payload_size = be32(body, 6);
    let data_len = body.len() - PUBLISH_PREFIX_LEN;
    if usize::try_from(payload_size).ok() != Some(data_len) {
        return Err(CodecError::new(format!(
            "PublishMessage block {block_id}: PayloadSize {payload_size} does not match the frame (size - 10 = {data_len})"
        )));
    }
    if format != FORMAT_XML && format != FORMAT_JSON {
        return Err(CodecError::new(format!(
            "PublishMessage block {block_id}: unknown format byte {format} (0 XML, 1 JSON)"
        )));
    }
    if compression != COMPRESSION_NONE && compression != COMPRESSION_ZLIB {
        return Err(CodecError::new(format!(
            "PublishMessage block {block_id}: unknown compression byte {compression} (0 none, 1 zlib)"
        )));
    }
    Ok(Publish {
        block_id,
        count,
        compression,
        format,
        payload: Vec::new(),
    })
}

fn decode_connect_request(body: &[u8]) -> Decoded {
    let bad = |what: &str| CodecError::new(format!("malformed ConnectRequest: {what}"));
    let version = be16(body, 0);
    let user_len = usize::from(be16(body, 2));
    let user_end = 4 + user_len;
    if body.len() < user_end + 2 {
        return Err(bad("username length runs past the frame"));
    }
    let pass_len = usize::from(be16(body, user_end));
    let pass_end = user_end + 2 + pass_len;
    if body.len() != pass_end + 4 {
        return Err(bad("lengths do not add up to the frame size"));
    }
    let username = std::str::from_utf8(&body[4..user_end])
        .map_err(|_| bad("username is not UTF-8"))?
        .to_owned();
    let password = std::str::from_utf8(&body[user_end + 2..pass_end])
        .map_err(|_| bad("password is not UTF-8"))?
        .to_owned();
    Ok(Message::ConnectRequest {
        version,
        username,
        password,
        monitor_id: be32(body, pass_end),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode_all(bytes: &[u8], chunk: usize) -> Vec<Decoded> {
        let mut d = FrameDecoder::default();
        let mut out = Vec::new();
        for c in bytes.chunks(chunk) {
            d.feed(c, &mut out);
        }
        assert!(d.at_boundary());
        out
    }

    #[test]
    fn spec_vectors_encode() {
        assert_eq!(
            encode_connect_request("pepsi", "cola", 0x104).unwrap(),
            hex("0001 00000013 0001 0005 7065707369 0004 636f6c61 00000104")
        );
        assert_eq!(
            encode_connect_request("user", "pass", 99850).unwrap(),
            hex("0001 00000012 0001 0004 75736572 0004 70617373 0001860a")
        );
        assert_eq!(
            encode_connect_request("jürgen", "pw", 1).unwrap(),
            hex("0001 00000013 0001 0007 6ac3bc7267656e 0002 7077 00000001")
        );
        assert_eq!(
            encode_ack(0x01a7, 200).to_vec(),
            hex("0004 00000004 01a7 00c8")
        );
        assert_eq!(
            encode_ack(300, 200).to_vec(),
            hex("0004 00000004 012c 00c8")
        );
        assert_eq!(
            encode_connect_response(200, 1).to_vec(),
            hex("0002 00000004 00c8 0001")
        );
        assert!(encode_connect_request(&"u".repeat(65536), "p", 1).is_err());
    }

    #[test]
    fn every_byte_boundary_and_every_type() {
        let mut stream = encode_connect_request("jürgen", "pw", 7).unwrap();
        stream.extend(encode_connect_response(200, 1));
        stream.extend(encode_publish(1, 1, COMPRESSION_ZLIB, FORMAT_JSON, b"{\"a\":1}").unwrap());
        stream.extend(hex("0009 00000003 aabbcc"));
        stream.extend(encode_publish(2, 2, COMPRESSION_NONE, FORMAT_XML, b"<Document/>").unwrap());
        stream.extend(encode_ack(2, 200));
        let whole = decode_all(&stream, stream.len());
        assert_eq!(whole.len(), 6);
        assert!(matches!(
            whole[3],
            Ok(Message::Unknown {
                message_type: 9,
                size: 3
            })
        ));
        for chunk in 1..stream.len() {
            assert_eq!(decode_all(&stream, chunk), whole, "chunk {chunk}");
        }
    }

    /// ~1 KiB JSON-like payloads that compress about 2x (a little LCG: no test-only crates).
    fn payload(i: u32) -> Vec<u8> {
        let mut x = i.wrapping_mul(2_654_435_761).wrapping_add(1);
        let noise: String = (0..900)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                char::from(b"abcdef0123"[(x >> 16) as usize % 10])
            })
            .collect();
        format!("{{\"i\":{i},\"data\":\"{noise}\"}}").into_bytes()
    }

    /// 400 frames: mostly zlib, every 5th uncompressed, every 7th raw deflate, an ack and an
    /// unknown type in between, and corrupt zlib at `corrupt` (truncated) positions.
    fn mixed_stream(corrupt: &[u32]) -> Vec<u8> {
        let mut stream = Vec::new();
        for i in 0..400u32 {
            let block = u16::try_from(i).unwrap();
            let p = payload(i);
            let frame = if corrupt.contains(&i) {
                let z = encode_publish(block, 1, COMPRESSION_ZLIB, FORMAT_JSON, &p).unwrap();
                let data = &z[HEADER_LEN + PUBLISH_PREFIX_LEN..];
                encode_publish_raw(
                    block,
                    1,
                    COMPRESSION_ZLIB,
                    FORMAT_JSON,
                    &data[..data.len() / 2],
                )
                .unwrap()
            } else if i % 7 == 0 {
                let mut d = flate2::write::DeflateEncoder::new(Vec::new(), Default::default());
                d.write_all(&p).unwrap();
                let raw = d.finish().unwrap();
                encode_publish_raw(block, 1, COMPRESSION_ZLIB, FORMAT_JSON, &raw).unwrap()
            } else if i % 5 == 0 {
                encode_publish(block, 1, COMPRESSION_NONE, FORMAT_JSON, &p).unwrap()
            } else {
                encode_publish(block, 1, COMPRESSION_ZLIB, FORMAT_JSON, &p).unwrap()
            };
            stream.extend(frame);
            if i == 123 {
                stream.extend(encode_ack(9, 200));
                stream.extend(hex("0009 00000002 aabb"));
            }
        }
        stream
    }

    /// One frame per feed: batches of one are always inflated inline.
    fn decode_one_by_one(stream: &[u8]) -> Vec<Decoded> {
        let mut d = FrameDecoder::default();
        let mut out = Vec::new();
        let mut rest = stream;
        while !rest.is_empty() {
            let size = usize::try_from(be32(rest, 2)).unwrap();
            d.feed(&rest[..HEADER_LEN + size], &mut out);
            rest = &rest[HEADER_LEN + size..];
        }
        out
    }

    fn block_ids(decoded: &[Decoded]) -> Vec<Option<u16>> {
        decoded
            .iter()
            .map(|d| match d {
                Ok(Message::Publish(p)) => Some(p.block_id),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn parallel_inflate_keeps_order_and_per_frame_errors() {
        let stream = mixed_stream(&[0, 150, 151, 399]);
        let expected = decode_one_by_one(&stream);
        assert_eq!(expected.len(), 402);
        // A 4-thread pool makes the parallel path run even on a one-core machine.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        for chunk in [stream.len(), 64 << 10, 16 << 10, 7919, 1000] {
            let got = pool.install(|| decode_all(&stream, chunk));
            assert_eq!(got, expected, "chunk {chunk}");
        }
        for (i, item) in expected.iter().enumerate() {
            // Frames 0..=123 sit at their own index; the ack and the unknown type follow 123.
            let frame = match i {
                124 | 125 => continue,
                i if i > 125 => u32::try_from(i - 2).unwrap(),
                i => u32::try_from(i).unwrap(),
            };
            match item {
                Ok(Message::Publish(p)) => {
                    assert_eq!(u32::from(p.block_id), frame);
                    assert_eq!(p.payload, payload(frame), "frame {frame}");
                }
                Err(e) => {
                    assert!([0, 150, 151, 399].contains(&frame), "frame {frame}: {e}");
                    assert!(e.message.contains(&format!("block {frame}:")), "{e}");
                    assert!(e.message.contains("invalid deflate"), "{e}");
                }
                other => panic!("frame {frame}: {other:?}"),
            }
        }
        assert!(matches!(
            expected[124],
            Ok(Message::Ack { block_id: 9, .. })
        ));
        assert!(matches!(
            expected[125],
            Ok(Message::Unknown {
                message_type: 9,
                size: 2
            })
        ));
    }

    #[test]
    fn split_feeds_and_the_two_halves() {
        let stream = mixed_stream(&[42]);
        let expected = decode_one_by_one(&stream);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        // Uneven feeds: frames start in one feed and end in a later one.
        let n = stream.len();
        let cuts = [0, 5, 900, 40_000, 40_001, n / 2, n * 3 / 4, n];
        let mut d = FrameDecoder::default();
        let mut out = Vec::new();
        for w in cuts.windows(2) {
            let pending = d.frame(&stream[w[0]..w[1]], &mut out);
            let compressed = pending.len();
            assert_eq!(pending.is_empty(), compressed == 0);
            pool.install(|| d.inflate(pending, &mut out));
        }
        assert!(d.at_boundary());
        assert_eq!(out, expected);
        assert_eq!(block_ids(&out).iter().flatten().count(), 399);
    }

    #[test]
    fn pending_payloads_until_inflated() {
        let stream = mixed_stream(&[]);
        let mut d = FrameDecoder::default();
        let mut out = Vec::new();
        let pending = d.frame(&stream, &mut out);
        // 400 frames: 80 uncompressed (every 5th) are complete already, the rest wait.
        let waiting = (0..400).filter(|i| i % 5 != 0 || i % 7 == 0).count();
        assert_eq!(pending.len(), waiting);
        assert_eq!(block_ids(&out), block_ids(&decode_one_by_one(&stream)));
        d.inflate(pending, &mut out);
        assert_eq!(out, decode_one_by_one(&stream));
    }

    #[test]
    fn inflate_budget_holds_the_rest_in_order() {
        let mut stream = Vec::new();
        for i in 0..6u16 {
            let p = vec![b'a' + i as u8; 100_000];
            stream.extend(encode_publish(i, 1, COMPRESSION_ZLIB, FORMAT_JSON, &p).unwrap());
        }
        stream.extend(encode_ack(5, 200));
        let mut d = FrameDecoder::new(DecoderLimits {
            max_frame: 1 << 20,
            max_inflated_frame: 100_000,
            max_inflated_per_feed: 250_000,
        });
        let mut feeds = Vec::new();
        let mut out = Vec::new();
        d.feed(&stream, &mut out);
        feeds.push(std::mem::take(&mut out));
        while d.backlog() > 0 {
            d.feed(&[], &mut out);
            feeds.push(std::mem::take(&mut out));
        }
        // Each payload may inflate to the 100,000-byte cap: two fit a 250,000-byte budget.
        assert_eq!(feeds.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 3]);
        let all: Vec<Decoded> = feeds.into_iter().flatten().collect();
        assert_eq!(all[..6].to_vec(), decode_one_by_one(&stream)[..6].to_vec());
        assert!(matches!(all[6], Ok(Message::Ack { block_id: 5, .. })));
        assert!(d.at_boundary());
    }

    #[test]
    fn borrowed_payloads_are_where_feed_would_copy_them_from() {
        // Plain payloads between compressed ones a small budget holds back, cut mid-frame.
        let mut stream = mixed_stream(&[42]);
        for i in 0..6u16 {
            let big = vec![b'a' + i as u8; 100_000];
            stream.extend(encode_publish(i, 1, COMPRESSION_ZLIB, FORMAT_XML, &big).unwrap());
            stream.extend(encode_publish(i, 1, COMPRESSION_NONE, FORMAT_XML, &big[..900]).unwrap());
        }
        let limits = DecoderLimits {
            max_frame: 1 << 20,
            max_inflated_frame: 100_000,
            max_inflated_per_feed: 250_000,
        };
        for chunk in [stream.len(), 64 << 10, 7919] {
            let (mut copying, mut borrowing) =
                (FrameDecoder::new(limits), FrameDecoder::new(limits));
            let (mut expected, mut got, mut borrowed) = (Vec::new(), Vec::new(), Vec::new());
            let mut lent = 0;
            let feeds = stream.chunks(chunk).chain(std::iter::repeat_n(&[][..], 8));
            for data in feeds {
                copying.feed(data, &mut expected);
                let base = got.len();
                borrowing.feed_borrowing(data, &mut got, &mut borrowed);
                for b in borrowed.drain(..) {
                    assert!(b.slot >= base);
                    let Ok(Message::Publish(p)) = &mut got[b.slot] else {
                        panic!("slot {} is no PublishMessage", b.slot);
                    };
                    assert!(p.payload.is_empty() && p.compression == COMPRESSION_NONE);
                    p.payload = data[b.range].to_vec();
                    lent += 1;
                }
                assert_eq!(got, expected, "chunk {chunk}");
            }
            assert!(borrowing.at_boundary() && borrowing.backlog() == 0);
            assert!(lent > 0, "chunk {chunk}");
        }
    }

    #[test]
    fn malformed_frames() {
        let mut d = FrameDecoder::new(DecoderLimits {
            max_frame: 1000,
            max_inflated_frame: 1000,
            ..DecoderLimits::default()
        });
        let mut out = Vec::new();
        d.feed(
            &hex("0003 0000000f 0001 0001 00 01 00000006 0102030405"),
            &mut out,
        );
        assert!(out[0].as_ref().unwrap_err().message.contains("PayloadSize"));
        d.feed(&hex("0003 0000000b 0001 0001 07 01 00000001 00"), &mut out);
        assert!(out[1].as_ref().unwrap_err().message.contains("compression"));
        d.feed(&hex("0003 0000000b 0001 0001 00 05 00000001 00"), &mut out);
        assert!(out[2].as_ref().unwrap_err().message.contains("format"));
        d.feed(&hex("0004 00000002 0001"), &mut out);
        assert!(out[3].as_ref().unwrap_err().message.contains("impossible"));
        d.feed(b"more", &mut out);
        assert!(out[4].as_ref().unwrap_err().message.contains("unusable"));
        let mut d = FrameDecoder::new(DecoderLimits {
            max_frame: 1000,
            max_inflated_frame: 1000,
            ..DecoderLimits::default()
        });
        out.clear();
        d.feed(&hex("0003 ffffffff"), &mut out);
        assert!(out[0]
            .as_ref()
            .unwrap_err()
            .message
            .contains("maximum frame size"));
    }
}
