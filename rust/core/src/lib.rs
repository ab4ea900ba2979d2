//! ferrolink's pure-Rust core: everything hot lives here, nothing here knows about Python.
//!
//! - [`error`]: the one error type every module's failures convert into.
//! - [`transport`]: the pooled HTTPS/1.1 client every REST-speaking service uses.
//! - [`aio`]: the async (tokio) HTTPS/1.1 client behind `ferrolink.http.AsyncClient`.
//! - [`tls`]: the trusted CA roots, for the transport and the iDigi push session alike.
//! - [`hexonet`], [`idigi`], [`jwt`], [`myqtthub`]: the services' codecs.
//! - [`testca`]: the throwaway certificate authority the sandbox serves TLS with.

pub mod aio;
pub mod error;
pub mod hexonet;
pub mod idigi;
pub mod jwt;
pub mod myqtthub;
mod resolver;
mod reuse;
pub mod testca;
pub mod tls;
pub mod transport;
