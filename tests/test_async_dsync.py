"""DSYNC AsyncRealtimeRequest against the sandbox over real TLS, mirroring the sync tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any, cast

import pytest

import ferrolink.sandbox
from ferrolink import dsync
from ferrolink.errors import ConnectError, TimeoutError
from ferrolink.sandbox.dsync import DsyncService

PRODUCT = {"sku": "ABC-123", "name": "Big product", "price": 9.5, "inventory": {"qty": 3}}


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["dsync"]) as running:
        yield running


@pytest.fixture
def service(sb: ferrolink.sandbox.Sandbox) -> Iterator[DsyncService]:
    svc = cast(DsyncService, sb.service("dsync"))
    svc.reset()
    yield svc
    svc.reset()


def _request(sb: ferrolink.sandbox.Sandbox, **options: Any) -> dsync.AsyncRealtimeRequest:
    creds = sb.credentials("dsync")
    return dsync.AsyncRealtimeRequest(
        creds["auth_token"],
        creds["entity_token"],
        base_url=sb.url("dsync"),
        ca_file=sb.ca_file,
        **options,
    )


def test_create_update_delete_round_trip(
    sb: ferrolink.sandbox.Sandbox, service: DsyncService
) -> None:
    async def main() -> None:
        async with _request(sb) as req:
            token = cast(str, req.entity_token)
            created = await req.create(PRODUCT)
            assert created == {
                "status": 200,
                "message": "Record created",
                "detail": {},
                "data": PRODUCT,
            }
            updated = await req.update({"sku": "ABC-123", "price": 12})
            assert updated["message"] == "Record updated"
            assert service.records(token)["ABC-123"]["price"] == 12
            assert (await req.delete("ABC-123"))["message"] == "Record deleted"
            assert "ABC-123" not in service.records(token)

    asyncio.run(main())
    assert [(e.method, e.body) for e in service.journal] == [
        ("POST", json.dumps(PRODUCT).encode()),
        ("PUT", json.dumps({"sku": "ABC-123", "price": 12}).encode()),
        ("DELETE", b""),
    ]


def test_errors_match_the_sync_client(sb: ferrolink.sandbox.Sandbox, service: DsyncService) -> None:
    async def main() -> None:
        async with _request(sb) as req:
            with pytest.raises(dsync.InvalidRealtimeRequest):
                await req.delete("")
            with pytest.raises(dsync.InvalidRealtimeRequest):
                await req.create([1, 2])  # type: ignore[arg-type]
            with pytest.raises(dsync.RealtimeRequestException) as info:
                await req.update({"sku": "missing", "price": 1})
            assert str(info.value) == "404: No product record missing"
        refused = dsync.AsyncRealtimeRequest("a", "b", "https://127.0.0.1:1/api/realtime")
        with pytest.raises(dsync.RealtimeRequestException) as info:
            await refused.create({"a": 1})
        assert info.value.status_code is None and isinstance(info.value.__cause__, ConnectError)
        refused.close()
        assert "auth_token='***'" in repr(_request(sb))

    asyncio.run(main())


def test_timeout_and_retry(sb: ferrolink.sandbox.Sandbox, service: DsyncService) -> None:
    async def main() -> None:
        service.faults.delay = 0.5
        async with _request(sb, timeout=0.1) as req:
            with pytest.raises(dsync.RealtimeRequestException) as info:
                await req.create(PRODUCT)
            assert isinstance(info.value.__cause__, TimeoutError)
        service.faults.delay = 0.0
        async with _request(sb, retries=2, backoff=0.01) as req:
            await req.create(PRODUCT)
            service.fail_next(503, times=2)
            assert (await req.update({"sku": "ABC-123", "price": 1}))["message"] == "Record updated"
            service.fail_next(503)
            with pytest.raises(dsync.RealtimeRequestException) as info:
                await req.create({"sku": "X"})  # POST is never repeated
            assert info.value.status_code == 503

    asyncio.run(main())
    assert [e.status for e in service.journal if e.method == "PUT"] == [503, 503, 200]


def test_cancelled_create_and_many_at_once(
    sb: ferrolink.sandbox.Sandbox, service: DsyncService
) -> None:
    async def main() -> None:
        async with _request(sb) as req:
            service.faults.delay = 0.5
            task = asyncio.ensure_future(req.create({"sku": "slow", "name": "n"}))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            service.faults.delay = 0.0
            replies = await asyncio.gather(
                *(req.create({"sku": f"S-{i}", "name": "n"}) for i in range(30))
            )
            assert {r["data"]["sku"] for r in replies} == {f"S-{i}" for i in range(30)}

    asyncio.run(main())
