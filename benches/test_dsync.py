"""DSYNC benchmark: sequential realtime creates against the DSYNC sandbox (real TLS, loopback).

Each round sends ``BATCH`` creates of the same record (an upsert, so the store stays small).
Peers: ferrolink's ``RealtimeRequest`` (pooled keep-alive TLS through the Rust transport) and
the original ``dsync-sdk`` 0.1.2 pointed at the same sandbox (module-level ``requests.post``:
a new TLS connection per call). Same server, same CA, same process run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import pytest

import ferrolink.sandbox
from ferrolink import dsync

BATCH = 50
RECORD = {"sku": "BENCH-1", "name": "Benchmark product", "price": 9.5, "inventory": {"qty": 3}}
GROUP = f"dsync: {BATCH} sequential realtime creates, sandbox over HTTPS"


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["dsync"]) as running:
        yield running


def _run(benchmark: Any, peer: str, batch: Callable[[], None]) -> None:
    benchmark.group = GROUP
    benchmark.extra_info["peer"] = peer
    benchmark.pedantic(batch, rounds=10, warmup_rounds=1, iterations=1)


def test_ferrolink(benchmark: Any, sb: ferrolink.sandbox.Sandbox) -> None:
    creds = sb.credentials("dsync")
    request = dsync.RealtimeRequest(
        creds["auth_token"], creds["entity_token"], base_url=sb.url("dsync"), ca_file=sb.ca_file
    )

    def batch() -> None:
        for _ in range(BATCH):
            request.create(RECORD)

    _run(benchmark, "ferrolink", batch)
    request.close()


def test_dsync_sdk(
    benchmark: Any, sb: ferrolink.sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = pytest.importorskip("dsync", reason="pip install --no-deps dsync-sdk==0.1.2")
    pytest.importorskip("requests")
    # The SDK calls requests.post without a verify argument: trust comes from the environment.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_file)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    creds = sb.credentials("dsync")
    request = original.RealtimeRequest(
        creds["auth_token"], creds["entity_token"], sb.url("dsync") + "/api/realtime"
    )
    service: Any = sb.service("dsync")
    service.clear_journal()
    request.create(RECORD)  # it returns None whatever happens: check the server saw a 200
    assert [e.status for e in service.journal] == [200]

    def batch() -> None:
        for _ in range(BATCH):
            request.create(RECORD)

    _run(benchmark, "dsync-sdk 0.1.2", batch)
