//! Name resolution for the transport, answered before the pool is consulted.
//!
//! ureq resolves the host on every request, even when a pooled connection will be reused, and
//! with a timeout set it spawns a thread per lookup. That costs more than the request itself
//! on loopback. This resolver answers IP literals directly and caches names briefly.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long a successful name lookup is reused; short, so DNS changes are seen quickly.
const NAME_TTL: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct CachingResolver {
    inner: DefaultResolver,
    names: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(host), Some(port)) = (uri.host(), port_of(uri)) else {
            return self.inner.resolve(uri, config, timeout);
        };
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        let key = format!("{host}:{port}");
        let now = Instant::now();
        if let Ok(names) = self.names.lock() {
            if let Some((at, addrs)) = names.get(&key) {
                if now.duration_since(*at) < NAME_TTL {
                    return Ok(addrs.clone());
                }
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        if let Ok(mut names) = self.names.lock() {
            names.retain(|_, (at, _)| now.duration_since(*at) < NAME_TTL);
            names.insert(key, (now, addrs.clone()));
        }
        Ok(addrs)
    }
}

fn port_of(uri: &Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    })
}
