"""iDigi AsyncPushClient against the sandbox emulator over real TLS, mirroring the sync tests."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest

import ferrolink.sandbox
from ferrolink import errors
from ferrolink.idigi import AsyncPushClient, EventStream, PushEvent, push_client
from ferrolink.sandbox.idigi import IdigiService


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["idigi"]) as sandbox:
        yield sandbox


@pytest.fixture
def svc(sb: ferrolink.sandbox.Sandbox) -> Iterator[IdigiService]:
    service = sb.service("idigi")
    assert isinstance(service, IdigiService)
    service.faults.reset()
    yield service
    service.faults.reset()
    service.throttle_next = 0
    cred = sb.credentials("idigi")
    with push_client(
        cred["username"], cred["password"], hostname=service.rest_hostport, ca_certs=sb.ca_file
    ) as cleaner:
        for monitor_id in service.monitor_ids():
            cleaner.delete_monitor(monitor_id)


def make(sb: ferrolink.sandbox.Sandbox, svc: IdigiService, **kw: Any) -> AsyncPushClient:
    cred = sb.credentials("idigi")
    kw.setdefault("push_port", svc.push_tls_port)
    kw.setdefault("backoff_initial", 0.05)
    kw.setdefault("backoff_max", 0.2)
    return AsyncPushClient(
        cred["username"], cred["password"], hostname=svc.rest_hostport, ca_certs=sb.ca_file, **kw
    )


def publish_later(svc: IdigiService, start: int, stop: int, when: Callable[[], bool]) -> None:
    """Publish events ``start..stop`` from a thread once ``when()`` holds."""

    def run() -> None:
        deadline = time.monotonic() + 5
        while not when() and time.monotonic() < deadline:
            time.sleep(0.005)
        for n in range(start, stop):
            svc.publish("Test", "UPDATE", (str(n),), {"n": n})

    threading.Thread(target=run, daemon=True).start()


async def settles(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def n_of(event: PushEvent) -> int:
    data = event.data if isinstance(event.data, dict) else json.loads(event.data)
    return int(data["Document"]["Msg"]["Test"]["n"])


def test_monitor_crud(sb: ferrolink.sandbox.Sandbox, svc: IdigiService) -> None:
    async def main() -> None:
        async with make(sb, svc) as client:
            mid = await client.create_monitor(
                ["DeviceCore", "DataPoint"], batch_size=50, ack="explicit", description="<A> & co"
            )
            fields = svc.monitor(mid)
            assert fields["monBatchSize"] == "50" and fields["monDescription"] == "<A> & co"
            other = await client.create_monitor("FileData", format_type="xml")
            assert await client.get_monitor(["DeviceCore", "DataPoint"]) == mid
            assert {int(m["monId"]) for m in await client.list_monitors(page_size=1)} == {
                mid,
                other,
            }
            assert (await client.get_monitor_info(mid))["monStatus"] == "INACTIVE"
            await client.update_monitor(mid, monBatchSize=10)
            assert svc.monitor(mid)["monBatchSize"] == "10"
            await client.delete_monitor(mid)
            with pytest.raises(errors.ServiceError) as info:
                await client.delete_monitor(mid)
            assert info.value.status == 404

    asyncio.run(main())


def test_bad_credentials_and_throttling(sb: ferrolink.sandbox.Sandbox, svc: IdigiService) -> None:
    async def main() -> None:
        bad = AsyncPushClient(
            "x" * 70, "secret-pw", hostname=svc.rest_hostport, ca_certs=sb.ca_file
        )
        with pytest.raises(errors.AuthenticationError) as info:
            await bad.list_monitors()
        assert "secret-pw" not in str(info.value)
        await bad.aclose()
        svc.throttle_next = 2
        async with make(sb, svc, throttle_delay_init=0.01) as fast:
            assert await fast.list_monitors() == []

    asyncio.run(main())


def test_events_are_acked_when_the_body_finishes(
    sb: ferrolink.sandbox.Sandbox, svc: IdigiService
) -> None:
    async def main() -> list[int]:
        seen: list[int] = []
        async with make(sb, svc) as client:
            mid = await client.create_monitor(["Test"], ack="explicit")
            publish_later(svc, 0, 5, lambda: svc.wait_connected(mid, timeout=0.01))
            async with client.events(mid, parsed=True) as events:
                async for event in events:
                    assert isinstance(event.data, dict) and not event.acked
                    seen.append(n_of(event))
                    if len(seen) == 5:
                        break
            assert events.state in ("connected", "stopped")
            # The last one too: the block ended cleanly (the server reads acks on its own time).
            assert await settles(lambda: svc.outstanding(mid) == 0)
        return seen

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]


def test_a_raising_body_leaves_its_event_unacked_and_it_comes_back(
    sb: ferrolink.sandbox.Sandbox, svc: IdigiService
) -> None:
    async def main() -> None:
        async with make(sb, svc) as client:
            mid = await client.create_monitor(["Test"], ack="explicit")
            publish_later(svc, 0, 2, lambda: svc.wait_connected(mid, timeout=0.01))
            with pytest.raises(RuntimeError):
                async with client.events(mid) as events:
                    async for event in events:
                        if n_of(event) == 1:
                            raise RuntimeError("handler failed")
            async with client.events(mid) as again:
                async for event in again:
                    assert n_of(event) == 1  # sent again: it was never acknowledged
                    event.ack()
                    break
            assert await settles(lambda: svc.outstanding(mid) == 0)

    asyncio.run(main())


def test_manual_ack_reconnect_and_back_pressure(
    sb: ferrolink.sandbox.Sandbox, svc: IdigiService
) -> None:
    async def main() -> None:
        states: list[str] = []
        async with make(sb, svc, queue_frames=2) as client:
            mid = await client.create_monitor(["Test"], ack="explicit")
            stream = client.events(mid, auto_ack=False, on_state=lambda s, d: states.append(s))
            assert isinstance(stream, EventStream)
            publish_later(svc, 0, 20, lambda: svc.wait_connected(mid, timeout=0.01))
            values: list[int] = []
            async for event in stream:
                await asyncio.sleep(0.005)  # a slow consumer: the session's queue fills up
                values.append(n_of(event))
                event.ack()
                if len(values) == 20:
                    svc.faults.drop_mid_frame = 1  # the server drops the connection
                    publish_later(svc, 20, 30, lambda: True)
                if len(set(values)) == 30:
                    break
            await stream.aclose()
            assert values[:20] == list(range(20)) and sorted(set(values)) == list(range(30))
            assert "disconnected" in states and states.count("connected") >= 2

    asyncio.run(main())


def test_cancelling_the_consumer_loses_no_event(
    sb: ferrolink.sandbox.Sandbox, svc: IdigiService
) -> None:
    async def main() -> None:
        async with make(sb, svc) as client:
            mid = await client.create_monitor(["Test"], ack="explicit")
            async with client.events(mid) as events:
                waiting = asyncio.ensure_future(events.__anext__())
                await asyncio.sleep(0.1)
                waiting.cancel()  # while a fetch from the session is in flight
                with pytest.raises(asyncio.CancelledError):
                    await waiting
                publish_later(svc, 0, 3, lambda: True)
                got = [n_of(await events.__anext__()) for _ in range(3)]
            assert got == [0, 1, 2]

    asyncio.run(main())


def test_wrong_password_ends_the_iteration_with_the_error(
    sb: ferrolink.sandbox.Sandbox, svc: IdigiService
) -> None:
    async def main() -> None:
        async with make(sb, svc) as client:
            mid = await client.create_monitor(["Test"])
        cred = sb.credentials("idigi")
        bad = AsyncPushClient(
            cred["username"],
            "wrong",
            hostname=svc.rest_hostport,
            ca_certs=sb.ca_file,
            push_port=svc.push_tls_port,
        )
        with pytest.raises(errors.AuthenticationError):
            async for _ in bad.events(mid):
                pass
        await bad.aclose()

    asyncio.run(main())
