"""Async benchmarks: many small POSTs in flight at once, over keep-alive HTTPS to nginx.

- ``TOTAL`` POSTs per round from ``CONCURRENCY`` coroutines on one event loop, for
  ``ferrolink.http.AsyncClient`` (asyncio's loop and uvloop), aiohttp, httpx and pyreqwest;
  the sync ``ferrolink.http.Client`` sends the same number sequentially, for reference.
- HEXONET: ``HEX_TOTAL`` CheckDomains at concurrency ``HEX_CONCURRENCY`` with
  ``AsyncAPIClient`` against the original 4.0.2 client sending them one after the other
  (one round for the original: it opens a TLS connection per request); notes give requests/s.

Every peer runs against the same nginx, same TLS, in the same process run. Each peer gets one
long-lived loop and client, so rounds measure warm keep-alive pools.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Coroutine, Iterator
from typing import Any, Callable

import pytest

from ferrolink.hexonet import AsyncAPIClient
from ferrolink.http import AsyncClient, Client
from ferrolink.sandbox.nginx import find_nginx, nginx_server
from ferrolink.sandbox.tls import SandboxTLS

TOTAL = 2000
CONCURRENCY = 64
HEX_TOTAL = 1000
HEX_CONCURRENCY = 32
BODY = b'{"status":"ok","data":' + b'"' + b"x" * 218 + b'"}'
PAYLOAD = b'{"id":1,"op":"ping"}'
CHECK_REPLY = (
    b"[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=Command completed successfully\r\n"
    b"PROPERTY[DOMAINCHECK][0]=210 Domain name available\r\nQUEUETIME=0\r\nRUNTIME=0.01\r\n"
    b"EOF\r\n"
)

pytestmark = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")


@pytest.fixture(scope="module")
def server(bench_tls: SandboxTLS) -> Iterator[str]:
    routes = {
        "/post": (200, BODY, "application/json"),
        "/api/call.cgi": (200, CHECK_REPLY, "text/plain"),
    }
    with nginx_server(routes, bench_tls, workers=2) as base:
        yield base


def _run(
    benchmark: Any, group: str, peer: str, batch: Callable[[], None], rounds: int = 10
) -> None:
    benchmark.group = group
    benchmark.extra_info["peer"] = peer
    benchmark.pedantic(batch, rounds=rounds, warmup_rounds=1, iterations=1)


async def _concurrently(total: int, concurrency: int, send: Callable[[], Awaitable[None]]) -> None:
    """Send ``total`` requests from ``concurrency`` workers."""

    async def worker(n: int) -> None:
        for _ in range(n):
            await send()

    share, extra = divmod(total, concurrency)
    await asyncio.gather(*(worker(share + (i < extra)) for i in range(concurrency)))


def _loop_runner(
    make_loop: Callable[[], asyncio.AbstractEventLoop],
) -> Iterator[Callable[[Coroutine[Any, Any, Any]], Any]]:
    loop = make_loop()
    try:
        yield loop.run_until_complete
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@pytest.fixture
def on_asyncio() -> Iterator[Callable[[Coroutine[Any, Any, Any]], Any]]:
    yield from _loop_runner(asyncio.new_event_loop)


@pytest.fixture
def on_uvloop() -> Iterator[Callable[[Coroutine[Any, Any, Any]], Any]]:
    uvloop = pytest.importorskip("uvloop")
    yield from _loop_runner(uvloop.new_event_loop)


GROUP = f"async: {TOTAL} POSTs at concurrency {CONCURRENCY}, keep-alive HTTPS"


def _ferrolink(benchmark: Any, run: Any, server: str, tls: SandboxTLS, peer: str) -> None:
    url = server + "/post"

    async def make() -> AsyncClient:
        return AsyncClient(ca_file=tls.ca_file, trust_env=False, max_idle_per_host=CONCURRENCY)

    client = run(make())

    async def send() -> None:
        assert (await client.post(url, body=PAYLOAD)).status == 200

    _run(benchmark, GROUP, peer, lambda: run(_concurrently(TOTAL, CONCURRENCY, send)))
    client.close()


def test_ferrolink_async(
    benchmark: Any, on_asyncio: Any, server: str, bench_tls: SandboxTLS
) -> None:
    _ferrolink(benchmark, on_asyncio, server, bench_tls, "ferrolink")


def test_ferrolink_async_uvloop(
    benchmark: Any, on_uvloop: Any, server: str, bench_tls: SandboxTLS
) -> None:
    _ferrolink(benchmark, on_uvloop, server, bench_tls, "ferrolink AsyncClient on uvloop")


def test_ferrolink_sync_sequential(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    url = server + "/post"
    client = Client(ca_file=bench_tls.ca_file, trust_env=False)

    def batch() -> None:
        for _ in range(TOTAL):
            assert client.post(url, body=PAYLOAD).status == 200

    _run(benchmark, GROUP, "ferrolink sync Client (sequential)", batch)
    client.close()


def test_aiohttp(benchmark: Any, on_asyncio: Any, server: str, bench_tls: SandboxTLS) -> None:
    aiohttp = pytest.importorskip("aiohttp")
    url = server + "/post"
    context = ssl.create_default_context(cafile=str(bench_tls.ca_file))

    async def make() -> Any:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=CONCURRENCY))

    session = on_asyncio(make())

    async def send() -> None:
        async with session.post(url, data=PAYLOAD) as reply:
            await reply.read()
            assert reply.status == 200

    _run(
        benchmark,
        GROUP,
        "aiohttp.ClientSession",
        lambda: on_asyncio(_concurrently(TOTAL, CONCURRENCY, send)),
    )
    on_asyncio(session.close())


def test_httpx(benchmark: Any, on_asyncio: Any, server: str, bench_tls: SandboxTLS) -> None:
    httpx = pytest.importorskip("httpx")
    url = server + "/post"
    context = ssl.create_default_context(cafile=str(bench_tls.ca_file))
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)

    async def make() -> Any:
        return httpx.AsyncClient(verify=context, limits=limits)

    client = on_asyncio(make())

    async def send() -> None:
        assert (await client.post(url, content=PAYLOAD)).status_code == 200

    _run(
        benchmark,
        GROUP,
        "httpx.AsyncClient",
        lambda: on_asyncio(_concurrently(TOTAL, CONCURRENCY, send)),
        rounds=3,  # tens of seconds per round here
    )
    on_asyncio(client.aclose())


def test_pyreqwest(benchmark: Any, on_asyncio: Any, server: str, bench_tls: SandboxTLS) -> None:
    client_module = pytest.importorskip("pyreqwest.client")
    url = server + "/post"
    pem = bench_tls.ca_file.read_bytes()

    async def make() -> Any:
        return (
            client_module.ClientBuilder()
            .add_root_certificate_pem(pem)
            .pool_max_idle_per_host(CONCURRENCY)
            .http1_only()
            .build()
        )

    client = on_asyncio(make())

    async def send() -> None:
        reply = await client.post(url).body_bytes(PAYLOAD).build().send()
        await reply.bytes()
        assert reply.status == 200

    _run(
        benchmark,
        GROUP,
        "pyreqwest Client (async)",
        lambda: on_asyncio(_concurrently(TOTAL, CONCURRENCY, send)),
    )


HEX = f"hexonet: {HEX_TOTAL} CheckDomains, AsyncAPIClient at concurrency {HEX_CONCURRENCY}"
HEX_COMMAND = {"COMMAND": "CheckDomains", "DOMAIN": ["free-name.com"]}


def _note_rate(benchmark: Any, label: str) -> None:
    """Requests per second in the report (not when --benchmark-disable ran the body once)."""
    if benchmark.stats is None:
        return
    rate = HEX_TOTAL / benchmark.stats.stats.median
    benchmark.extra_info["note"] = f"{label}: {rate:,.0f} requests/s"


def test_hexonet_async(benchmark: Any, on_asyncio: Any, server: str, bench_tls: SandboxTLS) -> None:
    url = server + "/api/call.cgi"
    client = AsyncAPIClient(ca_file=str(bench_tls.ca_file)).setURL(url)
    client.setCredentials("test.user", "test.passw0rd")

    async def send() -> None:
        assert (await client.request(HEX_COMMAND)).getCode() == 200

    def batch() -> None:
        on_asyncio(_concurrently(HEX_TOTAL, HEX_CONCURRENCY, send))

    _run(benchmark, HEX, "ferrolink", batch)
    _note_rate(benchmark, "ferrolink AsyncAPIClient")
    client.close()


def test_hexonet_original_sequential(
    benchmark: Any, server: str, bench_tls: SandboxTLS, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = pytest.importorskip("hexonet.apiconnector.apiclient")
    monkeypatch.setenv("SSL_CERT_FILE", str(bench_tls.ca_file))
    cl = original.APIClient()
    cl.setURL(server + "/api/call.cgi")
    cl.setCredentials("test.user", "test.passw0rd")

    def batch() -> None:
        for _ in range(HEX_TOTAL):
            assert cl.request(dict(HEX_COMMAND)).getCode() == 200

    benchmark.group = HEX
    benchmark.extra_info["peer"] = "hexonet.apiconnector 4.0.2 (sequential)"
    benchmark.pedantic(batch, rounds=1, iterations=1)
    _note_rate(benchmark, "hexonet.apiconnector 4.0.2, sequential")
