//! iDigi / Device Cloud push monitoring: the binary TCP push protocol.
//!
//! - [`codec`]: the four message types, encoders and the incremental [`codec::FrameDecoder`].
//! - [`inflate`]: payload decompression (zlib, sniffed raw deflate and gzip) with a size cap.
//! - [`session`]: one push connection run off the caller's thread, over plain TCP or rustls,
//!   with reconnection, keepalive and a bounded event queue.

pub mod codec;
pub mod inflate;
pub mod session;
