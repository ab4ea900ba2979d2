//! The core's one failure vocabulary: every error type converts into [`Error`], and its
//! [`ErrorKind`] decides the one Python class the binding raises.

use std::fmt;

use crate::idigi::codec::CodecError as IdigiCodecError;
use crate::jwt::JwtError;
use crate::myqtthub::CodecError as MyqtthubCodecError;
use crate::testca::TestCaError;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller passed something unusable (bad URL, method, header, CA file, value to encode).
    InvalidArgument,
    /// No connection could be made (refused, DNS, proxy refused) or it broke.
    Connect,
    Timeout,
    Tls,
    /// The peer sent something that violates its protocol, or cut it short.
    Protocol,
    /// The peer rejected the credentials, or a signature does not match its key.
    Authentication,
    /// The peer refused the request itself as malformed (e.g. an unknown iDigi monitor);
    /// raised as a protocol error, but never worth retrying.
    BadRequest,
}

impl ErrorKind {
    /// Every kind, for exhaustive checks of the mapping.
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::InvalidArgument,
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Tls,
        ErrorKind::Protocol,
        ErrorKind::Authentication,
        ErrorKind::BadRequest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Authentication => "authentication",
            ErrorKind::BadRequest => "bad_request",
        }
    }

    pub fn from_name(name: &str) -> Option<ErrorKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A failure, naming the host involved (empty when there is none) and the cause.
/// Never contains credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub host: String,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            host: String::new(),
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// The peer's bytes could not be decoded: a protocol error whatever the codec's own type.
    pub fn protocol(cause: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Protocol, cause.to_string())
    }

    pub fn with_host(mut self, host: &str) -> Self {
        self.host = host.to_owned();
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.host, self.message)
        }
    }
}

impl std::error::Error for Error {}

// The codecs' own errors describe values the caller asked to encode; decoding paths, where the
// bytes come from a peer, convert with `Error::protocol` instead.

impl From<IdigiCodecError> for Error {
    fn from(e: IdigiCodecError) -> Self {
        Error::invalid(e.message)
    }
}

impl From<MyqtthubCodecError> for Error {
    fn from(e: MyqtthubCodecError) -> Self {
        Error::invalid(e.to_string())
    }
}

impl From<JwtError> for Error {
    fn from(e: JwtError) -> Self {
        let kind = match e {
            JwtError::BadSignature => ErrorKind::Authentication,
            _ => ErrorKind::InvalidArgument,
        };
        Error::new(kind, e.to_string())
    }
}

impl From<TestCaError> for Error {
    fn from(e: TestCaError) -> Self {
        Error::invalid(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_display_names_the_host() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(ErrorKind::from_name("nope"), None);
        let e = Error::new(ErrorKind::Connect, "refused").with_host("h:1");
        assert_eq!(e.to_string(), "h:1: refused");
        assert_eq!(Error::invalid("bad").to_string(), "bad");
    }

    #[test]
    fn jwt_signature_is_authentication() {
        assert_eq!(
            Error::from(JwtError::BadSignature).kind,
            ErrorKind::Authentication
        );
        assert_eq!(
            Error::from(JwtError::Malformed("x".into())).kind,
            ErrorKind::InvalidArgument
        );
    }
}
