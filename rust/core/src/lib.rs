//! ferrolink's pure-Rust core: everything hot lives here, nothing here knows about Python.
//!
//! - [`transport`]: the pooled HTTPS/1.1 client every REST-speaking service uses.
//! - [`aio`]: the async (tokio) HTTPS/1.1 client behind `ferrolink.http.AsyncClient`.
//! - [`testca`]: the throwaway certificate authority the sandbox serves TLS with.

pub mod aio;
pub mod hexonet;
pub mod idigi;
pub mod jwt;
pub mod mqtt;
mod resolver;
pub mod testca;
pub mod transport;
