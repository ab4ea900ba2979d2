"""The asyncio EXP runtime against the sandbox, mirroring the sync tests: REST resources,
listen/broadcast, request/respond, cancellation, timeouts and a dropped server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any, Callable, TypeVar

import pytest

from ferrolink import exp
from ferrolink.sandbox import Sandbox
from ferrolink.sandbox.exp import DEVICE_UUID, EXPERIENCE_UUID, LOCATION_UUID, ExpService

pytestmark = pytest.mark.usefixtures("exp_clean")

T = TypeVar("T")


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(main())


def test_rest_resources_awaited(exp_sandbox: Sandbox, exp_options: Any) -> None:
    async def main() -> None:
        async with exp.AsyncExp(**exp_options(exp_sandbox, enable_network=False)) as sdk:
            assert sdk.get_auth()["identity"]["organization"] == "scala"
            devices = await sdk.api.get_devices()
            assert devices.total >= 2
            device = await sdk.api.create_device({"name": "Async Player"})
            device.document.name = "My Device"
            await device.asave()
            stored = await sdk.api.get_device(device.uuid)
            assert stored is not None and stored.document.name == "My Device"
            await stored.arefresh()
            await stored.adelete()
            assert await sdk.api.get_device(device.uuid) is None
            with pytest.raises(exp.UsageError, match="async EXP runtime"):
                stored.save()  # the sync method of a resource of the async runtime
            lobby = await sdk.api.get_device(DEVICE_UUID)
            assert lobby is not None
            location = await lobby.aget_location()
            experience = await lobby.aget_experience()
            assert location is not None and location.uuid == LOCATION_UUID
            assert experience is not None and experience.uuid == EXPERIENCE_UUID
            assert [z.key for z in await lobby.aget_zones()] == ["entrance"]
            assert [d.uuid for d in await experience.aget_devices()] == [DEVICE_UUID]
            assert [t.document["id"] for t in await location.aget_things()] == ["rfid-1"]
            data = await sdk.api.create_data(key="k", group="async", value={"n": 1})
            assert (await sdk.api.get_data("k", "async")).value == {"n": 1}  # type: ignore[union-attr]
            await data.adelete()
            root = (await sdk.api.find_content(name="Demo"))[0]
            assert len(await root.aget_children()) == 4
            with pytest.raises(exp.UsageError, match="cannot be saved"):
                await root.asave()
            with pytest.raises(exp.ApiError) as info:
                await sdk.post("/api/devices", payload=[1, 2])
            assert info.value.status_code == 400
        with pytest.raises(exp.UsageError, match="stopped"):
            await sdk.api.find_devices()

    run(main)


def test_bad_credentials_raise_from_start_and_leave_nothing(
    exp_sandbox: Sandbox, exp_options: Any
) -> None:
    async def main() -> None:
        with pytest.raises(exp.AuthenticationError):
            async with exp.AsyncExp(**exp_options(exp_sandbox, password="wrong")):
                pass  # pragma: no cover - start fails

    run(main)
    assert not [t for t in threading.enumerate() if t.name.startswith("ferrolink-exp")]


@pytest.mark.parametrize("websocket", [True, False])
def test_listen_broadcast_request_respond(
    exp_sandbox: Sandbox, exp_options: Any, websocket: bool
) -> None:
    async def main() -> None:
        async with (
            exp.AsyncExp(**exp_options(exp_sandbox, websocket=websocket)) as a,
            exp.AsyncExp(**exp_options(exp_sandbox, "device", websocket=websocket)) as b,
        ):
            assert a.is_connected and b.is_connected
            listener = await a.get_channel("news").listen("hello")
            await b.get_channel("news").broadcast("hello", {"n": 1})
            await b.get_channel("news").broadcast("hello", {"n": 2})
            got = []
            async for message in listener:
                got.append(message.payload)
                if len(got) == 2:
                    break
            assert got == [{"n": 1}, {"n": 2}]
            assert await listener.wait(0.05) is None
            listener.cancel()

            async def double(payload: Any) -> Any:
                await asyncio.sleep(0)
                return payload * 2

            await b.channels.organization.respond("double", double)
            began = time.monotonic()
            answer = await a.channels.organization.request("double", payload=21, timeout=5)
            assert answer == 42 and time.monotonic() - began < 1.5
            answers = await asyncio.gather(
                *(a.channels.organization.request("double", payload=n, timeout=5) for n in range(5))
            )
            assert answers == [0, 2, 4, 6, 8]

            def broken(payload: Any) -> Any:
                raise LookupError("nothing here")

            await b.channels.organization.respond("double", broken)  # replaces the first
            with pytest.raises(a.channels.organization.Error, match="nothing here"):
                await a.channels.organization.request("double", payload=1, timeout=5)
            with pytest.raises(exp.RequestTimeout):
                await a.channels.organization.request("nobody", timeout=0.2)
            # A sync runtime's responder answers an async requester, and the other way round.
            sync = exp.start(**exp_options(exp_sandbox))
            sync.channels.location_of(LOCATION_UUID).respond("hi", lambda payload: "from sync")
            assert await b.channels.location.request("hi", timeout=5) == "from sync"
            await a.channels.location_of(LOCATION_UUID).respond("hey", lambda payload: "async")
            reply = await asyncio.get_running_loop().run_in_executor(
                None, lambda: sync.channels.location_of(LOCATION_UUID).request("hey", timeout=5)
            )
            assert reply == "async"
            sync.stop()

    run(main)


def test_cancelling_a_request_aborts_it(exp_sandbox: Sandbox, exp_options: Any) -> None:
    async def main() -> None:
        async with exp.AsyncExp(**exp_options(exp_sandbox)) as sdk:
            task = asyncio.ensure_future(sdk.channels.organization.request("silence", timeout=30))
            await asyncio.sleep(0.3)
            task.cancel()
            began = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - began < 1
            # The runtime keeps working after the cancellation.
            assert (await sdk.api.find_devices()).total >= 2

    began = time.monotonic()
    run(main)
    assert time.monotonic() - began < 10  # nothing waited for the 30 s window


def test_iteration_ends_on_stop_and_listen_times_out_offline(
    exp_sandbox: Sandbox, exp_options: Any
) -> None:
    async def main() -> None:
        sdk = await exp.AsyncExp(**exp_options(exp_sandbox)).start()
        listener = await sdk.get_channel("c").listen("n")
        received: list[Any] = []

        async def consume() -> None:
            async for message in listener:
                received.append(message.payload)

        consumer = asyncio.ensure_future(consume())
        await sdk.get_channel("c").broadcast("n", 1)
        while not received:
            await asyncio.sleep(0.01)
        await sdk.stop()
        await asyncio.wait_for(consumer, 5)  # the iteration ended with stop()
        assert received == [1]
        offline = await exp.AsyncExp(**exp_options(exp_sandbox, enable_network=False)).start()
        with pytest.raises(exp.NetworkError, match="Listen timed out"):
            await offline.get_channel("c").listen("n", timeout=0.2)
        await offline.stop()

    run(main)


def test_a_dropped_server_connection_is_recovered(
    exp_sandbox: Sandbox, exp_service: ExpService, exp_options: Any
) -> None:
    async def main() -> None:
        async with exp.AsyncExp(**exp_options(exp_sandbox)) as sdk:
            online = asyncio.Event()
            loop = asyncio.get_running_loop()
            sdk.on("online", lambda: loop.call_soon_threadsafe(online.set))
            listener = await sdk.get_channel("survives").listen("ping")
            connects = sdk.bus.connects
            assert exp_service.drop_sockets() >= 1
            await asyncio.wait_for(online.wait(), 10)
            assert sdk.bus.connects > connects
            assert await sdk._until(lambda: sdk.bus.is_subscribed(listener.channel), 5)
            await sdk.get_channel("survives").broadcast("ping", "after")
            message = await listener.wait(5)
            assert message is not None and message.payload == "after"
            # Tokens invalidated: REST renews once and retries, the caller sees nothing.
            exp_service.invalidate_tokens()
            assert (await sdk.api.find_devices()).total >= 2

    run(main)


def test_an_unreachable_host_raises_network_error(exp_sandbox: Sandbox, exp_options: Any) -> None:
    async def main() -> None:
        options = exp_options(exp_sandbox, host="https://127.0.0.1:9", timeout=2)
        with pytest.raises(exp.NetworkError, match=r"could not connect to https://127\.0\.0\.1:9"):
            await exp.AsyncExp(**options).start()

    run(main)


def test_an_idle_async_client_refreshes_before_expiry(
    exp_sandbox: Sandbox, exp_service: ExpService, exp_options: Any
) -> None:
    exp_service.token_ttl = 1.5

    async def main() -> None:
        async with exp.AsyncExp(**exp_options(exp_sandbox, enable_network=False)) as sdk:
            first = sdk.get_auth()["token"]
            before = exp_service.stats["refresh"]
            await asyncio.sleep(2.5)  # idle well past the first token's lifetime
            assert sdk.get_auth()["token"] != first
            assert exp_service.stats["refresh"] > before
            unauthorized = exp_service.stats["unauthorized"]
            assert await sdk.api.get_device(DEVICE_UUID) is not None
            assert exp_service.stats["unauthorized"] == unauthorized  # no 401 was needed

    run(main)


def test_secrets_stay_out_of_reprs_and_errors(exp_sandbox: Sandbox, exp_options: Any) -> None:
    options = exp_options(exp_sandbox, enable_network=False)

    async def main() -> None:
        sdk = exp.AsyncExp(**options)
        assert options["password"] not in repr(sdk)
        async with sdk:
            token = sdk.get_auth()["token"]
            assert token not in repr(sdk) and token not in repr(sdk.session)
        with pytest.raises(exp.AuthenticationError) as info:
            await exp.AsyncExp(**{**options, "password": "wrong-secret"}).start()
        assert "wrong-secret" not in str(info.value)

    run(main)


def test_responders_run_concurrently_and_may_request(
    exp_sandbox: Sandbox, exp_options: Any
) -> None:
    async def main() -> None:
        async with exp.AsyncExp(**exp_options(exp_sandbox, "device")) as sdk:
            location = sdk.channels.location
            release = asyncio.Event()

            async def slow(payload: Any) -> Any:
                await release.wait()
                return "slow"

            async def outer(payload: Any) -> Any:
                # A nested request, answered by another responder of the same runtime.
                return {"inner": await location.request("inner", payload=payload, timeout=5)}

            await location.respond("slow", slow)
            await location.respond("inner", lambda payload: payload + 1)
            await location.respond("outer", outer)
            blocked = asyncio.ensure_future(location.request("slow", timeout=5))
            began = time.monotonic()
            assert await location.request("outer", payload=1, timeout=5) == {"inner": 2}
            assert time.monotonic() - began < 1.5 and not blocked.done()
            release.set()
            assert await blocked == "slow"

    run(main)


def test_an_unread_listener_keeps_only_fresh_messages(
    exp_sandbox: Sandbox, exp_options: Any
) -> None:
    async def main() -> None:
        async with exp.AsyncExp(**exp_options(exp_sandbox)) as sdk:
            channel = sdk.get_channel("fresh")
            listener = await channel.listen("n", max_age=0.3)
            for n in range(3):
                await channel.broadcast("n", n)
            await asyncio.sleep(0.6)  # all three are now older than max_age
            await channel.broadcast("n", "new")
            message = await listener.wait(5)
            assert message is not None and message.payload == "new"
            assert len(listener._buffer) == 0

    run(main)


def test_on_uvloop(exp_sandbox: Sandbox, exp_options: Any) -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> None:
        async with (
            exp.AsyncExp(**exp_options(exp_sandbox)) as a,
            exp.AsyncExp(**exp_options(exp_sandbox, "device")) as b,
        ):
            await b.channels.location.respond("add", lambda payload: payload + 1)
            assert await a.channels.location_of(LOCATION_UUID).request("add", payload=1) == 2
            listener = await a.get_channel("uv").listen("n")
            await b.get_channel("uv").broadcast("n", 5)
            message = await listener.wait(5)
            assert message is not None and message.payload == 5
            task = asyncio.ensure_future(a.channels.organization.request("none", timeout=30))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    uvloop.run(main())
