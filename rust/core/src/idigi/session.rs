//! One push session: connect, handshake, read frames, write acks, reconnect, until stopped.
//!
//! The whole socket side runs on one background thread that owns the connection, so a TLS
//! stream is never read and written concurrently. Reads use a short timeout as the loop's tick:
//! acks queued by the consumer are written between reads, and `stop` is noticed within a tick.
//! Decoded frames go to a bounded queue; when it is full the thread stops reading (TCP flow
//! control then throttles the server) but keeps writing acks, so nothing is dropped.
//! rustls hands out already-decrypted plaintext before touching the socket again, so frames
//! that arrived together in one TLS record are delivered together, never stranded.

use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use socket2::{SockRef, TcpKeepalive};

use super::codec::{self, Decoded, DecoderLimits, FrameDecoder, Message, Publish};
use crate::error::{Error, ErrorKind};
use crate::tls::load_roots;

/// Everything fixed for the life of a session.
#[derive(Clone)]
pub struct SessionConfig {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    /// Extra PEM CA bundle trusted on top of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Name verified in the certificate (and sent as SNI) when it differs from `host`.
    pub server_name: Option<String>,
    pub username: String,
    pub password: String,
    pub monitor_id: u32,
    pub connect_timeout: Duration,
    /// Reconnect when nothing at all arrives for this long (the protocol has no heartbeat).
    pub idle_timeout: Option<Duration>,
    /// TCP keepalive idle time (probes detect half-open connections).
    pub keepalive: Option<Duration>,
    /// What the frame decoder accepts: a bomb or an oversized frame from the server is a
    /// protocol error and a reconnect, never a swollen process.
    pub limits: DecoderLimits,
    /// Queue bound in frames and in payload bytes; reading pauses beyond either.
    pub queue_frames: usize,
    pub queue_bytes: usize,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Consecutive failed connection attempts before giving up (`None`: never).
    pub max_attempts: Option<u32>,
    /// Loop tick: longest delay for writing acks and noticing `stop`.
    pub tick: Duration,
}

impl fmt::Debug for SessionConfig {
    // Hand-written so the password can never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("monitor_id", &self.monitor_id)
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    pub fn new(host: &str, port: u16, username: &str, password: &str, monitor_id: u32) -> Self {
        SessionConfig {
            host: host.to_owned(),
            port,
            tls: true,
            ca_file: None,
            server_name: None,
            username: username.to_owned(),
            password: password.to_owned(),
            monitor_id,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: None,
            keepalive: Some(Duration::from_secs(30)),
            limits: DecoderLimits::default(),
            queue_frames: 4096,
            queue_bytes: 64 << 20,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_attempts: None,
            tick: Duration::from_millis(20),
        }
    }
}

/// Failures the session cannot recover from by reconnecting: it reports them and ends.
fn fatal(error: &Error) -> bool {
    matches!(
        error.kind,
        ErrorKind::Authentication | ErrorKind::BadRequest | ErrorKind::InvalidArgument
    )
}

/// Connection states reported through the event queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Connecting,
    Connected,
    Disconnected,
    /// Gave up (fatal error or attempt limit); the thread has ended.
    Failed,
    Stopped,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Connecting => "connecting",
            State::Connected => "connected",
            State::Disconnected => "disconnected",
            State::Failed => "failed",
            State::Stopped => "stopped",
        }
    }
}

/// What the consumer receives, in order.
#[derive(Debug)]
pub enum Event {
    /// `generation` numbers the connection; acks for an older one are dropped.
    Frame {
        generation: u64,
        publish: Publish,
    },
    State {
        state: State,
        detail: String,
    },
    Error(Error),
}

struct Queue {
    events: VecDeque<Event>,
    frames: usize,
    bytes: usize,
    finished: bool,
}

