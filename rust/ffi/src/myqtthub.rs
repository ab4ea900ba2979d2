//! MyQttHub REST bridge: `/publish` bodies (base64 fused in) and `/pull` reply decoding.

use ferrolink_core::error::Error;
use ferrolink_core::myqtthub::{self, Member, Publish};

use crate::{
    deliver, free_boxed, guard, input, input_text, out_buffer, out_param, FlBuffer, FlSlice,
    FlStatus,
};

/// What an `FlMyqtthubMember`'s `value` holds.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlMemberKind {
    /// The `payload` member, base64-decoded: raw bytes.
    Payload = 0,
    /// Any other member (or a `null` payload): its JSON text.
    Json = 1,
}

/// One member of a pulled message.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FlMyqtthubMember {
    /// Index of the message it belongs to (members of a message are consecutive).
    pub message: usize,
    pub key: FlSlice,
    pub kind: FlMemberKind,
    pub value: FlSlice,
}

/// A decoded `/pull` reply, flat: `members_len` members of `messages_len` messages, in
/// arrival order. Free it with `fl_myqtthub_pull_free`.
#[repr(C)]
#[derive(Debug)]
pub struct FlMyqtthubPull {
    pub messages_len: usize,
    pub members: *const FlMyqtthubMember,
    pub members_len: usize,
}

/// The reply and the bytes its views point into; `view` first (see `fl_myqtthub_pull_free`).
#[repr(C)]
struct OwnedPull {
    view: FlMyqtthubPull,
    _bytes: Vec<Box<[u8]>>,
    _members: Vec<FlMyqtthubMember>,
}

fn keep(bytes: Vec<u8>, store: &mut Vec<Box<[u8]>>) -> FlSlice {
    let boxed = bytes.into_boxed_slice();
    let view = FlSlice::of(&boxed);
    store.push(boxed);
    view
}

/// The `/publish` JSON body for one message into `out`. Errors (INVALID_ARGUMENT): an empty
/// topic, wildcards or NUL in it, qos above 2, text that is not UTF-8.
///
/// # Safety
/// Each pointer readable for its length; `out` writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fl_myqtthub_publish_body(
    token: *const u8,
    token_len: usize,
    topic: *const u8,
    topic_len: usize,
    payload: *const u8,
    payload_len: usize,
    qos: u8,
    retain: bool,
    dup: bool,
    out: *mut FlBuffer,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let out = unsafe { out_buffer(out) }?;
        // SAFETY: caller contract.
        let token = unsafe { input_text(token, token_len, "token") }?;
        // SAFETY: caller contract.
        let topic = unsafe { input_text(topic, topic_len, "topic") }?;
        // SAFETY: caller contract.
        let payload = unsafe { input(payload, payload_len, "payload") }?;
        let msg = Publish {
            topic,
            payload,
            qos,
            retain,
            dup,
        };
        let body = myqtthub::publish_body(token, &msg).map_err(Error::from)?;
        deliver(out, body)
    })
}

/// Decode a `/pull` reply (a JSON array of message objects whose `payload` is base64) into
/// `*out`. Anything else is PROTOCOL, with the reason.
///
/// # Safety
/// `body` readable for `len` bytes; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fl_myqtthub_decode_pull(
    body: *const u8,
    len: usize,
    out: *mut *const FlMyqtthubPull,
) -> FlStatus {
    guard(|| {
        // SAFETY: caller contract.
        let out = unsafe { out_param(out, "out") }?;
        *out = std::ptr::null();
        // SAFETY: caller contract.
        let body = unsafe { input(body, len, "body") }?;
        let messages = myqtthub::decode_pull(body).map_err(Error::protocol)?;
        let mut bytes = Vec::new();
        let mut members = Vec::new();
        for (message, fields) in messages.iter().enumerate() {
            for (key, member) in fields {
                let (kind, value) = match member {
                    Member::Payload(data) => (FlMemberKind::Payload, data.clone()),
                    Member::Json(json) => (FlMemberKind::Json, json.to_string().into_bytes()),
                };
                members.push(FlMyqtthubMember {
                    message,
                    key: keep(key.as_bytes().to_vec(), &mut bytes),
                    kind,
                    value: keep(value, &mut bytes),
                });
            }
        }
        let owned = Box::new(OwnedPull {
            view: FlMyqtthubPull {
                messages_len: messages.len(),
                members: members.as_ptr(),
                members_len: members.len(),
            },
            _bytes: bytes,
            _members: members,
        });
        // `view` is the first field of a repr(C) struct: same address.
        *out = Box::into_raw(owned).cast_const().cast::<FlMyqtthubPull>();
        Ok(FlStatus::Ok)
    })
}

