//! What one request did on the wire, so a failure on a reused connection can be retried safely.
//!
//! A server may close a kept-alive connection just as a request goes out on it: the pool's
//! probe saw it open, the request then meets end of stream. The transport may re-send such a
//! request on a fresh connection only when no response byte arrived and either the method is
//! idempotent or no request byte was handed to the socket. [`Tap`] wraps the connector chain
//! and records, for the request running on this thread, whether a new connection was opened,
//! whether any output was handed to the connection and whether any input came back.
//!
//! ureq runs the connector and the transport on the thread that called `Agent::run`, so a
//! thread-local record belongs to exactly one request.

use std::cell::Cell;
use std::fmt;

use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};

thread_local! {
    static WIRE: Cell<Wire> = const { Cell::new(Wire::NONE) };
}

/// What the current request on this thread did at the connection level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wire {
    /// A connection was opened for it (so it did not run on a pooled one).
    pub connected: bool,
    /// Output was handed to the connection (some of it may have reached the peer).
    pub sent: bool,
    /// Input arrived from the peer.
    pub received: bool,
}

impl Wire {
    const NONE: Wire = Wire {
        connected: false,
        sent: false,
        received: false,
    };

    /// Start recording a new request on this thread.
    pub fn reset() {
        WIRE.with(|w| w.set(Wire::NONE));
    }

    /// What the request since the last [`Wire::reset`] did.
    pub fn current() -> Wire {
        WIRE.with(Cell::get)
    }

    fn note(update: impl FnOnce(&mut Wire)) {
        WIRE.with(|w| {
            let mut wire = w.get();
            update(&mut wire);
            w.set(wire);
        });
    }

    /// A request that failed with this record may go out again on a fresh connection.
    pub fn may_resend(self, idempotent: bool) -> bool {
        !self.connected && !self.received && (idempotent || !self.sent)
    }
}

/// The methods RFC 9110 defines as idempotent: sending one twice has the effect of once.
pub fn idempotent(method: &str) -> bool {
    ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

/// ureq's default connector chain, with every connection it opens wrapped in [`Tapped`].
#[derive(Debug, Default)]
pub struct Tap(DefaultConnector);

impl Connector<()> for Tap {
    type Out = Tapped;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Tapped>, ureq::Error> {
        Wire::note(|w| w.connected = true);
        Ok(self.0.connect(details, chained)?.map(Tapped))
    }
}

/// A connection that reports its traffic to the running request's [`Wire`].
pub struct Tapped(Box<dyn Transport>);

impl fmt::Debug for Tapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Transport for Tapped {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if amount > 0 {
            Wire::note(|w| w.sent = true);
        }
        self.0.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let outcome = self.0.await_input(timeout);
        if !self.0.buffers().input().is_empty() {
            Wire::note(|w| w.received = true);
        }
        outcome
    }

    fn is_open(&mut self) -> bool {
        self.0.is_open()
    }

    fn is_tls(&self) -> bool {
        self.0.is_tls()
    }
}

/// A server that answers the first request on a connection, then reads the second one and
/// closes after sending `partial` (empty: not a byte), as a keep-alive close racing the
/// request; every later connection is answered normally. Returns its address and the count
/// of requests read. For the sync and async transports' tests alike.
#[cfg(test)]
pub(crate) fn racing_server(
    partial: &'static [u8],
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate().take(2) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let answers = if i == 0 { 1 } else { 2 };
            for _ in 0..=answers {
                if s.read(&mut buf).unwrap_or(0) == 0 {
                    break;
                }
                let n = counter.fetch_add(1, Ordering::SeqCst);
                if i == 0 && n == 1 {
                    let _ = s.write_all(partial);
                    break; // hang up on the second request
                }
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
        }
    });
    (addr, seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_untouched_or_idempotent_requests_on_reused_connections_resend() {
        let reused_sent = Wire {
            connected: false,
            sent: true,
            received: false,
        };
        assert!(reused_sent.may_resend(true));
        assert!(!reused_sent.may_resend(false));
        assert!(Wire::NONE.may_resend(false));
        let answered = Wire {
            received: true,
            ..reused_sent
        };
        assert!(!answered.may_resend(true));
        let fresh = Wire {
            connected: true,
            ..Wire::NONE
        };
        assert!(!fresh.may_resend(true));
        assert!(idempotent("get") && idempotent("PUT") && !idempotent("POST"));
        assert!(!idempotent("PATCH"));
    }
}
