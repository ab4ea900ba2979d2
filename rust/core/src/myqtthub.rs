//! MyQttHub REST payload codec: base64 fused with building the `/publish` JSON body, in
//! batches, and decoding of `/pull` replies.
//!
//! Publish bodies are written straight into one buffer (no intermediate JSON tree, no base64
//! `String`): `{"tokenId":..,"topic":..,"qos":..,"payload":"<base64>","retain":..,"dup":..}`.
//! Pull replies are parsed once; each `payload` string is decoded from the borrowed input
//! (no copy of the base64 text) and every other member is kept as it came.

use std::borrow::Cow;
use std::fmt;

use base64_simd::STANDARD;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The longest topic MQTT can carry (a 16-bit length prefix).
pub const MAX_TOPIC_BYTES: usize = 65_535;

/// What was wrong, and for which message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    /// Position in the batch (None for a single message or the reply as a whole).
    pub index: Option<usize>,
    pub message: String,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "message {i}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for CodecError {}

fn error(index: Option<usize>, message: impl Into<String>) -> CodecError {
    CodecError {
        index,
        message: message.into(),
    }
}

/// One message to publish.
#[derive(Debug, Clone, Copy)]
pub struct Publish<'a> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
}

/// Why `topic` cannot be published to (None when it can).
pub fn publish_topic_problem(topic: &str) -> Option<&'static str> {
    if topic.is_empty() {
        Some("the topic is empty")
    } else if topic.len() > MAX_TOPIC_BYTES {
        Some("the topic is longer than 65535 bytes")
    } else if topic.contains(['+', '#']) {
        Some("a topic to publish to cannot contain the wildcards + or #")
    } else if topic.contains('\0') {
        Some("the topic contains a NUL character")
    } else {
        None
    }
}

/// Append `s` as a JSON string literal (quotes included).
fn push_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match escaped {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn push_bool(out: &mut Vec<u8>, value: bool) {
    out.extend_from_slice(if value { b"true" } else { b"false" });
}

/// The `/publish` JSON body for one message (base64 written in place).
pub fn publish_body(token: &str, msg: &Publish<'_>) -> Result<Vec<u8>, CodecError> {
    publish_body_at(token, msg, None)
}

fn publish_body_at(
    token: &str,
    msg: &Publish<'_>,
    index: Option<usize>,
) -> Result<Vec<u8>, CodecError> {
    if let Some(problem) = publish_topic_problem(msg.topic) {
        return Err(error(index, format!("{problem} (topic {:?})", msg.topic)));
    }
    if msg.qos > 2 {
        return Err(error(
            index,
            format!("qos must be 0, 1 or 2, got {}", msg.qos),
        ));
    }
    let b64_len = STANDARD.encoded_length(msg.payload.len());
    let mut out = Vec::with_capacity(96 + token.len() + msg.topic.len() + b64_len);
    out.extend_from_slice(b"{\"tokenId\":");
    push_json_string(&mut out, token);
    out.extend_from_slice(b",\"topic\":");
    push_json_string(&mut out, msg.topic);
    out.extend_from_slice(b",\"qos\":");
    out.push(b'0' + msg.qos);
    out.extend_from_slice(b",\"payload\":\"");
    let at = out.len();
    out.resize(at + b64_len, 0);
    let _written = STANDARD.encode(msg.payload, base64_simd::Out::from_slice(&mut out[at..]));
    out.extend_from_slice(b"\",\"retain\":");
    push_bool(&mut out, msg.retain);
    out.extend_from_slice(b",\"dup\":");
    push_bool(&mut out, msg.dup);
    out.push(b'}');
    Ok(out)
}

/// Bodies for a whole batch; the first invalid message fails the batch (nothing is sent).
pub fn publish_bodies(token: &str, msgs: &[Publish<'_>]) -> Result<Vec<Vec<u8>>, CodecError> {
    msgs.iter()
        .enumerate()
        .map(|(i, m)| publish_body_at(token, m, Some(i)))
        .collect()
}

/// Standard base64 (with padding).
pub fn encode_base64(data: &[u8]) -> String {
    STANDARD.encode_to_string(data)
}

/// Decode standard base64 (padding required, no whitespace).
pub fn decode_base64(text: &[u8]) -> Result<Vec<u8>, CodecError> {
    STANDARD
        .decode_to_vec(text)
        .map_err(|_| error(None, "invalid base64"))
}

/// One member of a pulled message: the decoded payload, or any other JSON value as sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    Payload(Vec<u8>),
    Json(Value),
}

/// A pulled message: its members in arrival order.
pub type PulledMessage = Vec<(String, Member)>;

/// Decode a `/pull` reply: a JSON array of objects whose `payload` strings are base64.
pub fn decode_pull(body: &[u8]) -> Result<Vec<PulledMessage>, CodecError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let messages = de.deserialize_seq(Messages).map_err(|e| {
        error(
            None,
            format!("the pull reply is not what was expected: {e}"),
        )
    })?;
    de.end()
        .map_err(|e| error(None, format!("trailing data after the pull reply: {e}")))?;
    Ok(messages)
}