/// Free a reply from `fl_myqtthub_decode_pull` (NULL is ignored).
///
/// # Safety
/// `pull` must be NULL or from `fl_myqtthub_decode_pull`, freed once.
#[no_mangle]
pub unsafe extern "C" fn fl_myqtthub_pull_free(pull: *const FlMyqtthubPull) {
    // SAFETY: it points to the OwnedPull that fl_myqtthub_decode_pull leaked (caller contract).
    unsafe { free_boxed::<OwnedPull, _>(pull) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: FlSlice) -> &'static [u8] {
        // SAFETY: views of a reply alive for the whole test.
        unsafe { std::slice::from_raw_parts(s.data, s.len) }
    }

    #[test]
    fn pull_members_flat() {
        let body = br#"[{"topic":"a/b","payload":"AAH/","qos":1},{"payload":null}]"#;
        let mut pull = std::ptr::null();
        // SAFETY: live input and out-parameter.
        let status = unsafe { fl_myqtthub_decode_pull(body.as_ptr(), body.len(), &mut pull) };
        assert_eq!(status, FlStatus::Ok);
        // SAFETY: succeeded.
        let p = unsafe { &*pull };
        assert_eq!((p.messages_len, p.members_len), (2, 4));
        // SAFETY: owned by the reply.
        let members = unsafe { std::slice::from_raw_parts(p.members, p.members_len) };
        assert_eq!(bytes(members[0].value), b"\"a/b\"");
        assert_eq!(members[1].kind, FlMemberKind::Payload);
        assert_eq!(bytes(members[1].value), [0, 1, 255]);
        assert_eq!(
            (members[3].message, members[3].kind),
            (1, FlMemberKind::Json)
        );
        assert_eq!(bytes(members[3].value), b"null");
        // SAFETY: freed once.
        unsafe { fl_myqtthub_pull_free(pull) };
        let mut pull = std::ptr::null();
        // SAFETY: as above.
        let status = unsafe { fl_myqtthub_decode_pull(b"{}".as_ptr(), 2, &mut pull) };
        assert_eq!(status, FlStatus::Protocol);
        assert!(pull.is_null());
    }

    #[test]
    fn publish_body_and_its_errors() {
        let mut out = FlBuffer::EMPTY;
        // SAFETY: live inputs.
        let status = unsafe {
            fl_myqtthub_publish_body(
                b"t".as_ptr(),
                1,
                b"a/+".as_ptr(),
                3,
                std::ptr::null(),
                0,
                0,
                false,
                false,
                &mut out,
            )
        };
        assert_eq!(status, FlStatus::InvalidArgument);
        // SAFETY: live inputs.
        let status = unsafe {
            fl_myqtthub_publish_body(
                b"t".as_ptr(),
                1,
                b"s/1".as_ptr(),
                3,
                b"21.5".as_ptr(),
                4,
                1,
                true,
                false,
                &mut out,
            )
        };
        assert_eq!(status, FlStatus::Ok);
        // SAFETY: filled by the library.
        let body = unsafe { std::slice::from_raw_parts(out.data, out.len) };
        assert_eq!(
            body,
            &br#"{"tokenId":"t","topic":"s/1","qos":1,"payload":"MjEuNQ==","retain":true,"dup":false}"#[..]
        );
        // SAFETY: freed once.
        unsafe { crate::fl_buffer_free(&mut out) };
    }
}
