"""EXP request/respond as the original SDK documents it: early answers, concurrent listener
callbacks, nested calls, and users addressing the channels of a device's experience or
location."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable

import pytest

from ferrolink import exp
from ferrolink.sandbox import Sandbox
from ferrolink.sandbox.exp import EXPERIENCE_UUID, LOCATION_UUID

pytestmark = pytest.mark.usefixtures("exp_clean")

# The response window of the requests below: long enough that waiting it out is obvious.
WINDOW = 4.0


@pytest.fixture(params=["websocket", "polling"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def started(exp_options: Any, sb: Sandbox, who: str = "user", **kw: Any) -> exp.Exp:
    instance = exp.start(**exp_options(sb, who, **kw))
    assert instance.is_connected
    return instance


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    began = time.monotonic()
    result = call()
    return result, time.monotonic() - began


def test_request_returns_as_soon_as_a_ferrolink_responder_answers(
    exp_sandbox: Sandbox, exp_options: Any, transport: str
) -> None:
    websocket = transport == "websocket"
    requester = started(exp_options, exp_sandbox, websocket=websocket)
    responder = started(exp_options, exp_sandbox, "device", websocket=websocket)
    responder.channels.organization.respond("double", lambda payload: payload * 2)
    # The requester has no listener of its own on the channel.
    answer, took = timed(
        lambda: requester.channels.organization.request(
            name="double", target={"device": "x"}, payload=21, timeout=WINDOW
        )
    )
    assert answer == 42 and took < 1.5
    # Each request gets its own answer, also when several are in flight at once.
    answers: queue.Queue[Any] = queue.Queue()
    callers = [
        threading.Thread(
            target=lambda n=n: answers.put(
                (n, requester.channels.organization.request("double", payload=n, timeout=WINDOW))
            )
        )
        for n in range(5)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(WINDOW + 2)
    assert sorted(answers.get_nowait() for _ in range(5)) == [(n, 2 * n) for n in range(5)]

    def broken(payload: Any = None) -> Any:
        raise LookupError("nothing here")

    responder.channels.organization.respond("double", broken)
    with pytest.raises(exp.channels.organization.Error, match="nothing here"):
        requester.channels.organization.request("double", payload=1, timeout=WINDOW)
    requester.stop()
    responder.stop()


def test_a_5_0_responder_still_answers_through_the_held_open_post(
    exp_sandbox: Sandbox, exp_options: Any
) -> None:
    requester = started(exp_options, exp_sandbox)
    old = started(exp_options, exp_sandbox, "device")
    # What a 5.0 responder does: listen, then POST the answer to /responses, nothing else.
    asks = old.get_channel("organization").listen("getSomething")

    def answer_like_5_0() -> None:
        ask = asks.wait(5)
        assert ask is not None
        old.post(
            "/api/networks/current/responses",
            {"id": ask.id, "channel": ask.channel, "payload": {"got": ask.payload}},
        )

    responder = threading.Thread(target=answer_like_5_0)
    responder.start()
    answer, took = timed(
        lambda: requester.channels.organization.request("getSomething", payload=1, timeout=1)
    )
    responder.join(5)
    assert answer == {"got": 1} and took >= 0.9  # the answer came with the closed window
    requester.stop()
    old.stop()


def test_a_requester_without_the_event_bus_gets_the_answer_from_the_post(
    exp_sandbox: Sandbox, exp_options: Any
) -> None:
    responder = started(exp_options, exp_sandbox, "device")
    responder.channels.organization.respond("ping", lambda payload: "pong")
    offline = exp.start(**exp_options(exp_sandbox, enable_network=False))
    assert offline.channels.organization.request("ping", timeout=0.5) == "pong"
    with pytest.raises(exp.RequestTimeout):
        offline.channels.organization.request("nobody answers this", timeout=0.2)
    offline.stop()
    responder.stop()


def test_a_callback_can_request_from_a_responder_on_the_same_runtime(
    exp_sandbox: Sandbox, exp_options: Any
) -> None:
    sdk = started(exp_options, exp_sandbox, "device")
    channels = sdk.channels
    channels.location.respond("inner", lambda payload: {"inner": payload})
    results: queue.Queue[Any] = queue.Queue()

    def outer(payload: Any = None) -> None:
        try:
            results.put(channels.location.request("inner", payload=payload, timeout=WINDOW))
        except Exception as exc:
            results.put(exc)

    channels.location.listen("outer", outer)
    began = time.monotonic()
    channels.location.broadcast("outer", 7)
    assert results.get(timeout=WINDOW + 2) == {"inner": 7}
    assert time.monotonic() - began < 1.5
    sdk.stop()


def test_listener_callbacks_run_concurrently_each_in_order(
    exp_sandbox: Sandbox, exp_options: Any
) -> None:
    sdk = started(exp_options, exp_sandbox)
    channel = sdk.channels.organization
    release = threading.Event()
    seen: queue.Queue[tuple[str, Any]] = queue.Queue()

    def slow(payload: Any = None) -> None:
        seen.put(("slow", payload))
        release.wait(10)  # blocks until the test lets it go

    def in_order(payload: Any = None) -> None:
        seen.put(("ordered", payload))

    def busy(payload: Any = None) -> None:
        # A callback may broadcast and call the REST API.
        channel.broadcast("echo", payload)
        device = sdk.api.get_device(payload)
        seen.put(("busy", device.uuid if device else None))

    channel.listen("slow", slow)
    channel.listen("ordered", in_order)
    channel.listen("busy", busy)
    channel.listen("echo", lambda payload: seen.put(("echo", payload)))
    channel.broadcast("slow", 0)
    assert seen.get(timeout=5) == ("slow", 0)
    for n in range(20):
        channel.broadcast("ordered", n)
    device_uuid = sdk.api.find_devices()[0].uuid
    channel.broadcast("busy", device_uuid)
    got = [seen.get(timeout=5) for _ in range(22)]  # all while `slow` is still blocked
    assert [p for kind, p in got if kind == "ordered"] == list(range(20))
    assert ("echo", device_uuid) in got and ("busy", device_uuid) in got
    assert not release.is_set()
    release.set()
    sdk.stop()
    assert not [t for t in threading.enumerate() if t.name == "ferrolink-exp-listener"]


def test_listener_threads_are_one_per_busy_listener(exp_sandbox: Sandbox, exp_options: Any) -> None:
    sdk = started(exp_options, exp_sandbox)
    channel = sdk.channels.organization
    done = threading.Semaphore(0)
    channel.listen("many", lambda payload: done.release())
    for n in range(50):
        channel.broadcast("many", n)
    for _ in range(50):
        assert done.acquire(timeout=5)
    workers = [t for t in threading.enumerate() if t.name == "ferrolink-exp-listener"]
    assert len(workers) <= 1
    sdk.stop()


def test_a_user_binds_the_fixed_channels_to_a_devices_experience_and_location(
    exp_sandbox: Sandbox, exp_options: Any
) -> None:
    # The sandbox device belongs to EXPERIENCE_UUID and LOCATION_UUID.
    device = started(exp_options, exp_sandbox, "device")
    device.channels.experience.respond("sendMeMoney", lambda payload: "on its way")
    device.channels.location.respond("getSomething", lambda payload: "Something")
    user = started(exp_options, exp_sandbox, experience=EXPERIENCE_UUID)
    assert user.channels.experience.request("sendMeMoney", timeout=WINDOW) == "on its way"
    location = user.api.get_location(LOCATION_UUID)
    bound = user.channels.location_of(location)
    assert repr(bound) == f"<exp.channels.location {LOCATION_UUID}>"
    assert bound.request("getSomething", timeout=WINDOW) == "Something"
    by_uuid = user.channels.experience_of(EXPERIENCE_UUID)
    assert by_uuid.request(name="sendMeMoney", target=None, payload={}, timeout=WINDOW)
    # Unbound, a user's fixed channel is a different channel from the device's.
    other = started(exp_options, exp_sandbox)
    with pytest.raises(exp.RequestTimeout):
        other.channels.location.request("getSomething", timeout=0.3)
    with pytest.raises(exp.UsageError, match="uuid"):
        user.channels.experience_of(None)
    with pytest.raises(exp.UsageError, match="uuid"):
        exp.start(**exp_options(exp_sandbox, location=42))
    for instance in (device, user, other):
        instance.stop()


def test_the_original_module_level_flow_with_a_bound_experience(
    exp_sandbox: Sandbox, exp_options: Any
) -> None:
    device = started(exp_options, exp_sandbox, "device")
    device.channels.experience.respond("sendMeMoney", lambda payload: {"sent": payload})
    try:
        exp.runtime.start(**exp_options(exp_sandbox, experience=EXPERIENCE_UUID))
        devices = exp.api.get_devices()
        devices[0].document.name = "My Device"
        devices[0].save()
        assert exp.api.get_device(devices[0].uuid).document["name"] == "My Device"  # type: ignore[union-attr]
        exp.channels.organization.broadcast(name="I changed a device!")
        response, took = timed(
            lambda: exp.channels.experience.request(
                name="sendMeMoney", target={"device": devices[0].document["uuid"]}, payload=5
            )
        )
        assert response == {"sent": 5} and took < 1.5
    finally:
        exp.runtime.stop()
        device.stop()
    # The default 10 s window's POST was aborted on the answer: nothing is left running.
    assert not [t for t in threading.enumerate() if t.name == "ferrolink-exp-requests"]
