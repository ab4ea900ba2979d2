//! The async HTTPS/1.1 transport: hyper's HTTP/1.1 connection state machine on tokio, over
//! rustls, with its own keep-alive pool.
//!
//! Same options, trust store, proxy rules and error kinds/messages as [`crate::transport`].
//! A connection goes back to the pool only after its response body was read to the end; a
//! request that is dropped half-way (cancelled, timed out) drops its connection with it, so a
//! half-used connection is never reused. A request that meets a close racing it on a reused
//! connection is sent once more on a fresh one by the sync transport's rule
//! (`reuse::Wire::may_resend`): no response byte arrived, and it was never written or its method
//! is idempotent.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, ACCEPT, HOST, USER_AGENT};
use hyper::http::uri::{Authority, PathAndQuery, Scheme};
use hyper::{Method, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio_rustls::TlsConnector;

use crate::error::{Error, ErrorKind};
use crate::reuse::{idempotent, Wire};
use crate::tls::load_roots;
use crate::transport::{
    body_too_large, host_free, host_of, invalid_request, latin1, map_io, method_carries_body,
    ClientOptions, ProxySetting, Response,
};

/// One request, owned: it moves onto the runtime.
#[derive(Debug, Clone)]
pub struct OwnedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
    /// Overrides the client's total timeout for this request.
    pub timeout: Option<Duration>,
}

/// The runtime every async request runs on: one I/O worker, so the other core stays free for
/// the Python event loop that consumes the responses (two workers measured slower: a
/// connection's task and its request's task then wake each other across threads).
pub fn runtime() -> Result<&'static Runtime, Error> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("ferrolink-aio")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the async runtime: {e}"))
        })
        .as_ref()
        .map_err(|m| failure(ErrorKind::Connect, "", m.clone()))
}

type Sender = SendRequest<Full<Bytes>>;

/// A pooled connection: hyper's handle, and whether response bytes arrived since the flag was
/// last cleared (set by its stream, [`Noted`]).
struct Conn {
    sender: Sender,
    received: Arc<AtomicBool>,
}

/// A connection idle this long may have been closed by the server unseen (see `checkout`);
/// one back in the pool for less is reused at once.
const SETTLED: Duration = Duration::from_millis(2);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    https: bool,
    host: String,
    port: u16,
}

struct Inner {
    /// One permit per request in flight: bounds the connections open at once.
    in_flight: Arc<Semaphore>,
    tls: TlsConnector,
    proxy: Option<ureq::Proxy>,
    options: ClientOptions,
    user_agent: HeaderValue,
    idle: Mutex<HashMap<PoolKey, Vec<(Conn, Instant)>>>,
}

/// A pooled async HTTP/1.1 client. Cloning shares the pool.
#[derive(Clone)]
pub struct AsyncHttpClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AsyncHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncHttpClient").finish_non_exhaustive()
    }
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A connection's plaintext stream, noting when bytes arrive from the server.
struct Noted {
    io: Box<dyn Io>,
    received: Arc<AtomicBool>,
}

impl AsyncRead for Noted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.received.store(true, Ordering::Relaxed);
        }
        poll
    }
}

