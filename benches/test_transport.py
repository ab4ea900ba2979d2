"""Transport benchmark: sequential small POSTs over keep-alive HTTPS to nginx on loopback.

Each round sends ``BATCH`` POSTs; nginx answers every one with the same 243-byte body. Peers run
on the same server, same TLS, in the same process run.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from collections.abc import Iterator
from io import BytesIO
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest

from ferrolink import _core
from ferrolink.http import Client
from ferrolink.sandbox.nginx import find_nginx, nginx_server
from ferrolink.sandbox.tls import SandboxTLS

BATCH = 200
THREADS = 8
BODY = b'{"status":"ok","data":' + b'"' + b"x" * 218 + b'"}'
PAYLOAD = b'{"id":1,"op":"ping"}'
assert len(BODY) == 243

pytestmark = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")


@pytest.fixture(scope="module")
def server(bench_tls: SandboxTLS) -> Iterator[str]:
    routes = {"/post": (200, BODY, "application/json")}
    with nginx_server(routes, bench_tls, workers=2) as base:
        yield base + "/post"


def _run(benchmark: Any, group: str, peer: str, batch: Callable[[], None]) -> None:
    benchmark.group = group
    benchmark.extra_info["peer"] = peer
    benchmark.pedantic(batch, rounds=15, warmup_rounds=2, iterations=1)


SEQ = f"transport: {BATCH} sequential POSTs, keep-alive HTTPS"


def test_ferrolink(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    client = Client(ca_file=bench_tls.ca_file, trust_env=False)

    def batch() -> None:
        for _ in range(BATCH):
            assert client.post(server, body=PAYLOAD).status == 200

    _run(benchmark, SEQ, "ferrolink", batch)


def test_raw_rust_loop(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    native = _core.HttpClient(ca_file=bench_tls.ca_file, trust_env=False)
    _run(
        benchmark,
        SEQ,
        "raw Rust loop (ceiling)",
        lambda: _core._bench_request_loop(native, "POST", server, [], PAYLOAD, BATCH),
    )


def test_requests(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    requests = pytest.importorskip("requests")
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override verify
    session.verify = str(bench_tls.ca_file)

    def batch() -> None:
        for _ in range(BATCH):
            assert session.post(server, data=PAYLOAD).status_code == 200

    with session:
        _run(benchmark, SEQ, "requests.Session", batch)


def test_httpx(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    httpx = pytest.importorskip("httpx")
    client = httpx.Client(verify=ssl.create_default_context(cafile=str(bench_tls.ca_file)))

    def batch() -> None:
        for _ in range(BATCH):
            assert client.post(server, content=PAYLOAD).status_code == 200

    with client:
        _run(benchmark, SEQ, "httpx.Client", batch)


def test_urllib3(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    urllib3 = pytest.importorskip("urllib3")
    pool = urllib3.PoolManager(ca_certs=str(bench_tls.ca_file))

    def batch() -> None:
        for _ in range(BATCH):
            assert pool.request("POST", server, body=PAYLOAD).status == 200

    with pool:
        _run(benchmark, SEQ, "urllib3.PoolManager", batch)


def test_http_client(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    parts = urlsplit(server)
    context = ssl.create_default_context(cafile=str(bench_tls.ca_file))
    conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, context=context)

    def batch() -> None:
        for _ in range(BATCH):
            conn.request("POST", parts.path, body=PAYLOAD)
            reply = conn.getresponse()
            reply.read()
            assert reply.status == 200

    try:
        _run(benchmark, SEQ, "http.client (one connection)", batch)
    finally:
        conn.close()


def test_pycurl(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    pycurl = pytest.importorskip("pycurl")
    handle = pycurl.Curl()
    handle.setopt(pycurl.URL, server)
    handle.setopt(pycurl.CAINFO, str(bench_tls.ca_file))
    handle.setopt(pycurl.POSTFIELDS, PAYLOAD)

    def batch() -> None:
        for _ in range(BATCH):
            sink = BytesIO()
            handle.setopt(pycurl.WRITEDATA, sink)
            handle.perform()
            assert handle.getinfo(pycurl.RESPONSE_CODE) == 200

    _run(benchmark, SEQ, "pycurl (one handle)", batch)


NEW = f"transport: {BATCH // 4} POSTs, new connection per request"


def test_ferrolink_new_connection_each(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    pooled = Client(ca_file=bench_tls.ca_file, trust_env=False)
    unpooled = Client(ca_file=bench_tls.ca_file, trust_env=False, max_idle_per_host=0)
    # Same workload, twice: what the keep-alive pool buys (ratio = pooled speed-up).
    benchmark.extra_info["unpooled"] = True

    def batch() -> None:
        for _ in range(BATCH // 4):
            assert unpooled.post(server, body=PAYLOAD).status == 200

    _run(benchmark, NEW, "ferrolink without pool", batch)
    pooled.close()


def test_ferrolink_pooled_for_new_connection_group(
    benchmark: Any, server: str, bench_tls: SandboxTLS
) -> None:
    client = Client(ca_file=bench_tls.ca_file, trust_env=False)

    def batch() -> None:
        for _ in range(BATCH // 4):
            assert client.post(server, body=PAYLOAD).status == 200

    _run(benchmark, NEW, "ferrolink", batch)


THREADED = f"transport: {BATCH * 8} POSTs, 1 thread vs {THREADS} threads sharing one client"


def test_threads_single(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    client = Client(ca_file=bench_tls.ca_file, trust_env=False)

    def batch() -> None:
        for _ in range(BATCH * 8):
            client.post(server, body=PAYLOAD)

    _run(benchmark, THREADED, "ferrolink", batch)


def test_threads_shared(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    client = Client(ca_file=bench_tls.ca_file, trust_env=False)
    per_thread = BATCH * 8 // THREADS

    def work() -> None:
        for _ in range(per_thread):
            client.post(server, body=PAYLOAD)

    def batch() -> None:
        threads = [threading.Thread(target=work) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    _run(benchmark, THREADED, f"ferrolink, {THREADS} threads", batch)
