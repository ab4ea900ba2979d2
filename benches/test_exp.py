"""EXP benchmarks on the EXP sandbox (the same server for every peer, in one run).

- REST: ``BATCH`` rounds of ``get_device`` + ``save`` (GET then PATCH with the whole
  document), ferrolink vs the same calls written with ``requests``.
- Event bus: broadcast -> listener latency, p50 and p99, over WebSocket and over polling
  (printed and stored in ``extra_info``; the broadcast POST returns at once, ``timeout=0``).
- request -> answer with the default 10 s response window, answered by a ferrolink responder
  in another runtime, sync and asyncio: the requester returns on the announced answer.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import ferrolink.sandbox
from ferrolink import exp
from ferrolink.sandbox.exp import DEVICE_UUID

BATCH = 50
GROUP = f"exp: {BATCH} x (get_device + save) round trips"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["exp"]) as sb:
        yield sb


def _options(sb: ferrolink.sandbox.Sandbox, **extra: Any) -> dict[str, Any]:
    creds = sb.credentials("exp")
    return {
        "host": sb.url("exp"),
        "ca_file": sb.ca_file,
        "username": creds["username"],
        "password": creds["password"],
        "organization": creds["organization"],
        **extra,
    }


def _run(benchmark: Any, peer: str, batch: Any) -> None:
    benchmark.group = GROUP
    benchmark.extra_info["peer"] = peer
    benchmark.pedantic(batch, rounds=10, warmup_rounds=1, iterations=1)


def test_rest_ferrolink(benchmark: Any, sandbox: ferrolink.sandbox.Sandbox) -> None:
    sdk = exp.start(**_options(sandbox, enable_network=False))

    def batch() -> None:
        for _ in range(BATCH):
            device = sdk.api.get_device(DEVICE_UUID)
            assert device is not None
            device.save()

    try:
        _run(benchmark, "ferrolink", batch)
    finally:
        sdk.stop()


def test_rest_requests(benchmark: Any, sandbox: ferrolink.sandbox.Sandbox) -> None:
    base = sandbox.url("exp")
    http = requests.Session()
    http.trust_env = False  # else REQUESTS_CA_BUNDLE / SSL_CERT_FILE would override verify
    http.verify = sandbox.ca_file
    creds = sandbox.credentials("exp")
    login = http.post(
        base + "/api/auth/login",
        json={k: creds[k] for k in ("username", "password", "organization")},
        timeout=10,
    )
    login.raise_for_status()
    http.headers["Authorization"] = "Bearer " + login.json()["token"]
    url = f"{base}/api/devices/{DEVICE_UUID}"

    def batch() -> None:
        for _ in range(BATCH):
            reply = http.get(url, timeout=10)
            reply.raise_for_status()
            http.patch(url, json=reply.json(), timeout=10).raise_for_status()

    try:
        _run(benchmark, "requests", batch)
    finally:
        http.close()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_broadcast_latency(
    benchmark: Any, sandbox: ferrolink.sandbox.Sandbox, transport: str
) -> None:
    sender = exp.start(**_options(sandbox, enable_network=False))
    receiver = exp.start(**_options(sandbox, websocket=transport == "websocket"))
    samples: list[float] = []
    try:
        listener = receiver.get_channel("bench").listen("tick")
        channel = sender.get_channel("bench")

        def one() -> None:
            started = time.perf_counter()
            channel.broadcast("tick", {"n": 1}, timeout=0)
            message = listener.wait(5)
            assert message is not None
            samples.append(time.perf_counter() - started)

        benchmark.group = f"exp: broadcast -> listener latency ({transport})"
        benchmark.extra_info["peer"] = "ferrolink"
        rounds = 5 if benchmark.disabled else 300
        benchmark.pedantic(one, rounds=rounds, warmup_rounds=0 if benchmark.disabled else 10)
    finally:
        sender.stop()
        receiver.stop()
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    benchmark.extra_info.update(p50_ms=round(p50, 3), p99_ms=round(p99, 3))
    print(f"\nbroadcast -> listener over {transport}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")


REQUEST_GROUP = "exp: request -> answer, 10 s window (WebSocket)"


def test_request_latency_sync(benchmark: Any, sandbox: ferrolink.sandbox.Sandbox) -> None:
    requester = exp.start(**_options(sandbox))
    responder = exp.start(**_options(sandbox))
    try:
        responder.get_channel("bench").respond("ask", lambda payload: payload)
        channel = requester.get_channel("bench")

        def one() -> None:
            assert channel.request("ask", 1) == 1

        benchmark.group = REQUEST_GROUP
        benchmark.extra_info["peer"] = "ferrolink sync"
        benchmark.pedantic(one, rounds=5 if benchmark.disabled else 200, warmup_rounds=5)
    finally:
        requester.stop()
        responder.stop()


def test_request_latency_async(benchmark: Any, sandbox: ferrolink.sandbox.Sandbox) -> None:
    loop = asyncio.new_event_loop()
    requester = exp.AsyncExp(**_options(sandbox))
    responder = exp.AsyncExp(**_options(sandbox))
    try:
        loop.run_until_complete(requester.start())
        loop.run_until_complete(responder.start())
        loop.run_until_complete(responder.get_channel("bench").respond("ask", lambda p: p))
        channel = requester.get_channel("bench")

        def one() -> None:
            assert loop.run_until_complete(channel.request("ask", 1)) == 1

        benchmark.group = REQUEST_GROUP
        benchmark.extra_info["peer"] = "ferrolink asyncio"
        benchmark.pedantic(one, rounds=5 if benchmark.disabled else 200, warmup_rounds=5)
    finally:
        loop.run_until_complete(requester.stop())
        loop.run_until_complete(responder.stop())
        loop.close()