impl AsyncWrite for Noted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl AsyncHttpClient {
    /// `max_connections` bounds the requests in flight, hence the connections open at once;
    /// further requests wait for one to finish.
    pub fn new(options: &ClientOptions, max_connections: usize) -> Result<Self, Error> {
        let proxy = match &options.proxy {
            ProxySetting::None => None,
            ProxySetting::FromEnv => ureq::Proxy::try_from_env(),
            ProxySetting::Url(url) => Some(
                ureq::Proxy::new(url)
                    .map_err(|_| Error::invalid("invalid proxy URL: not a valid proxy URL"))?,
            ),
        };
        let user_agent = HeaderValue::from_str(&options.user_agent)
            .map_err(|_| Error::invalid("invalid user agent"))?;
        Ok(AsyncHttpClient {
            inner: Arc::new(Inner {
                in_flight: Arc::new(Semaphore::new(
                    max_connections.clamp(1, Semaphore::MAX_PERMITS),
                )),
                tls: TlsConnector::from(Arc::new(tls_config(options)?)),
                proxy,
                options: options.clone(),
                user_agent,
                idle: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Send one request and read the whole response body.
    pub async fn send(&self, request: OwnedRequest) -> Result<Response, Error> {
        let host = host_of(&request.url);
        let total = request.timeout.or(self.inner.options.total_timeout);
        let exchange = async {
            // Held until the response is read (or the request dropped): its connection is busy.
            let _permit = Arc::clone(&self.inner.in_flight)
                .acquire_owned()
                .await
                .map_err(|_| Error::invalid("the client is closed"))?;
            self.exchange(request, &host).await
        };
        within(total, "global", &host, exchange).await
    }

    async fn exchange(&self, req: OwnedRequest, host: &str) -> Result<Response, Error> {
        let method = Method::from_bytes(req.method.as_bytes())
            .map_err(|_| Error::invalid(format!("invalid HTTP method {:?}", req.method)))?;
        let body = match (req.body, method_carries_body(&req.method)) {
            (Some(body), _) => Some(body),
            (None, true) => Some(Bytes::new()),
            (None, false) => None,
        };
        let mut builder = hyper::Request::builder().method(method).uri(&req.url);
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| invalid_request(&e, &req.url))?;
        let (mut parts, body) = request.into_parts();
        let key = pool_key(&parts.uri, host)?;
        let authority = parts
            .uri
            .authority()
            .map(Authority::as_str)
            .unwrap_or_default();
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if !parts.headers.contains_key(HOST) {
            let value = HeaderValue::from_str(authority)
                .map_err(|_| Error::invalid(format!("invalid URL host {host:?}")))?;
            parts.headers.insert(HOST, value);
        }
        if !parts.headers.contains_key(USER_AGENT) {
            parts
                .headers
                .insert(USER_AGENT, self.inner.user_agent.clone());
        }
        if !parts.headers.contains_key(ACCEPT) {
            parts
                .headers
                .insert(ACCEPT, HeaderValue::from_static("*/*"));
        }
        parts.uri = Uri::from(
            parts
                .uri
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/")),
        );
        let mut request = hyper::Request::from_parts(parts, body);
        let read_timeout = self.inner.options.read_timeout;
        let idempotent = idempotent(request.method().as_str());
        let mut fresh = false;
        loop {
            let (conn, reused) = self.checkout(&key, host, fresh).await?;
            let Conn {
                mut sender,
                received,
            } = conn;
            received.store(false, Ordering::Relaxed);
            // hyper consumes a request it writes: a copy while it may have to go out again.
            let resend = (reused && idempotent).then(|| copy_of(&request));
            let sent = within(read_timeout, "per read", host, async {
                Ok(sender.try_send_request(request).await)
            })
            .await?;
            let response = match sent {
                Ok(response) => response,
                Err(mut e) => {
                    // hyper hands back a request it never wrote.
                    let unsent = e.take_message();
                    let wire = Wire {
                        connected: !reused,
                        sent: unsent.is_none(),
                        received: received.load(Ordering::Relaxed),
                    };
                    let error = hyper_error(&e.into_error(), host);
                    // The sync transport's rule: once more, on a new connection, when safe.
                    let safe = matches!(error.kind, ErrorKind::Connect | ErrorKind::Protocol)
                        && wire.may_resend(idempotent);
                    match unsent.or(resend).filter(|_| safe) {
                        Some(again) => {
                            request = again;
                            fresh = true;
                            continue;
                        }
                        None => return Err(error),
                    }
                }
            };
            let (head, mut incoming) = response.into_parts();
            let mut data = Vec::new();
            while let Some(frame) = within(read_timeout, "per read", host, async {
                Ok(incoming.frame().await)
            })
            .await?
            {
                let frame = frame.map_err(|e| hyper_error(&e, host))?;
                if let Ok(chunk) = frame.into_data() {
                    let limit = self.inner.options.max_response_body;
                    if (data.len() + chunk.len()) as u64 > limit {
                        let (kind, message) = body_too_large(limit);
                        return Err(Error::new(kind, message).with_host(host));
                    }
                    data.extend_from_slice(&chunk);
                }
            }
            self.checkin(key, Conn { sender, received });
            let headers = head
                .headers
                .iter()
                .map(|(name, value)| (name.as_str().to_string(), latin1(value.as_bytes())))
                .collect();
            return Ok(Response {
                status: head.status.as_u16(),
                reason: head.status.canonical_reason().unwrap_or("").to_string(),
                headers,
                body: data,
            });
        }
    }

    /// An idle pooled connection that is still usable, or a new one (always, when `fresh`);
    /// and whether it was pooled.
    async fn checkout(
        &self,
        key: &PoolKey,
        host: &str,
        fresh: bool,
    ) -> Result<(Conn, bool), Error> {
        while let Some((mut conn, since)) = self.pop_idle(key).filter(|_| !fresh) {
            if since.elapsed() >= SETTLED {
                // Let the runtime poll its I/O driver first: a close the server sent while
                // the connection sat idle is then seen by its connection task, and the
                // connection is skipped instead of failing this request after it was written.
                tokio::task::yield_now().await;
            }
            let sender = &mut conn.sender;
            if sender.is_ready() || (!sender.is_closed() && sender.ready().await.is_ok()) {
                return Ok((conn, true));
            }
        }
        let connect_timeout = self.inner.options.connect_timeout;
        let conn = within(connect_timeout, "connect", host, self.connect(key, host)).await?;
        Ok((conn, false))
    }

    fn pop_idle(&self, key: &PoolKey) -> Option<(Conn, Instant)> {
        let mut idle = self.inner.idle.lock().ok()?;
        idle.get_mut(key).and_then(Vec::pop)
    }

    fn checkin(&self, key: PoolKey, conn: Conn) {
        if conn.sender.is_closed() {
            return;
        }
        let max = self.inner.options.max_idle_per_host;
        if let Ok(mut idle) = self.inner.idle.lock() {
            let conns = idle.entry(key).or_default();
            if conns.len() < max {
                conns.push((conn, Instant::now()));
            }
        }
    }

    async fn connect(&self, key: &PoolKey, host: &str) -> Result<Conn, Error> {
        let proxy = self.inner.proxy.as_ref().filter(|p| !proxy_skips(p, key));
        let tcp = match proxy {
            Some(proxy) => tunnel(proxy, key, host).await?,
            None => tcp_connect(&key.host, key.port, host).await?,
        };
        let io: Box<dyn Io> = if key.https {
            let name = ServerName::try_from(key.host.clone())
                .map_err(|_| Error::invalid(format!("invalid URL host {:?}", key.host)))?;
            let tls = self
                .inner
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| io_error(&e, host))?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let received = Arc::new(AtomicBool::new(false));
        let noted = Noted {
            io,
            received: Arc::clone(&received),
        };
        let (sender, connection) = http1::handshake(TokioIo::new(noted))
            .await
            .map_err(|e| hyper_error(&e, host))?;
        tokio::spawn(connection);
        Ok(Conn { sender, received })
    }
}

/// A copy of `request` (its body is shared, not copied).
fn copy_of(request: &hyper::Request<Full<Bytes>>) -> hyper::Request<Full<Bytes>> {
    let mut copy = hyper::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}

fn pool_key(uri: &Uri, host: &str) -> Result<PoolKey, Error> {
    let https = match uri.scheme() {
        Some(s) if *s == Scheme::HTTPS => true,
        Some(s) if *s == Scheme::HTTP => false,
        Some(s) => {
            return Err(failure(
                ErrorKind::InvalidArgument,
                host,
                format!("invalid URL: unknown scheme: {}", s.as_str()),
            ))
        }
        None => {
            return Err(failure(
                ErrorKind::InvalidArgument,
                host,
                "invalid URL: no scheme",
            ))
        }
    };
    let name = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| failure(ErrorKind::InvalidArgument, host, "invalid URL: no host"))?;
    Ok(PoolKey {
        https,
        host: name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
    })
}

fn proxy_skips(proxy: &ureq::Proxy, key: &PoolKey) -> bool {
    let target = format!("http://{}/", key.host);
    target
        .parse::<ureq::http::Uri>()
        .is_ok_and(|uri| proxy.is_no_proxy(&uri))
}

async fn tcp_connect(name: &str, port: u16, host: &str) -> Result<TcpStream, Error> {
    let stream = TcpStream::connect((name, port))
        .await
        .map_err(|e| io_error(&e, host))?;
    // Requests are written in one go; Nagle would only delay them.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// An HTTP proxy tunnel (CONNECT) to `key`, for http and https targets alike.
async fn tunnel(proxy: &ureq::Proxy, key: &PoolKey, host: &str) -> Result<TcpStream, Error> {
    let mut stream = tcp_connect(proxy.host(), proxy.port(), host).await?;
    let target = if key.host.contains(':') {
        format!("[{}]:{}", key.host, key.port)
    } else {
        format!("{}:{}", key.host, key.port)
    };
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let (Some(user), Some(password)) = (proxy.username(), proxy.password()) {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        head.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| io_error(&e, host))?;
    // Read the proxy's reply head byte by byte: nothing past it may be consumed.
    let mut reply = Vec::with_capacity(128);
    while !reply.ends_with(b"\r\n\r\n") {
        if reply.len() > 8192 {
            return Err(proxy_failed(host, "reply head too large"));
        }
        let byte = stream.read_u8().await.map_err(|e| io_error(&e, host))?;
        reply.push(byte);
    }
    let status_line =
        String::from_utf8_lossy(reply.split(|&b| b == b'\r').next().unwrap_or(&[])).into_owned();
    match status_line.split_whitespace().nth(1) {
        Some(code) if code.starts_with('2') => Ok(stream),
        _ => Err(proxy_failed(host, &status_line)),
    }
}

fn proxy_failed(host: &str, detail: &str) -> Error {
    failure(
        ErrorKind::Connect,
        host,
        format!("proxy CONNECT failed: {}", host_free(detail)),
    )
}

/// Run `work` within `limit`; on expiry the work is dropped and a timeout error names `which`.
async fn within<T>(
    limit: Option<Duration>,
    which: &str,
    host: &str,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match limit {
        None => work.await,
        Some(limit) => match tokio::time::timeout(limit, work).await {
            Ok(outcome) => outcome,
            Err(_) => Err(failure(
                ErrorKind::Timeout,
                host,
                format!("timed out ({which})"),
            )),
        },
    }
}

fn failure(kind: ErrorKind, host: &str, message: impl Into<String>) -> Error {
    Error::new(kind, message).with_host(host)
}

fn io_error(e: &io::Error, host: &str) -> Error {
    let (kind, message) = map_io(e);
    failure(kind, host, message)
}

fn hyper_error(e: &hyper::Error, host: &str) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return io_error(io, host);
        }
        source = cause.source();
    }
    let (kind, message) = if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        (
            ErrorKind::Protocol,
            "connection closed before the response was complete".to_string(),
        )
    } else if e.is_parse() || e.is_parse_status() {
        (ErrorKind::Protocol, format!("invalid HTTP response: {e}"))
    } else {
        (ErrorKind::Protocol, e.to_string())
    };
    failure(kind, host, message)
}

