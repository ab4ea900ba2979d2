//! HS256 JSON Web Tokens exactly as EXP builds them (docs/protocols/exp.md).
//!
//! The header is always the compact `{"alg":"HS256","typ":"JWT"}`; the claims arrive already
//! serialised as compact JSON (the caller owns key order and escaping), and every segment is
//! base64url without padding. The same module verifies tokens for the sandbox, so client and
//! emulator share one codec.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The compact header every EXP token carries, byte for byte.
pub const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Why a token could not be built or verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// The claims are not a JSON object.
    BadClaims(String),
    /// The token is not three base64url segments with a JSON header and payload.
    Malformed(String),
    /// The header names an algorithm other than HS256.
    UnsupportedAlgorithm(String),
    /// The signature does not match the key.
    BadSignature,
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtError::BadClaims(why) => write!(f, "JWT claims must be a JSON object: {why}"),
            JwtError::Malformed(why) => write!(f, "malformed JWT: {why}"),
            JwtError::UnsupportedAlgorithm(alg) => {
                write!(f, "unsupported JWT algorithm {alg:?} (only HS256)")
            }
            JwtError::BadSignature => f.write_str("JWT signature does not match"),
        }
    }
}

impl std::error::Error for JwtError {}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this constructor cannot fail.
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    }
}

/// Sign `claims_json` (compact JSON object text) with `key`: `header.payload.signature`.
pub fn encode_hs256(claims_json: &str, key: &[u8]) -> Result<String, JwtError> {
    match serde_json::from_str::<serde_json::Value>(claims_json) {
        Ok(serde_json::Value::Object(_)) => {}
        Ok(other) => return Err(JwtError::BadClaims(format!("got {}", kind(&other)))),
        Err(e) => return Err(JwtError::BadClaims(e.to_string())),
    }
    let mut token = String::with_capacity(claims_json.len() * 4 / 3 + 96);
    token.push_str(&URL_SAFE_NO_PAD.encode(HEADER_JSON));
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims_json));
    let mut m = mac(key);
    m.update(token.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    token.push('.');
    token.push_str(&signature);
    Ok(token)
}

/// Verify `token` against `key` and return the claims' JSON text.
pub fn decode_hs256(token: &str, key: &[u8]) -> Result<String, JwtError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed(
            "expected three dot-separated segments".into(),
        ));
    };
    let header = segment("header", header_b64)?;
    let header: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| JwtError::Malformed(format!("header is not JSON: {e}")))?;
    match header.get("alg").and_then(|a| a.as_str()) {
        Some("HS256") => {}
        Some(other) => return Err(JwtError::UnsupportedAlgorithm(other.to_owned())),
        None => return Err(JwtError::Malformed("header has no alg".into())),
    }
    let signature = segment("signature", signature_b64)?;
    let mut m = mac(key);
    m.update(&token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()]);
    // verify_slice compares in constant time.
    m.verify_slice(&signature)
        .map_err(|_| JwtError::BadSignature)?;
    let payload = segment("payload", payload_b64)?;
    let text = String::from_utf8(payload)
        .map_err(|_| JwtError::Malformed("payload is not UTF-8".into()))?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(_)) => Ok(text),
        Ok(other) => Err(JwtError::Malformed(format!("payload is {}", kind(&other)))),
        Err(e) => Err(JwtError::Malformed(format!("payload is not JSON: {e}"))),
    }
}

fn segment(name: &str, b64: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(b64.trim_end_matches('='))
        .map_err(|e| JwtError::Malformed(format!("{name} is not base64url: {e}")))
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIMS: &str =
        r#"{"uuid":"test-uuid","type":"device","allowPairing":null,"exp":1700000030000}"#;
    const TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1dWlkIjoidGVzdC11dWlkIiwidHlwZSI6ImRldmljZSIsImFsbG93UGFpcmluZyI6bnVsbCwiZXhwIjoxNzAwMDAwMDMwMDAwfQ.VIPAW908E8MOnBbiPc60AqObePjPmqzd2yfwIVWJnuk";

    #[test]
    fn spec_vector() {
        assert_eq!(encode_hs256(CLAIMS, b"test-secret"), Ok(TOKEN.to_owned()));
        assert_eq!(decode_hs256(TOKEN, b"test-secret"), Ok(CLAIMS.to_owned()));
    }

    #[test]
    fn header_is_compact() {
        assert!(TOKEN.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
    }

    #[test]
    fn rejects_wrong_key_and_garbage() {
        assert_eq!(decode_hs256(TOKEN, b"other"), Err(JwtError::BadSignature));
        assert!(matches!(
            decode_hs256("a.b", b"k"),
            Err(JwtError::Malformed(_))
        ));
        assert!(matches!(
            decode_hs256("a.b.c.d", b"k"),
            Err(JwtError::Malformed(_))
        ));
        assert!(matches!(
            decode_hs256("!!.??.##", b"k"),
            Err(JwtError::Malformed(_))
        ));
        assert!(matches!(
            encode_hs256("[1]", b"k"),
            Err(JwtError::BadClaims(_))
        ));
        assert!(matches!(
            encode_hs256("{", b"k"),
            Err(JwtError::BadClaims(_))
        ));
    }

    #[test]
    fn rejects_other_algorithms() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let token = format!("{header}.e30.");
        assert!(matches!(
            decode_hs256(&token, b"k"),
            Err(JwtError::UnsupportedAlgorithm(_))
        ));
    }
}
