//! The HTTPS/1.1 transport every REST-speaking service goes through.
//!
//! One [`HttpClient`] owns one `ureq` agent: a thread-safe keep-alive pool over rustls with one
//! TLS configuration (trust store loaded once, never per request). Pooled connections are probed
//! before reuse, so a connection the server closed while idle is dropped silently and a fresh
//! one is opened. A request that meets a close racing it on a reused connection is re-sent
//! once on a fresh one only when that is safe; a POST that may have reached the server never is.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::{Agent, Proxy};

use crate::error::{Error, ErrorKind};
use crate::resolver::CachingResolver;
use crate::reuse::{self, Tap, Wire};
use crate::tls::load_roots;

/// The largest response body a client reads by default (256 MiB; `max_response_body` sets
/// another): a server sending more, or sending without end, gets a protocol error instead of
/// the process's memory. The largest replies of the services (HEXONET list pages, MyQttHub
/// pulls) are tens of MB.
pub const MAX_RESPONSE_BODY: u64 = 256 << 20;

/// The error for a response body past `limit` bytes.
pub(crate) fn body_too_large(limit: u64) -> (ErrorKind, String) {
    (
        ErrorKind::Protocol,
        format!("response body larger than {limit} bytes"),
    )
}

/// Where proxy settings come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// Never use a proxy.
    None,
    /// `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` (and `NO_PROXY`) from the environment.
    #[default]
    FromEnv,
    /// This proxy URL, e.g. `http://127.0.0.1:8888`; https targets are tunnelled with CONNECT.
    Url(String),
}

/// Settings fixed for the life of a client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub connect_timeout: Option<Duration>,
    /// Longest wait for any single read from the server.
    pub read_timeout: Option<Duration>,
    /// Longest a whole request may take, from connect to the last body byte.
    pub total_timeout: Option<Duration>,
    /// Extra PEM CA bundle trusted on top of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Certificate and host-name verification; only an explicit caller choice turns it off.
    pub verify: bool,
    pub proxy: ProxySetting,
    pub user_agent: String,
    pub max_idle_per_host: usize,
    /// The largest response body read; a longer one is a protocol error.
    pub max_response_body: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            total_timeout: Some(Duration::from_secs(300)),
            ca_file: None,
            verify: true,
            proxy: ProxySetting::FromEnv,
            user_agent: concat!("ferrolink/", env!("CARGO_PKG_VERSION")).to_string(),
            max_idle_per_host: 32,
            max_response_body: MAX_RESPONSE_BODY,
        }
    }
}

/// One HTTP request; borrowed so the binding can hand over Python-owned data without copies.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: Option<&'a [u8]>,
    /// Overrides the client's total timeout for this request.
    pub timeout: Option<Duration>,
}

/// A complete response: the body has been read to the end.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// In arrival order; names lower-case. Non-UTF-8 values are decoded as latin-1.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A pooled, thread-safe HTTP/1.1 client. Cloning shares the pool.
#[derive(Clone)]
pub struct HttpClient {
    agent: Agent,
    max_response_body: u64,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    pub fn new(options: &ClientOptions) -> Result<Self, Error> {
        let tls = TlsConfig::builder()
            .root_certs(RootCerts::Specific(Arc::new(
                load_roots(options.ca_file.as_deref())?
                    .iter()
                    .map(|der| Certificate::from_der(der.as_ref()).to_owned())
                    .collect(),
            )))
            .disable_verification(!options.verify)
            .build();
        let proxy = match &options.proxy {
            ProxySetting::None => None,
            ProxySetting::FromEnv => Proxy::try_from_env(),
            ProxySetting::Url(url) => Some(Proxy::new(url).map_err(|e| {
                Error::invalid(format!("invalid proxy URL: {}", redact_url_error(&e)))
            })?),
        };
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(options.user_agent.as_str())
            .tls_config(tls)
            .proxy(proxy)
            .timeout_connect(options.connect_timeout)
            .timeout_per_read(options.read_timeout)
            .timeout_global(options.total_timeout)
            .max_idle_connections_per_host(options.max_idle_per_host)
            .max_idle_connections(options.max_idle_per_host.saturating_mul(8))
            .build();
        let agent = Agent::with_parts(config, Tap::default(), CachingResolver::default());
        Ok(HttpClient {
            agent,
            max_response_body: options.max_response_body,
        })
    }

