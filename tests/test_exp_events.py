"""EXP event bus against the sandbox: listen/broadcast, request/respond, fling, reconnects."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any, Callable

import pytest

import ferrolink.sandbox
from ferrolink import exp
from ferrolink.sandbox import Sandbox
from ferrolink.sandbox.exp import ExpService

pytestmark = pytest.mark.usefixtures("exp_clean")


def exp_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ferrolink-exp")]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


@pytest.fixture(params=["websocket", "polling"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def start(
    exp_options: Any, sb: Sandbox, who: str = "user", transport: str = "websocket", **kw: Any
) -> exp.Exp:
    instance = exp.start(**exp_options(sb, who, websocket=transport == "websocket", **kw))
    assert instance.is_connected and instance.bus.transport == transport
    return instance


def test_listen_and_broadcast_between_two_runtimes(
    exp_sandbox: Sandbox, transport: str, exp_options: Any
) -> None:
    a = start(exp_options, exp_sandbox, transport=transport)
    b = start(exp_options, exp_sandbox, "device", transport=transport)
    listener = a.get_channel("news").listen("hello")
    got: queue.Queue[Any] = queue.Queue()
    b.get_channel("news").listen("hello", callback=lambda msg: got.put(msg.payload))
    b.get_channel("news").broadcast("hello", {"n": 1})
    message = listener.wait(5)
    assert message is not None and message.payload == {"n": 1} and message.name == "hello"
    assert got.get(timeout=5) == {"n": 1}  # the sender hears itself too
    assert listener.wait(0) is None
    a.get_channel("news").broadcast("other-name", 1)
    b.get_channel("elsewhere").broadcast("hello", 2)
    assert listener.wait(0.3) is None  # name and channel both filter
    listener.cancel()
    a.stop()
    b.stop()


def test_request_and_respond_between_two_runtimes(
    exp_sandbox: Sandbox, transport: str, exp_options: Any
) -> None:
    requester = start(exp_options, exp_sandbox, transport=transport)
    responder = start(exp_options, exp_sandbox, "consumer", transport=transport)

    def get_something(payload: Any = None) -> Any:
        return {"got": payload, "answer": "Something"}

    responder.channels.location.respond("getSomething", get_something)
    answer = requester.channels.location.request(
        "getSomething", target={"device": "x"}, payload={"info": 123}, timeout=1
    )
    assert answer == {"got": {"info": 123}, "answer": "Something"}

    def failing(payload: Any = None) -> Any:
        raise KeyError("no such thing")

    responder.channels.location.respond("getSomething", failing)  # replaces the first
    with pytest.raises(requester.channels.location.Error, match="no such thing"):
        requester.channels.location.request("getSomething", timeout=1)
    with pytest.raises(exp.channels.location.Timeout, match="nobody"):
        requester.channels.location.request("nobody", timeout=0.3)
    requester.stop()
    responder.stop()


def test_fling_reaches_a_listener(exp_sandbox: Sandbox, exp_options: Any) -> None:
    player = start(exp_options, exp_sandbox, "device")
    remote = start(exp_options, exp_sandbox)
    flung: queue.Queue[Any] = queue.Queue()
    player.channels.organization.listen("fling", flung.put)
    remote.channels.organization.fling("content-uuid-1")
    assert flung.get(timeout=5) == {
        "uuid": "content-uuid-1",
        "appTemplate": {"uuid": "content-uuid-1"},
    }
    player.stop()
    remote.stop()


def test_module_level_api_as_in_the_seed(exp_sandbox: Sandbox, exp_options: Any) -> None:
    events: queue.Queue[str] = queue.Queue()
    exp.runtime.on("online", lambda: events.put("online"))
    exp.runtime.on("offline", lambda _=None: events.put("offline"))
    try:
        exp.runtime.start(**exp_options(exp_sandbox))
        assert events.get(timeout=5) == "online"
        devices = exp.api.get_devices()
        devices[0].document["name"] = "My Device"
        devices[0].save()
        assert exp.api.get_device(devices[0].uuid).name == "My Device"  # type: ignore[union-attr]
        heard: queue.Queue[Any] = queue.Queue()
        exp.channels.experience.listen(name="Hi!", callback=heard.put)
        exp.channels.experience.broadcast(name="Hi!", payload={})
        assert heard.get(timeout=5) == {}
        exp.channels.system.listen("update", heard.put)
        exp.runtime.stop()
        assert events.get(timeout=5) == "offline"
    finally:
        exp.runtime._pending.clear()
        exp.runtime.stop()


def test_online_offline_and_resubscribe_after_forced_reconnect(
    exp_sandbox: Sandbox, exp_service: ExpService, transport: str, exp_options: Any
) -> None:
    a = start(exp_options, exp_sandbox, transport=transport)
    b = start(exp_options, exp_sandbox, "device", transport=transport)
    online = threading.Semaphore(0)
    offline = threading.Semaphore(0)
    a.on("online", lambda: online.release())
    a.on("offline", lambda arg: offline.release())
    listener = a.get_channel("survives").listen("ping")
    assert exp_service.drop_sockets() >= 2
    assert offline.acquire(timeout=5)
    assert online.acquire(timeout=10)  # reconnected on its own, no token refresh involved
    wait_for(lambda: b.is_connected)
    wait_for(lambda: a.bus.wait_subscribed(listener.channel, 0))
    assert a.bus.connects >= 2 and a.is_connected
    b.get_channel("survives").broadcast("ping", "after")
    message = listener.wait(5)
    assert message is not None and message.payload == "after"
    a.stop()
    b.stop()


def test_token_expiry_is_transparent_to_listeners(
    exp_sandbox: Sandbox, exp_service: ExpService, exp_options: Any
) -> None:
    a = start(exp_options, exp_sandbox)
    listener = a.get_channel("tokens").listen("tick")
    old = a.get_auth()["token"]
    exp_service.invalidate_tokens()
    exp_service.drop_sockets()
    # The socket handshake gets 401, renews the token (login again) and resubscribes.
    wait_for(lambda: a.get_auth()["token"] != old and a.is_connected)
    wait_for(lambda: a.bus.wait_subscribed(listener.channel, 0))
    a.get_channel("tokens").broadcast("tick", 1)
    message = listener.wait(5)
    assert message is not None and message.payload == 1
    a.stop()


def test_refresh_rebuilds_the_socket_with_the_new_token(
    exp_sandbox: Sandbox, exp_service: ExpService, exp_options: Any
) -> None:
    exp_service.token_ttl = 1.5
    a = start(exp_options, exp_sandbox)
    listener = a.get_channel("refresh").listen("tick")
    connects = a.bus.connects
    wait_for(lambda: a.bus.connects > connects and a.is_connected, timeout=5)
    wait_for(lambda: a.bus.wait_subscribed(listener.channel, 0))
    a.get_channel("refresh").broadcast("tick", 2)
    message = listener.wait(5)
    assert message is not None and message.payload == 2
    a.stop()


def test_malformed_server_frames_are_reported_clearly(
    exp_sandbox: Sandbox,
    exp_service: ExpService,
    caplog: pytest.LogCaptureFixture,
    exp_options: Any,
) -> None:
    caplog.set_level(logging.WARNING, logger="ferrolink.exp")
    a = start(exp_options, exp_sandbox)
    listener = a.get_channel("robust").listen("x")
    exp_service.inject_packet('42{"not":"an array"}')
    exp_service.inject_packet("9what")
    exp_service.inject_packet('42["broadcast","not an object"]')
    wait_for(lambda: len(a.bus.protocol_errors) >= 3)
    assert "malformed data" in caplog.text and "not [name, ...]" in caplog.text
    assert "unknown packet type" in caplog.text
    a.get_channel("robust").broadcast("x", "still fine")  # the bus keeps working
    message = listener.wait(5)
    assert message is not None and message.payload == "still fine"
    a.stop()


def test_listen_while_offline_times_out_with_network_error(
    exp_sandbox: Sandbox, exp_options: Any
) -> None:
    offline = exp.start(**exp_options(exp_sandbox, enable_network=False))
    with pytest.raises(exp.NetworkError, match="Listen timed out"):
        offline.get_channel("c").listen("n", timeout=0.2)
    offline.stop()


def test_polling_only_server(exp_sandbox: Sandbox, exp_options: Any) -> None:
    with ferrolink.sandbox.start(["exp"], options={"exp": {"polling_only": True}}) as sb:
        a = exp.start(**exp_options(sb))
        assert a.bus.transport == "polling"
        listener = a.get_channel("p").listen("n")
        a.get_channel("p").broadcast("n", [1, 2])
        message = listener.wait(5)
        assert message is not None and message.payload == [1, 2]
        a.stop()


def test_stop_ends_every_thread_promptly(
    exp_sandbox: Sandbox, transport: str, exp_options: Any
) -> None:
    a = start(exp_options, exp_sandbox, transport=transport)
    a.get_channel("c").listen("n", callback=lambda m: None)
    assert exp_threads()
    a.stop()
    assert not [t for t in exp_threads() if t.name != "ferrolink-exp-online"]
    with pytest.raises(exp.UsageError):
        a.get_channel("c")


def test_a_packet_nested_too_deeply_is_skipped_without_a_reconnect(
    exp_sandbox: Sandbox, exp_service: ExpService, transport: str, exp_options: Any
) -> None:
    a = start(exp_options, exp_sandbox, transport=transport)
    listener = a.get_channel("deep").listen("x")
    connects = a.bus.connects
    exp_service.inject_packet("42" + "[" * 5000 + "]" * 5000)
    wait_for(lambda: any("nested too deeply" in e for e in a.bus.protocol_errors))
    a.get_channel("deep").broadcast("x", "after")
    message = listener.wait(5)
    assert message is not None and message.payload == "after"
    assert a.bus.connects == connects  # logged and skipped: the connection stayed up
    a.stop()
