//! `ferrolink._core`: the thin PyO3 binding over `ferrolink-core`.
//!
//! It converts types, releases the GIL around blocking work and raises core errors through the
//! one bridge in [`errors`]. No service logic lives here. Each binding file is named after the
//! core module it binds; this file only declares the module, listing every export once.

mod aio;
mod errors;
mod hexonet;
mod http;
mod idigi;
mod jwt;
mod myqtthub;
mod testca;

use pyo3::prelude::*;

#[pymodule]
mod _core {
    #[pymodule_export]
    #[allow(non_upper_case_globals)]
    const __version__: &str = env!("CARGO_PKG_VERSION");

    // Errors (test support for the bridge)
    #[pymodule_export]
    use crate::errors::{_error_kinds, _raise_kind};

    // Transport
    #[pymodule_export]
    use crate::http::{_bench_request_loop, HttpClient};
    #[pymodule_export]
    const HTTP_MAX_RESPONSE_BODY: u64 = ferrolink_core::transport::MAX_RESPONSE_BODY;

    // Async transport
    #[pymodule_export]
    use crate::aio::{AsyncCompletions, AsyncHttpClient, AsyncPending};

    // Sandbox TLS
    #[pymodule_export]
    use crate::testca::generate_test_ca;

    // HEXONET
    #[pymodule_export]
    use crate::hexonet::{
        hexonet_command, hexonet_parse, hexonet_parse_body, hexonet_parse_response,
        hexonet_post_body, hexonet_post_data, hexonet_quote, hexonet_records, hexonet_rows, Record,
    };

    // iDigi push
    #[pymodule_export]
    const IDIGI_DEFAULT_MAX_FRAME_SIZE: usize = ferrolink_core::idigi::codec::DEFAULT_MAX_FRAME;
    #[pymodule_export]
    const IDIGI_DEFAULT_MAX_PAYLOAD_SIZE: usize = ferrolink_core::idigi::codec::DEFAULT_MAX_PAYLOAD;
    #[pymodule_export]
    const IDIGI_DEFAULT_MAX_INFLATED_PER_FEED: usize =
        ferrolink_core::idigi::codec::DEFAULT_MAX_INFLATED_PER_FEED;
    #[pymodule_export]
    use crate::idigi::{
        idigi_encode_ack, idigi_encode_connect_response, idigi_encode_connection_request,
        idigi_encode_publish, IdigiFrameDecoder, IdigiPublishMessage, IdigiPushSession,
    };

    // EXP login tokens
    #[pymodule_export]
    use crate::jwt::{jwt_decode_hs256, jwt_encode_hs256};

    // MyQttHub
    #[pymodule_export]
    const MYQTTHUB_MAX_TOPIC_BYTES: usize = ferrolink_core::myqtthub::MAX_TOPIC_BYTES;
    #[pymodule_export]
    use crate::myqtthub::{myqtthub_decode_pull, myqtthub_publish_bodies, myqtthub_publish_body};
}