    /// Send one request and read the whole response body.
    ///
    /// A request that failed on a reused pooled connection before any response byte arrived
    /// is sent once more on a fresh connection, when that is safe (see [`reuse`]).
    pub fn send(&self, req: &Request<'_>) -> Result<Response, Error> {
        let method = ureq::http::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| Error::invalid(format!("invalid HTTP method {:?}", req.method)))?;
        Wire::reset();
        match self.attempt(&method, req, false) {
            Err(e)
                if matches!(e.kind, ErrorKind::Connect | ErrorKind::Protocol)
                    && Wire::current().may_resend(reuse::idempotent(req.method)) =>
            {
                Wire::reset();
                self.attempt(&method, req, true)
            }
            outcome => outcome,
        }
    }

    /// One try; `fresh` insists on a new connection rather than a pooled one.
    fn attempt(
        &self,
        method: &ureq::http::Method,
        req: &Request<'_>,
        fresh: bool,
    ) -> Result<Response, Error> {
        let mut builder = ureq::http::Request::builder()
            .method(method.clone())
            .uri(req.url);
        for (name, value) in req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        // ureq sends `Transfer-Encoding: chunked` for a body-carrying method without a body;
        // many servers mishandle that, so an absent body there is sent as Content-Length: 0.
        let body = match (req.body, method_carries_body(req.method)) {
            (None, true) => Some(&b""[..]),
            (body, _) => body,
        };
        let result = match body {
            Some(body) => {
                let request = builder.body(body).map_err(|e| build_error(&e, req))?;
                self.run(request, req.timeout, fresh)
            }
            None => {
                let request = builder.body(()).map_err(|e| build_error(&e, req))?;
                self.run(request, req.timeout, fresh)
            }
        };
        result.map_err(|e| map_error(e, &host_of(req.url)))
    }

    fn run<B: ureq::AsSendBody>(
        &self,
        request: ureq::http::Request<B>,
        timeout: Option<Duration>,
        fresh: bool,
    ) -> Result<Response, ureq::Error> {
        let request = match (timeout, fresh) {
            (None, false) => request,
            _ => {
                let mut config = self.agent.configure_request(request);
                if timeout.is_some() {
                    config = config.timeout_global(timeout);
                }
                if fresh {
                    // No idle connection is young enough: the pool opens a new one.
                    config = config.max_idle_age(Duration::ZERO);
                }
                config.build()
            }
        };
        let mut response = self.agent.run(request)?;
        let status = response.status();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_string(), latin1(value.as_bytes())))
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(self.max_response_body)
            .read_to_vec()?;
        Ok(Response {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            headers,
            body,
        })
    }
}

pub(crate) fn method_carries_body(method: &str) -> bool {
    !matches!(
        method.to_ascii_uppercase().as_str(),
        "GET" | "HEAD" | "DELETE" | "OPTIONS" | "TRACE" | "CONNECT"
    )
}

fn build_error(e: &ureq::http::Error, req: &Request<'_>) -> Error {
    invalid_request(e, req.url)
}

/// The error for a request the `http` crate refuses to build (bad URL, header...).
pub(crate) fn invalid_request(e: &ureq::http::Error, url: &str) -> Error {
    Error::invalid(format!(
        "invalid request to {}: {e}",
        host_of(url).if_empty("<no host>")
    ))
}

trait IfEmpty {
    fn if_empty(self, other: &str) -> String;
}

impl IfEmpty for String {
    fn if_empty(self, other: &str) -> String {
        if self.is_empty() {
            other.to_string()
        } else {
            self
        }
    }
}

/// `host[:port]` of a URL, without any userinfo, for error messages.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, h)| h)
        .to_string()
}

fn redact_url_error(e: &ureq::Error) -> String {
    // ureq's proxy errors may echo the URL; userinfo must never reach a message.
    match e {
        ureq::Error::InvalidProxyUrl => "not a valid proxy URL".to_string(),
        other => host_free(&other.to_string()),
    }
}

