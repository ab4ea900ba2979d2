"""Typed stubs for the native module ``ferrolink._core`` (Rust, PyO3)."""

from typing import Optional

__version__: str

class HttpClient:
    def __init__(
        self,
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
    ) -> None: ...
    def request(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: Optional[bytes] = None,
        timeout: Optional[float] = None,
    ) -> tuple[int, str, list[tuple[str, str]], bytes]: ...

def _bench_request_loop(
    client: HttpClient,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: Optional[bytes],
    n: int,
) -> float: ...
def generate_test_ca(hosts: list[str]) -> tuple[str, str, str]: ...
def jwt_encode_hs256(claims: str, key: str) -> str: ...
def jwt_decode_hs256(token: str, key: str) -> str: ...