struct Shared {
    config: SessionConfig,
    /// Encoded once at start (which also validates the credentials), sent on every connection.
    connect_request: Vec<u8>,
    tls: Option<Arc<ClientConfig>>,
    stop: AtomicBool,
    generation: AtomicU64,
    queue: Mutex<Queue>,
    readable: Condvar,
    writable: Condvar,
    acks: Mutex<Vec<(u64, u16, u16)>>,
    sleeper: Mutex<()>,
    wake: Condvar,
}

impl Shared {
    /// Flag the thread to end and wake it from a back-off pause or a full-queue wait.
    fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.notify_all();
        self.writable.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking holder cannot leave these structures half-updated; keep going.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running push session. Dropping it stops the thread.
pub struct PushSession {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl PushSession {
    /// Validate `config`, load the trust store and start the background thread.
    pub fn start(config: SessionConfig) -> Result<PushSession, Error> {
        let connect_request =
            codec::encode_connect_request(&config.username, &config.password, config.monitor_id)
                .map_err(Error::from)?;
        if config.host.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "push host is empty"));
        }
        let tls = if config.tls {
            Some(Arc::new(client_config(config.ca_file.as_deref())?))
        } else {
            None
        };
        let shared = Arc::new(Shared {
            config,
            connect_request,
            tls,
            stop: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            queue: Mutex::new(Queue {
                events: VecDeque::new(),
                frames: 0,
                bytes: 0,
                finished: false,
            }),
            readable: Condvar::new(),
            writable: Condvar::new(),
            acks: Mutex::new(Vec::new()),
            sleeper: Mutex::new(()),
            wake: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("ferrolink-idigi-{}", shared.config.monitor_id))
            .spawn(move || {
                run(&worker);
                let mut q = lock(&worker.queue);
                q.finished = true;
                worker.readable.notify_all();
            })
            .map_err(|e| Error::new(ErrorKind::Connect, format!("cannot start thread: {e}")))?;
        Ok(PushSession {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Up to `max` events, waiting at most `timeout` for the first. The flag is true once the
    /// session thread has ended and everything it produced has been taken.
    pub fn next_events(&self, max: usize, timeout: Duration) -> (Vec<Event>, bool) {
        let deadline = Instant::now() + timeout;
        let mut q = lock(&self.shared.queue);
        while q.events.is_empty() && !q.finished {
            let now = Instant::now();
            if now >= deadline {
                return (Vec::new(), false);
            }
            q = self
                .shared
                .readable
                .wait_timeout(q, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        let n = q.events.len().min(max.max(1));
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            if let Some(event) = q.events.pop_front() {
                if let Event::Frame { publish, .. } = &event {
                    q.frames -= 1;
                    q.bytes -= publish.payload.len();
                }
                out.push(event);
            }
        }
        let done = q.finished && q.events.is_empty();
        self.shared.writable.notify_all();
        (out, done)
    }

    /// Queue acks for blocks of connection `generation`; written in order by the session thread.
    pub fn ack(&self, generation: u64, block_ids: &[u16], status: u16) {
        lock(&self.shared.acks).extend(block_ids.iter().map(|&b| (generation, b, status)));
    }

    /// The current connection number (0 before the first connection).
    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::SeqCst)
    }

    /// Ask the thread to end and wait up to `timeout` for it. Returns true once it has ended.
    pub fn stop(&self, timeout: Duration) -> bool {
        self.shared.request_stop();
        let deadline = Instant::now() + timeout;
        let mut slot = lock(&self.thread);
        loop {
            match slot.as_ref() {
                None => return true,
                Some(handle) if handle.is_finished() => {
                    if let Some(handle) = slot.take() {
                        let _ = handle.join();
                    }
                    return true;
                }
                Some(_) if Instant::now() >= deadline => return false,
                Some(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }
}

impl Drop for PushSession {
    fn drop(&mut self) {
        self.shared.request_stop();
    }
}

// ----------------------------------------------------------------------------------------
// TLS

fn client_config(ca_file: Option<&Path>) -> Result<ClientConfig, Error> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(load_roots(ca_file)?);
    if roots.is_empty() {
        return Err(Error::invalid("no trusted CA certificates: pass ca_file"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Tls, e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

fn is_tick(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

fn io_error(e: &io::Error, what: &str) -> Error {
    if let Some(inner) = e.get_ref() {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Error::new(ErrorKind::Tls, format!("TLS error {what}: {tls}"));
        }
    }
    let kind = if e.kind() == io::ErrorKind::InvalidData {
        ErrorKind::Tls
    } else {
        ErrorKind::Connect
    };
    Error::new(kind, format!("{what}: {e}"))
}

// ----------------------------------------------------------------------------------------
// The session thread

fn stopped(shared: &Shared) -> bool {
    shared.stop.load(Ordering::SeqCst)
}

fn emit(shared: &Shared, events: impl IntoIterator<Item = Event>) {
    let mut q = lock(&shared.queue);
    for event in events {
        if let Event::Frame { publish, .. } = &event {
            q.frames += 1;
            q.bytes += publish.payload.len();
        }
        q.events.push_back(event);
    }
    shared.readable.notify_all();
}

fn state(shared: &Shared, state: State, detail: impl Into<String>) {
    emit(
        shared,
        [Event::State {
            state,
            detail: detail.into(),
        }],
    );
}

/// Interruptible sleep; false when stopped.
fn pause(shared: &Shared, duration: Duration) -> bool {
    let deadline = Instant::now() + duration;
    let mut guard = lock(&shared.sleeper);
    while !stopped(shared) {
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        guard = shared
            .wake
            .wait_timeout(guard, deadline - now)
            .map(|(g, _)| g)
            .unwrap_or_else(|p| p.into_inner().0);
    }
    false
}

fn jitter_seed() -> u64 {
    RandomState::new().build_hasher().finish() | 1
}

fn run(shared: &Shared) {
    let config = &shared.config;
    let mut rng = jitter_seed();
    let mut backoff = config.backoff_initial;
    let mut failures: u32 = 0;
    while !stopped(shared) {
        state(
            shared,
            State::Connecting,
            format!("{}:{}", config.host, config.port),
        );
        let outcome = connect(shared).and_then(|(conn, version)| {
            failures = 0;
            backoff = config.backoff_initial;
            let generation = shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
            state(
                shared,
                State::Connected,
                format!("server protocol version {version}"),
            );
            serve(shared, conn, generation)
        });
        if stopped(shared) {
            break;
        }
        let error = match outcome {
            Ok(()) => continue,
            Err(e) => e,
        };
        let fatal = fatal(&error);
        let detail = error.message.clone();
        emit(shared, [Event::Error(error)]);
        if fatal {
            state(shared, State::Failed, detail);
            return;
        }
        failures += 1;
        if config.max_attempts.is_some_and(|max| failures >= max) {
            state(
                shared,
                State::Failed,
                format!("giving up after {failures} failed attempts: {detail}"),
            );
            return;
        }
        // Equal jitter: between half and all of the current back-off.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let fraction = 0.5 + (rng % 1000) as f64 / 2000.0;
        let delay = backoff.mul_f64(fraction);
        state(
            shared,
            State::Disconnected,
            format!("{detail}; reconnecting in {:.2} s", delay.as_secs_f64()),
        );
        if !pause(shared, delay) {
            break;
        }
        backoff = (backoff * 2).min(config.backoff_max);
    }
    state(shared, State::Stopped, "stopped");
}

fn resolve(config: &SessionConfig) -> Result<Vec<SocketAddr>, Error> {
    let addrs: Vec<SocketAddr> = (config.host.as_str(), config.port)
        .to_socket_addrs()
        .map_err(|e| {
            Error::new(
                ErrorKind::Connect,
                format!("cannot resolve {}: {e}", config.host),
            )
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::new(
            ErrorKind::Connect,
            format!("{} has no address", config.host),
        ));
    }
    Ok(addrs)
}

fn tcp_connect(config: &SessionConfig) -> Result<TcpStream, Error> {
    let mut last = None;
    for addr in resolve(config)? {
        match TcpStream::connect_timeout(&addr, config.connect_timeout) {
            Ok(stream) => {
                stream.set_nodelay(true).ok();
                if let Some(idle) = config.keepalive {
                    let keepalive = TcpKeepalive::new()
                        .with_time(idle)
                        .with_interval(idle / 3 + Duration::from_secs(1));
                    SockRef::from(&stream).set_tcp_keepalive(&keepalive).ok();
                }
                stream
                    .set_read_timeout(Some(config.tick))
                    .map_err(|e| io_error(&e, "cannot set read timeout"))?;
                return Ok(stream);
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    Err(match last {
        Some((addr, e)) if e.kind() == io::ErrorKind::TimedOut => Error::new(
            ErrorKind::Timeout,
            format!("connecting to {addr} timed out"),
        ),
        Some((addr, e)) => Error::new(ErrorKind::Connect, format!("cannot connect to {addr}: {e}")),
        None => Error::new(ErrorKind::Connect, "no address to connect to"),
    })
}

/// Connect, send the ConnectRequest and read the whole 10-byte ConnectResponse.
fn connect(shared: &Shared) -> Result<(Conn, u16), Error> {
    let config = &shared.config;
    let deadline = Instant::now() + config.connect_timeout;
    let tcp = tcp_connect(config)?;
    let mut conn = match &shared.tls {
        None => Conn::Plain(tcp),
        Some(tls) => {
            let name = config.server_name.as_deref().unwrap_or(&config.host);
            let server_name = ServerName::try_from(name.to_owned()).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("invalid TLS server name {name:?}"),
                )
            })?;
            let client = ClientConnection::new(Arc::clone(tls), server_name)
                .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS setup failed: {e}")))?;
            let mut stream = StreamOwned::new(client, tcp);
            while stream.conn.is_handshaking() {
                match stream.conn.complete_io(&mut stream.sock) {
                    Ok(_) => {}
                    Err(e) if is_tick(&e) => check_deadline(shared, deadline, "TLS handshake")?,
                    Err(e) => return Err(io_error(&e, "during the TLS handshake")),
                }
            }
            Conn::Tls(Box::new(stream))
        }
    };
    write_all(&mut conn, &shared.connect_request)
        .map_err(|e| io_error(&e, "sending the ConnectRequest"))?;
    let mut response = [0u8; 10];
    let mut got = 0;
    while got < response.len() {
        match conn.read(&mut response[got..]) {
            Ok(0) => {
                return Err(Error::new(
                    ErrorKind::Connect,
                    format!("server closed the connection after {got} of 10 ConnectResponse bytes"),
                ))
            }
            Ok(n) => got += n,
            Err(e) if is_tick(&e) => {
                check_deadline(shared, deadline, "waiting for the ConnectResponse")?
            }
            Err(e) => return Err(io_error(&e, "reading the ConnectResponse")),
        }
    }
    let (status, version) = codec::decode_connect_response(&response).map_err(Error::protocol)?;
    match status {
        200 => Ok((conn, version)),
        403 => Err(Error::new(
            ErrorKind::Authentication,
            format!(
                "push server rejected the credentials for monitor {} (status 403)",
                config.monitor_id
            ),
        )),
        400 => Err(Error::new(
            ErrorKind::BadRequest,
            format!(
                "push server refused monitor {} (status 400: bad request or unknown monitor)",
                config.monitor_id
            ),
        )),
        other => Err(Error::new(
            ErrorKind::Protocol,
            format!("ConnectResponse status {other}"),
        )),
    }
}

fn check_deadline(shared: &Shared, deadline: Instant, what: &str) -> Result<(), Error> {
    if stopped(shared) {
        return Err(Error::new(ErrorKind::Connect, "stopped"));
    }
    if Instant::now() >= deadline {
        return Err(Error::new(ErrorKind::Timeout, format!("{what} timed out")));
    }
    Ok(())
}

/// `write_all` that rides out read-timeout ticks surfacing from a TLS stream.
fn write_all(conn: &mut Conn, mut data: &[u8]) -> io::Result<()> {
    let mut stalls = 0;
    while !data.is_empty() {
        match conn.write(data) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "connection closed",
                ))
            }
            Ok(n) => data = &data[n..],
            Err(e) if is_tick(&e) && stalls < 3000 => stalls += 1,
            Err(e) => return Err(e),
        }
    }
    loop {
        match conn.flush() {
            Err(e) if is_tick(&e) && stalls < 3000 => stalls += 1,
            other => return other,
        }
    }
}

/// Write the acks that belong to this connection, whole and in order.
fn flush_acks(shared: &Shared, conn: &mut Conn, generation: u64) -> Result<(), Error> {
    let pending = std::mem::take(&mut *lock(&shared.acks));
    if pending.is_empty() {
        return Ok(());
    }
    let mut bytes = Vec::with_capacity(pending.len() * 10);
    for (g, block, status) in pending {
        // Acks for an earlier connection are meaningless now: the server re-sends those blocks.
        if g == generation {
            bytes.extend_from_slice(&codec::encode_ack(block, status));
        }
    }
    if bytes.is_empty() {
        return Ok(());
    }
    write_all(conn, &bytes).map_err(|e| io_error(&e, "writing acks"))
}

/// Read and decode until the connection ends, an error occurs or the session is stopped.
fn serve(shared: &Shared, mut conn: Conn, generation: u64) -> Result<(), Error> {
    let config = &shared.config;
    let mut decoder = FrameDecoder::new(config.limits);
    let mut buf = vec![0u8; 256 * 1024];
    let mut decoded: Vec<Decoded> = Vec::new();
    let mut last_data = Instant::now();
    loop {
        if stopped(shared) {
            // Acks queued before the stop still count: a handled block must not come back.
            let _ = flush_acks(shared, &mut conn, generation);
            return Ok(());
        }
        flush_acks(shared, &mut conn, generation)?;
        wait_for_room(shared, &mut conn, generation)?;
        // Frames the inflate budget held back come out before anything new is read.
        let n = if decoder.backlog() > 0 {
            0
        } else {
            match conn.read(&mut buf) {
                // A TLS peer that hangs up without close_notify is, for us, just a hang-up.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(hangup(&decoder));
                }
                Ok(0) => return Err(hangup(&decoder)),
                Ok(n) => n,
                Err(e) if is_tick(&e) => {
                    if let Some(idle) = config.idle_timeout {
                        if last_data.elapsed() >= idle {
                            return Err(Error::new(
                                ErrorKind::Timeout,
                                format!("no data for {:.1} s (idle timeout)", idle.as_secs_f64()),
                            ));
                        }
                    }
                    continue;
                }
                Err(e) => return Err(io_error(&e, "reading from the push server")),
            }
        };
        last_data = Instant::now();
        decoder.feed(&buf[..n], &mut decoded);
        let mut events = Vec::with_capacity(decoded.len());
        let mut failure = None;
        for item in decoded.drain(..) {
            match item {
                Ok(Message::Publish(publish)) => events.push(Event::Frame {
                    generation,
                    publish,
                }),
                Ok(Message::Unknown { message_type, size }) => {
                    events.push(Event::Error(Error::new(
                        ErrorKind::Protocol,
                        format!("skipped a message of unknown type {message_type} ({size} bytes)"),
                    )))
                }
                Ok(other) => {
                    failure = Some(Error::new(
                        ErrorKind::Protocol,
                        format!("unexpected message from the server: {}", describe(&other)),
                    ));
                    break;
                }
                Err(e) => {
                    failure = Some(Error::protocol(e));
                    break;
                }
            }
        }
        if !events.is_empty() {
            emit(shared, events);
        }
        if let Some(e) = failure {
            // The stream is unusable but still writable: acks already queued still count.
            let _ = flush_acks(shared, &mut conn, generation);
            return Err(e);
        }
    }
}

fn hangup(decoder: &FrameDecoder) -> Error {
    let detail = if decoder.at_boundary() {
        "server closed the connection".to_owned()
    } else {
        format!(
            "server closed the connection mid-frame ({} bytes of a frame held)",
            decoder.buffered()
        )
    };
    Error::new(ErrorKind::Connect, detail)
}

fn describe(message: &Message) -> &'static str {
    match message {
        Message::ConnectRequest { .. } => "ConnectRequest",
        Message::ConnectResponse { .. } => "ConnectResponse",
        Message::Publish(_) => "PublishMessage",
        Message::Ack { .. } => "PublishMessageReceived",
        Message::Unknown { .. } => "unknown",
    }
}

/// Back-pressure: while the queue is over its bounds, keep writing acks but read nothing.
fn wait_for_room(shared: &Shared, conn: &mut Conn, generation: u64) -> Result<(), Error> {
    let config = &shared.config;
    loop {
        {
            let q = lock(&shared.queue);
            if (q.frames < config.queue_frames && q.bytes < config.queue_bytes) || stopped(shared) {
                return Ok(());
            }
            let _ = shared.writable.wait_timeout(q, config.tick);
        }
        flush_acks(shared, conn, generation)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn next_state(session: &PushSession) -> Vec<Event> {
        let (events, _) = session.next_events(100, Duration::from_secs(5));
        events
    }

    #[test]
    fn handshake_frames_acks_and_rejection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = [0u8; 24];
            s.read_exact(&mut req).unwrap();
            // ConnectResponse split in two writes, then two frames at once.
            let resp = codec::encode_connect_response(200, 1);
            s.write_all(&resp[..3]).unwrap();
            std::thread::sleep(Duration::from_millis(30));
            s.write_all(&resp[3..]).unwrap();
            let mut frames = codec::encode_publish(7, 1, 1, 1, b"{\"a\":1}").unwrap();
            frames.extend(codec::encode_publish(8, 1, 0, 0, b"<x/>").unwrap());
            s.write_all(&frames).unwrap();
            let mut ack = [0u8; 10];
            s.read_exact(&mut ack).unwrap();
            assert_eq!(ack, codec::encode_ack(7, 200));
            drop(s);
            // Second connection: refuse with 403.
            let (mut s, _) = listener.accept().unwrap();
            s.read_exact(&mut req).unwrap();
            s.write_all(&codec::encode_connect_response(403, 1))
                .unwrap();
        });
        let mut config = SessionConfig::new("127.0.0.1", port, "user", "pass", 5);
        config.tls = false;
        config.backoff_initial = Duration::from_millis(10);
        let session = PushSession::start(config).unwrap();
        let mut frames = Vec::new();
        while frames.len() < 2 {
            for e in next_state(&session) {
                if let Event::Frame {
                    generation,
                    publish,
                } = e
                {
                    frames.push((generation, publish));
                }
            }
        }
        assert_eq!(frames[0].1.payload, b"{\"a\":1}");
        assert_eq!(frames[1].1.payload, b"<x/>");
        session.ack(frames[0].0, &[7], 200);
        let mut failed = false;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !failed && Instant::now() < deadline {
            for e in next_state(&session) {
                if let Event::State {
                    state: State::Failed,
                    ..
                } = e
                {
                    failed = true;
                }
            }
        }
        assert!(failed);
        server.join().unwrap();
        assert!(session.stop(Duration::from_secs(2)));
    }
}
