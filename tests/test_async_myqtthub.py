"""MyQttHub AsyncClient against the sandbox over real TLS, mirroring the sync tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest

import ferrolink.sandbox
from ferrolink import myqtthub
from ferrolink.errors import ConnectError, InvalidArgumentError
from ferrolink.sandbox.myqtthub import MyQttHubService


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["myqtthub"]) as running:
        yield running


@pytest.fixture
def service(sb: ferrolink.sandbox.Sandbox) -> Iterator[MyQttHubService]:
    svc = cast(MyQttHubService, sb.service("myqtthub"))
    svc.clear_journal()
    yield svc
    svc.faults.reset()


def make(
    sb: ferrolink.sandbox.Sandbox, which: str = "client_id", **kw: Any
) -> myqtthub.AsyncClient:
    c = sb.credentials("myqtthub")
    return myqtthub.AsyncClient(
        c[which],
        c["user_name"],
        c["password"],
        base_url=sb.url("myqtthub"),
        ca_file=sb.ca_file,
        **kw,
    )


def test_publish_subscribe_pull_round_trip(
    sb: ferrolink.sandbox.Sandbox, service: MyQttHubService
) -> None:
    async def main() -> None:
        async with make(sb) as publisher, make(sb, "client_id_2") as subscriber:
            assert publisher.logged_in and subscriber.logged_in
            assert await subscriber.subscribe([("a/#", 1)]) is not None
            await publisher.publish("a/1", b"\x00bin\xff", qos=1)
            assert (
                await publisher.publish_many([("a/2", "two"), {"topic": "a/3", "payload": b"3"}])
                == 2
            )
            pulled = await subscriber.pull(wait=2)
            while len(pulled) < 3:
                pulled += await subscriber.pull(wait=2)
            assert [m["payload"] for m in pulled] == [b"\x00bin\xff", b"two", b"3"]
            assert await subscriber.get_subscriptions() == [["a/#", 1]]
        assert not publisher.logged_in and not subscriber.logged_in

    asyncio.run(main())
    paths = [path for path, _, _ in service.journal]
    assert paths.count("/login") == 2 and paths.count("/logout") == 2


def test_token_expiry_and_relogin_before_valid_until(
    sb: ferrolink.sandbox.Sandbox, service: MyQttHubService
) -> None:
    async def main() -> None:
        async with make(sb) as publisher, make(sb, "client_id_2") as subscriber:
            await subscriber.subscribe([("exp/#", 1)])
            service.expire_tokens()
            assert await subscriber.pull() == []  # rejected, logged in again, retried
            assert subscriber.login_count == 2
            assert await subscriber.get_subscriptions() == [["exp/#", 1]]
            await publisher.publish("exp/1", b"after expiry", qos=1)
            assert publisher.login_count == 2
            assert (await subscriber.pull(wait=2))[0]["payload"] == b"after expiry"
            old = publisher.token_id
            publisher.valid_until = time.time() + 1  # within the margin
            service.clear_journal()
            await publisher.publish("t", b"x")
            assert [path for path, _, _ in service.journal] == ["/login", "/publish"]
            assert publisher.token_id != old
            # Many calls at once after expiry: one new login, not one per call.
            service.expire_tokens()
            before = publisher.login_count
            await asyncio.gather(*(publisher.publish("t", str(i)) for i in range(10)))
            assert publisher.login_count == before + 1

    asyncio.run(main())


def test_bad_arguments_and_server_drop(
    sb: ferrolink.sandbox.Sandbox, service: MyQttHubService
) -> None:
    async def main() -> None:
        async with make(sb) as client:
            with pytest.raises(InvalidArgumentError):
                await client.publish("a/+", b"x")
            with pytest.raises(TypeError):
                await client.publish("a", 5)  # type: ignore[arg-type]
            with pytest.raises(InvalidArgumentError):
                await client.subscribe([])
            await client.publish("k", b"1")
            await asyncio.sleep(0.05)  # let the server go idle on the connection
            assert service.close_idle_connections() >= 1
            await client.publish("k", b"2")  # reconnects transparently
            assert "password='***'" in repr(client)
        refused = myqtthub.AsyncClient("a", "b", "c", base_url="https://127.0.0.1:1")
        with pytest.raises(ConnectError):
            await refused.login()
        await refused.aclose()

    asyncio.run(main())


def test_cancel_and_timeout(sb: ferrolink.sandbox.Sandbox, service: MyQttHubService) -> None:
    async def main() -> None:
        async with make(sb, timeout=0.3) as client:
            service.faults.delay = 1.0
            try:
                started = time.monotonic()
                with pytest.raises(TimeoutError):
                    await client.publish("slow", b"x")
                assert time.monotonic() - started < 0.6
                task = asyncio.ensure_future(client.publish("slow", b"y"))
                await asyncio.sleep(0.1)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            finally:
                service.faults.delay = 0.0
            await client.publish("fast", b"z")

    asyncio.run(main())
