"""Typed stubs for the native module ``ferrolink._core`` (Rust, PyO3)."""

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Final, Optional, Union, final

__version__: Final[str]

# Errors: test support for the one Rust -> Python error bridge (rust/py/src/errors.rs)
def _error_kinds() -> list[str]: ...
def _raise_kind(kind: str, message: str, host: str = "") -> None: ...

# Transport (rust/core/src/transport.rs)
@final
class HttpClient:
    def __new__(
        cls,
        *,
        connect_timeout: Optional[float] = None,
        read_timeout: Optional[float] = None,
        total_timeout: Optional[float] = None,
        ca_file: Optional[str] = None,
        verify: bool = True,
        proxy: Optional[str] = None,
        trust_env: bool = True,
        user_agent: Optional[str] = None,
        max_idle_per_host: int = 32,
        max_response_body: int = ...,
    ) -> HttpClient: ...
    def request(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: Optional[bytes] = None,
        timeout: Optional[float] = None,
    ) -> tuple[int, str, list[tuple[str, str]], bytes]: ...

# Async transport (rust/core/src/aio.rs, rust/py/src/aio.rs)
@final
class AsyncCompletions:
    """One event loop's queue of finished async requests; calling it settles their futures."""

    def __new__(
        cls, schedule: Optional[Callable[[AsyncCompletions], object]] = None
    ) -> AsyncCompletions: ...
    def fileno(self) -> Optional[int]: ...
    def __call__(self, *args: Any, **kwargs: Any) -> None: ...

@final
class AsyncPending:
    def abort(self) -> None: ...

@final
class AsyncHttpClient:
    def __new__(
        cls,
        *,
        connect_timeout: Optional[float] = None,
        read_timeout: Optional[float] = None,
        total_timeout: Optional[float] = None,
        ca_file: Optional[str] = None,
        verify: bool = True,
        proxy: Optional[str] = None,
        trust_env: bool = True,
        user_agent: Optional[str] = None,
        max_idle_per_host: int = 32,
        max_response_body: int = ...,
        max_connections: int = 100,
    ) -> AsyncHttpClient: ...
    def request(
        self,
        completions: AsyncCompletions,
        future: asyncio.Future[tuple[int, str, list[tuple[str, str]], bytes]],
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: Optional[bytes] = None,
        timeout: Optional[float] = None,
    ) -> AsyncPending: ...

def _bench_request_loop(
    client: HttpClient,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: Optional[bytes],
    n: int,
) -> float: ...
def generate_test_ca(hosts: list[str]) -> tuple[str, str, str]: ...

# HEXONET codec (rust/core/src/hexonet.rs)
def hexonet_parse(text: str) -> dict[str, Any]: ...
def hexonet_parse_body(
    body: bytes,
) -> Optional[tuple[dict[str, Any], Optional[dict[str, str]]]]: ...
def hexonet_parse_response(
    body: bytes,
) -> Optional[tuple[dict[str, Any], Optional[dict[str, str]]]]: ...
def hexonet_rows(properties: dict[str, list[str]]) -> list[dict[str, str]]: ...
def hexonet_records(rows: list[dict[str, str]]) -> list[Record]: ...

@final
class Record:
    def __new__(cls, data: dict[str, str]) -> Record: ...
    def getData(self) -> dict[str, str]: ...
    def get_data(self) -> dict[str, str]: ...
    def getDataByKey(self, key: str) -> Optional[str]: ...
    def get_data_by_key(self, key: str) -> Optional[str]: ...

def hexonet_post_data(
    connection: tuple[Optional[str], ...],
    command: Union[str, list[tuple[str, str]]],
    secured: bool = False,
) -> str: ...
def hexonet_post_body(fields: str, command: Union[str, list[tuple[str, str]]]) -> bytes: ...
def hexonet_command(
    fields: str, command: Mapping[Any, Any]
) -> tuple[dict[str, str], bytes, list[str]]: ...
def hexonet_quote(text: str) -> str: ...

# MyQttHub codec (rust/core/src/myqtthub.rs)
MYQTTHUB_MAX_TOPIC_BYTES: Final[int]

def myqtthub_publish_body(
    token: str, topic: str, payload: bytes, qos: int = 0, retain: bool = False, dup: bool = False
) -> bytes: ...
def myqtthub_publish_bodies(
    token: str, messages: list[tuple[str, bytes, int, bool, bool]]
) -> list[bytes]: ...
def myqtthub_decode_pull(body: bytes) -> list[dict[str, Any]]: ...

# iDigi push codec and session (rust/core/src/idigi/)
HTTP_MAX_RESPONSE_BODY: Final[int]
IDIGI_DEFAULT_MAX_FRAME_SIZE: Final[int]
IDIGI_DEFAULT_MAX_PAYLOAD_SIZE: Final[int]
IDIGI_DEFAULT_MAX_INFLATED_PER_FEED: Final[int]

def idigi_encode_connection_request(username: str, password: str, monitor_id: int) -> bytes: ...
def idigi_encode_connect_response(status: int, version: int = 1) -> bytes: ...
def idigi_encode_ack(block_id: int, status: int = 200) -> bytes: ...
def idigi_encode_publish(
    block_id: int, count: int, compression: int, format: int, payload: bytes, raw: bool = False
) -> bytes: ...

@final
class IdigiPublishMessage:
    def __new__(
        cls,
        block_id: int,
        count: int,
        compression: int,
        format: int,
        payload: bytes,
        type: int = ...,
    ) -> IdigiPublishMessage: ...
    @property
    def block_id(self) -> int: ...
    @property
    def count(self) -> int: ...
    @property
    def compression(self) -> int: ...
    @property
    def format(self) -> int: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def type(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def is_json(self) -> bool: ...
    def __hash__(self) -> int: ...

@final
class IdigiFrameDecoder:
    def __new__(
        cls,
        message_types: tuple[Any, Any, Any, Any],
        max_frame_size: int = ...,
        max_payload_size: int = ...,
        max_inflated_per_feed: int = ...,
    ) -> IdigiFrameDecoder: ...
    def feed(self, data: bytes) -> tuple[list[Any], list[str]]: ...
    @property
    def buffered(self) -> int: ...
    @property
    def backlog(self) -> int: ...

@final
class IdigiPushSession:
    def __new__(
        cls,
        host: str,
        port: int,
        username: str,
        password: str,
        monitor_id: int,
        *,
        tls: bool = True,
        ca_file: Optional[str] = None,
        server_name: Optional[str] = None,
        connect_timeout: float = 10.0,
        idle_timeout: Optional[float] = None,
        keepalive: Optional[float] = ...,
        max_frame_size: int = ...,
        max_payload_size: int = ...,
        max_inflated_per_feed: int = ...,
        queue_frames: int = 4096,
        queue_bytes: int = ...,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_attempts: Optional[int] = None,
        tick: float = 0.02,
    ) -> IdigiPushSession: ...
    def next_events(
        self, max_items: int = 1024, timeout: float = 0.1
    ) -> tuple[list[tuple[Any, ...]], bool]: ...
    def ack(self, generation: int, block_ids: list[int], status: int = 200) -> None: ...
    @property
    def generation(self) -> int: ...
    def stop(self, timeout: float = 2.0) -> bool: ...

# EXP login tokens (rust/core/src/jwt.rs)
def jwt_encode_hs256(claims: str, key: str) -> str: ...
def jwt_decode_hs256(token: str, key: str) -> str: ...