pub(crate) fn host_free(s: &str) -> String {
    s.split_whitespace()
        .map(|w| {
            if w.contains('@') && w.contains("://") {
                "<redacted-url>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn latin1(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

fn map_error(e: ureq::Error, host: &str) -> Error {
    use ErrorKind::*;
    let (kind, message) = match e {
        ureq::Error::Timeout(t) => (Timeout, format!("timed out ({t})")),
        ureq::Error::HostNotFound => (Connect, "host not found".to_string()),
        ureq::Error::ConnectionFailed => (Connect, "connection failed".to_string()),
        ureq::Error::ConnectProxyFailed(m) => {
            (Connect, format!("proxy CONNECT failed: {}", host_free(&m)))
        }
        ureq::Error::Io(io) => map_io(&io),
        ureq::Error::Rustls(t) => (Tls, format!("TLS error: {t}")),
        ureq::Error::Tls(t) => (Tls, format!("TLS error: {t}")),
        ureq::Error::Pem(p) => (Tls, format!("TLS certificate error: {p}")),
        ureq::Error::TlsRequired => (Tls, "TLS required".to_string()),
        ureq::Error::Protocol(p) => (Protocol, format!("invalid HTTP response: {p}")),
        ureq::Error::LargeResponseHeader(n, max) => (
            Protocol,
            format!("response header too large ({n} bytes, limit {max})"),
        ),
        ureq::Error::BodyStalled => (Protocol, "response body stalled".to_string()),
        ureq::Error::BodyExceedsLimit(limit) => body_too_large(limit),
        ureq::Error::BadUri(u) => (InvalidArgument, format!("invalid URL: {}", host_free(&u))),
        ureq::Error::Http(h) => (InvalidArgument, format!("invalid request: {h}")),
        ureq::Error::InvalidProxyUrl => (InvalidArgument, "invalid proxy URL".to_string()),
        ureq::Error::RequireHttpsOnly(_) => (InvalidArgument, "https required".to_string()),
        other => (Protocol, host_free(&other.to_string())),
    };
    Error::new(kind, message).with_host(host)
}

pub(crate) fn map_io(io: &io::Error) -> (ErrorKind, String) {
    use io::ErrorKind as K;
    if let Some(inner) = io.get_ref() {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return (ErrorKind::Tls, format!("TLS error: {tls}"));
        }
    }
    match io.kind() {
        K::TimedOut | K::WouldBlock => (ErrorKind::Timeout, format!("timed out ({io})")),
        K::UnexpectedEof => (
            ErrorKind::Protocol,
            "connection closed before the response was complete".to_string(),
        ),
        K::InvalidData => (ErrorKind::Protocol, format!("invalid data: {io}")),
        _ => (ErrorKind::Connect, format!("connection error: {io}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reuse::racing_server;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    #[test]
    fn host_of_strips_userinfo_and_path() {
        assert_eq!(
            host_of("https://u:p@example.com:8443/x?y"),
            "example.com:8443"
        );
        assert_eq!(host_of("http://h/"), "h");
        assert_eq!(host_of("garbage"), "garbage");
    }

    #[test]
    fn refused_is_connect_error() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = HttpClient::new(&ClientOptions {
            proxy: ProxySetting::None,
            ..Default::default()
        })
        .unwrap();
        let url = format!("http://127.0.0.1:{port}/");
        let err = client
            .send(&Request {
                method: "GET",
                url: &url,
                headers: &[],
                body: None,
                timeout: None,
            })
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Connect, "{err}");
        assert!(err.to_string().contains("127.0.0.1"));
    }

    #[test]
    fn plain_http_round_trip_and_garbage() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().enumerate().take(2) {
                let mut s = stream.unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                if i == 0 {
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\nX-A: b\r\n\r\nhi");
                } else {
                    let _ = s.write_all(b"NOT HTTP AT ALL\r\n\r\n");
                }
            }
        });
        let client = HttpClient::new(&ClientOptions {
            proxy: ProxySetting::None,
            ..Default::default()
        })
        .unwrap();
        let url = format!("http://{addr}/x");
        let req = Request {
            method: "POST",
            url: &url,
            headers: &[("x-id".into(), "1".into())],
            body: Some(b"abc"),
            timeout: None,
        };
        let resp = client.send(&req).unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, b"hi");
        assert!(resp.headers.iter().any(|(k, v)| k == "x-a" && v == "b"));
        let err = client.send(&req).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Protocol, "{err}");
    }

    #[test]
    fn bad_method_and_ca_file_are_invalid_arguments() {
        let client = HttpClient::new(&ClientOptions::default()).unwrap();
        let err = client
            .send(&Request {
                method: "BAD METHOD",
                url: "http://127.0.0.1:1/",
                headers: &[],
                body: None,
                timeout: None,
            })
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        let err = HttpClient::new(&ClientOptions {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
    }

    fn send(client: &HttpClient, method: &str, url: &str) -> Result<Response, Error> {
        client.send(&Request {
            method,
            url,
            headers: &[],
            body: None,
            timeout: None,
        })
    }

    #[test]
    fn idempotent_request_cut_on_a_reused_connection_is_resent_once() {
        let (addr, seen) = racing_server(b"");
        let client = HttpClient::new(&ClientOptions {
            proxy: ProxySetting::None,
            ..Default::default()
        })
        .unwrap();
        let url = format!("http://{addr}/");
        assert_eq!(send(&client, "GET", &url).unwrap().status, 200);
        assert_eq!(send(&client, "GET", &url).unwrap().body, b"ok");
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[test]
    fn post_cut_on_a_reused_connection_is_never_resent() {
        let (addr, seen) = racing_server(b"");
        let client = HttpClient::new(&ClientOptions {
            proxy: ProxySetting::None,
            ..Default::default()
        })
        .unwrap();
        let url = format!("http://{addr}/");
        assert_eq!(send(&client, "POST", &url).unwrap().status, 200);
        let err = send(&client, "POST", &url).unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::Protocol | ErrorKind::Connect),
            "{err}"
        );
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
