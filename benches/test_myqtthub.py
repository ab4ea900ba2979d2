"""MyQttHub benchmarks: publish-body building, sequential publishes over TLS, pull decoding.

1. Building the ``/publish`` JSON bodies of 10,000 messages of 1 KiB: ferrolink's Rust batch
   (base64 fused with the JSON) vs per-message ``json.dumps`` + ``base64.b64encode``.
2. Sequential publishes over keep-alive HTTPS to nginx answering ``/login`` and ``/publish``
   like the sandbox: ``Client.publish`` (and ``publish_many``) vs the official client's
   ``http.client`` pattern on one kept-alive connection.
3. Decoding a ``/pull`` reply of 10,000 messages of 1 KiB (bytes in, list of dicts with bytes
   payloads out): ferrolink's Rust decoder vs ``json.loads`` + per-message ``b64decode``.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import time
from collections.abc import Iterator
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest

from ferrolink import _core, myqtthub
from ferrolink.sandbox.nginx import find_nginx, nginx_server
from ferrolink.sandbox.tls import SandboxTLS

N_BODIES = 10_000
N_PUBLISH = 200
TOKEN = "0da82260-3b1e-4b3c-9f3a-5f1a2b3c4d5e"
MESSAGES = [(f"sensors/{i % 100}/t", os.urandom(1024), 1, False, False) for i in range(N_BODIES)]
PULL_BODY = json.dumps(
    [
        {"topic": t, "payload": base64.b64encode(p).decode(), "qos": q, "retain": r, "dup": d}
        for t, p, q, r, d in MESSAGES
    ]
).encode()
SMALL = b'{"sensor":"t1","value":21.5}'


def _run(benchmark: Any, group: str, peer: str, fn: Callable[[], Any], rounds: int = 10) -> None:
    benchmark.group = group
    benchmark.extra_info["peer"] = peer
    benchmark.pedantic(fn, rounds=rounds, warmup_rounds=1, iterations=1)


# The sequential-publish group runs first: after the 10,000-message groups below, every
# request in this process (ferrolink's and http.client's alike) was ~70 us slower.
# -- sequential publishes over TLS ---------------------------------------------------------

SEQ = f"myqtthub: {N_PUBLISH} sequential publishes of 28 B, keep-alive HTTPS to nginx"


@pytest.fixture(scope="module")
def server(bench_tls: SandboxTLS) -> Iterator[str]:
    if find_nginx() is None:
        pytest.skip("nginx is not installed")
    login = json.dumps(
        {"tokenId": TOKEN, "stamp": int(time.time()), "validUntil": int(time.time()) + 84600}
    ).encode()
    routes = {
        "/login": (200, login, "application/json"),
        "/publish": (200, b"", "text/plain"),  # the sandbox's reply to a publish
    }
    # One worker: with two, a keep-alive connection lands on either, and one answers several
    # times slower than the other (the same found for the HEXONET benches).
    with nginx_server(routes, bench_tls, workers=1) as base:
        yield base


def test_publish_ferrolink(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    hub = myqtthub.Client("dev-01", "alice", "s3cret", base_url=server, ca_file=bench_tls.ca_file)
    hub.login()

    def batch() -> None:
        for _ in range(N_PUBLISH):
            hub.publish("sensors/t1", SMALL, qos=1)

    _run(benchmark, SEQ, "ferrolink", batch, rounds=15)


def test_publish_many_ferrolink(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    hub = myqtthub.Client("dev-01", "alice", "s3cret", base_url=server, ca_file=bench_tls.ca_file)
    hub.login()
    batch = [("sensors/t1", SMALL, 1)] * N_PUBLISH
    _run(
        benchmark, SEQ, "ferrolink Client.publish_many", lambda: hub.publish_many(batch), rounds=15
    )


def test_publish_http_client(benchmark: Any, server: str, bench_tls: SandboxTLS) -> None:
    """The official client's way: one HTTPSConnection kept alive, json.dumps + b64encode a call."""
    parts = urlsplit(server)
    context = ssl.create_default_context(cafile=str(bench_tls.ca_file))
    conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, context=context)
    conn.request(
        "POST",
        "/login",
        json.dumps(
            {"clientId": "dev-01", "userName": "alice", "password": "s3cret", "cleanSession": True}
        ),
    )
    login_data = json.loads(conn.getresponse().read())
    headers = {"Cookie": f"tokenId={login_data['tokenId']}"}

    def batch() -> None:
        for _ in range(N_PUBLISH):
            params = {
                "tokenId": login_data["tokenId"],
                "topic": "sensors/t1",
                "qos": 1,
                "payload": base64.b64encode(SMALL).decode(),
                "retain": False,
                "dup": False,
            }
            conn.request("POST", "/publish", json.dumps(params), headers)
            result = conn.getresponse()
            result.read()
            assert result.status == 200

    _run(benchmark, SEQ, "http.client (seed pattern)", batch, rounds=15)
    conn.close()


BODIES = f"myqtthub: build {N_BODIES:,} publish bodies of 1 KiB"


def test_bodies_ferrolink(benchmark: Any) -> None:
    _run(benchmark, BODIES, "ferrolink", lambda: _core.myqtthub_publish_bodies(TOKEN, MESSAGES))


def test_bodies_python(benchmark: Any) -> None:
    def build() -> list[bytes]:
        return [
            json.dumps(
                {
                    "tokenId": TOKEN,
                    "topic": t,
                    "qos": q,
                    "payload": base64.b64encode(p).decode(),
                    "retain": r,
                    "dup": d,
                }
            ).encode()
            for t, p, q, r, d in MESSAGES
        ]

    assert [json.loads(b) for b in build()[:3]] == [
        json.loads(b) for b in _core.myqtthub_publish_bodies(TOKEN, MESSAGES[:3])
    ]
    _run(benchmark, BODIES, "json.dumps + base64.b64encode", build)


PULL = f"myqtthub: decode a pull reply of {N_BODIES:,} messages of 1 KiB"


def test_pull_ferrolink(benchmark: Any) -> None:
    _run(benchmark, PULL, "ferrolink", lambda: _core.myqtthub_decode_pull(PULL_BODY))


def test_pull_python(benchmark: Any) -> None:
    def decode() -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = json.loads(PULL_BODY)
        for message in messages:
            message["payload"] = base64.b64decode(message["payload"])
        return messages

    assert decode()[:5] == _core.myqtthub_decode_pull(PULL_BODY)[:5]
    _run(benchmark, PULL, "json.loads + base64.b64decode", decode)