struct Messages;

impl<'de> Visitor<'de> for Messages {
    type Value = Vec<PulledMessage>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(message) = seq.next_element_seed(MessageSeed(out.len()))? {
            out.push(message);
        }
        Ok(out)
    }
}

struct MessageSeed(usize);

impl<'de> de::DeserializeSeed<'de> for MessageSeed {
    type Value = PulledMessage;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed {
    type Value = PulledMessage;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "message {} to be a JSON object", self.0)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(6);
        while let Some(key) = map.next_key::<MaybeBorrowed<'de>>()? {
            let key = key.0.into_owned();
            if key == "payload" {
                let member = match map.next_value::<Option<MaybeBorrowed<'de>>>()? {
                    None => Member::Json(Value::Null),
                    Some(text) => Member::Payload(
                        STANDARD.decode_to_vec(text.0.as_bytes()).map_err(|_| {
                            de::Error::custom(format!(
                                "message {}: the payload is not valid base64",
                                self.0
                            ))
                        })?,
                    ),
                };
                members.push((key, member));
            } else {
                members.push((key, Member::Json(map.next_value::<Value>()?)));
            }
        }
        Ok(members)
    }
}

/// A JSON string, borrowed from the input when it has no escapes (base64 never has).
struct MaybeBorrowed<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for MaybeBorrowed<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = MaybeBorrowed<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeBorrowed(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeBorrowed(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(MaybeBorrowed(Cow::Owned(v)))
            }
        }
        d.deserialize_str(StrVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<'a>(topic: &'a str, payload: &'a [u8]) -> Publish<'a> {
        Publish {
            topic,
            payload,
            qos: 1,
            retain: true,
            dup: false,
        }
    }

    #[test]
    fn body_is_exact_json() {
        let body = publish_body("0da8", &msg("sensors/t1", b"21.5")).unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"tokenId":"0da8","topic":"sensors/t1","qos":1,"payload":"MjEuNQ==","retain":true,"dup":false}"#
        );
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed["payload"], "MjEuNQ==");
    }

    #[test]
    fn strings_are_escaped() {
        let body = publish_body("t\"k", &msg("a/\u{1}\\é\n", b"")).unwrap();
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed["tokenId"], "t\"k");
        assert_eq!(parsed["topic"], "a/\u{1}\\é\n");
        assert_eq!(parsed["payload"], "");
    }

    #[test]
    fn bad_messages_are_named() {
        let bad = [msg("ok", b"x"), msg("a/+", b"y")];
        let err = publish_bodies("t", &bad).unwrap_err();
        assert_eq!(err.index, Some(1));
        assert!(err.to_string().contains("wildcards"), "{err}");
        let mut q = msg("a", b"");
        q.qos = 3;
        assert!(publish_body("t", &q).unwrap_err().message.contains("qos"));
        assert!(publish_body("t", &msg("", b"")).is_err());
    }

    #[test]
    fn base64_round_trip_all_lengths() {
        let data: Vec<u8> = (0..=255u8).collect();
        for n in 0..data.len() {
            let text = encode_base64(&data[..n]);
            assert_eq!(decode_base64(text.as_bytes()).unwrap(), &data[..n]);
        }
        assert!(decode_base64(b"abc").is_err());
    }

    #[test]
    fn pull_keeps_members_and_decodes_payload() {
        let body =
            br#"[{"topic":"a/b","payload":"AAH/","qos":1,"extra":{"x":[1,2]}},{"payload":null}]"#;
        let messages = decode_pull(body).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(
            messages[0][0],
            ("topic".into(), Member::Json(Value::from("a/b")))
        );
        assert_eq!(
            messages[0][1],
            ("payload".into(), Member::Payload(vec![0, 1, 255]))
        );
        assert_eq!(messages[0][3].0, "extra");
        assert_eq!(
            messages[1][0],
            ("payload".into(), Member::Json(Value::Null))
        );
        assert!(decode_pull(b"[]").unwrap().is_empty());
    }

    #[test]
    fn pull_errors_are_clear() {
        let err = decode_pull(br#"[{"payload":"!!"}]"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("message 0: the payload is not valid base64"),
            "{err}"
        );
        assert!(decode_pull(b"{}").is_err());
        assert!(decode_pull(b"[1]").is_err());
        assert!(decode_pull(br#"[{"payload":5}]"#).is_err());
        assert!(decode_pull(b"[] x").is_err());
        assert!(decode_pull(b"Service denied").is_err());
    }
}