fn tls_config(options: &ClientOptions) -> Result<ClientConfig, Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(load_roots(options.ca_file.as_deref())?);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| failure(ErrorKind::Tls, "", format!("TLS error: {e}")))?;
    let mut config = if options.verify {
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `verify=False`: the caller explicitly chose to accept any certificate.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn client() -> AsyncHttpClient {
        let options = ClientOptions {
            proxy: ProxySetting::None,
            ..Default::default()
        };
        AsyncHttpClient::new(&options, 4).unwrap()
    }

    fn request(url: &str) -> OwnedRequest {
        OwnedRequest {
            method: "POST".into(),
            url: url.into(),
            headers: vec![("x-id".into(), "1".into())],
            body: Some(Bytes::from_static(b"abc")),
            timeout: None,
        }
    }

    #[test]
    fn keep_alive_reuse_then_a_cut_body_is_a_protocol_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            for reply in [
                &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhi"[..],
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            ] {
                let _ = s.read(&mut buf);
                s.write_all(reply).unwrap();
            }
            // One connection served both requests: the first went back to the pool.
        });
        let client = client();
        let url = format!("http://{addr}/x");
        let rt = runtime().unwrap();
        let first = rt.block_on(client.send(request(&url))).unwrap();
        assert_eq!((first.status, first.body.as_slice()), (200, &b"hi"[..]));
        assert!(first.headers.iter().any(|(k, v)| k == "x-a" && v == "b"));
        let err = rt.block_on(client.send(request(&url))).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Protocol, "{err}");
        server.join().unwrap();
    }

    /// Two requests by `method` to a server whose first connection hangs up on the second
    /// request after sending `partial`: the second outcome and the requests the server read.
    fn cut_second_request(
        method: &str,
        partial: &'static [u8],
    ) -> (Result<Response, Error>, usize) {
        let (addr, seen) = crate::reuse::racing_server(partial);
        let client = client();
        let rt = runtime().unwrap();
        let mut req = request(&format!("http://{addr}/"));
        req.method = method.into();
        assert_eq!(rt.block_on(client.send(req.clone())).unwrap().status, 200);
        let second = rt.block_on(client.send(req));
        std::thread::sleep(Duration::from_millis(50));
        (second, seen.load(std::sync::atomic::Ordering::SeqCst))
    }

    #[test]
    fn idempotent_request_cut_on_a_reused_connection_is_resent_once() {
        let (second, seen) = cut_second_request("PUT", b"");
        assert_eq!(second.unwrap().body, b"ok");
        assert_eq!(seen, 3);
    }

    #[test]
    fn post_cut_on_a_reused_connection_is_never_resent() {
        let (second, seen) = cut_second_request("POST", b"");
        let err = second.unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::Protocol | ErrorKind::Connect),
            "{err}"
        );
        assert_eq!(seen, 2);
    }

    #[test]
    fn request_cut_after_response_bytes_is_not_resent() {
        let (second, seen) = cut_second_request("GET", b"HTTP/1.1 200");
        assert_eq!(second.unwrap_err().kind, ErrorKind::Protocol);
        assert_eq!(seen, 2);
    }

    #[test]
    fn refused_bad_scheme_and_bad_method_are_typed() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = client();
        let rt = runtime().unwrap();
        let refused = rt
            .block_on(client.send(request(&format!("http://127.0.0.1:{port}/"))))
            .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Connect, "{refused}");
        assert_eq!(refused.host, format!("127.0.0.1:{port}"));
        let scheme = rt
            .block_on(client.send(request("ftp://127.0.0.1/")))
            .unwrap_err();
        assert_eq!(scheme.kind, ErrorKind::InvalidArgument, "{scheme}");
        let mut bad = request("http://127.0.0.1:9/");
        bad.method = "BAD METHOD".into();
        let method = rt.block_on(client.send(bad)).unwrap_err();
        assert_eq!(method.kind, ErrorKind::InvalidArgument, "{method}");
    }
}
