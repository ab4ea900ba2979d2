"""The MyQttHub sandbox bridged to a real mosquitto broker; paho-mqtt on the MQTT side."""

from __future__ import annotations

import os
import queue
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import ferrolink.sandbox
from ferrolink import myqtthub
from ferrolink.sandbox.mosquitto import find_mosquitto, mosquitto_broker

mqtt = pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is needed for bridge tests")
pytestmark = pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    with mosquitto_broker() as address:
        yield address


@pytest.fixture(scope="module")
def sb(broker: str) -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["myqtthub"], options={"myqtthub": {"broker": broker}}) as running:
        assert running.service("myqtthub").bridged  # type: ignore[attr-defined]
        yield running


@pytest.fixture
def hub(sb: ferrolink.sandbox.Sandbox) -> Iterator[myqtthub.Client]:
    c = sb.credentials("myqtthub")
    with myqtthub.Client(
        c["client_id"],
        c["user_name"],
        c["password"],
        base_url=sb.url("myqtthub"),
        ca_file=sb.ca_file,
    ) as client:
        yield client


class Subscriber:
    """A plain paho-mqtt client on the broker, collecting what it receives."""

    def __init__(self, broker: str, topic_filter: str, qos: int) -> None:
        host, _, port = broker.rpartition(":")
        self.received: queue.Queue[Any] = queue.Queue()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="paho-" + secrets.token_hex(4)
        )
        subscribed = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=qos)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.received.put(m)
        self.client.connect(host, int(port))
        self.client.loop_start()
        assert subscribed.wait(10), "the paho subscriber got no SUBACK"

    def get(self, timeout: float = 10.0) -> Any:
        return self.received.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def paho(broker: str) -> Iterator[Any]:
    made: list[Subscriber] = []

    def subscribe(topic_filter: str, qos: int = 2) -> Subscriber:
        made.append(Subscriber(broker, topic_filter, qos))
        return made[-1]

    yield subscribe
    for sub in made:
        sub.close()


PAYLOADS = {
    "binary": bytes(range(256)) * 4,
    "empty": b"",
    "one-mib": os.urandom(1024 * 1024),
    "non-utf8": b"\xff\xfe\xc3\x28 caf\xe9 \x80\x00",
}


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_paho_receives_exact_bytes(hub: myqtthub.Client, paho: Any, name: str) -> None:
    topic = f"bridge/bytes/{name}"
    subscriber = paho(topic)
    hub.publish(topic, PAYLOADS[name], qos=1)
    message = subscriber.get()
    assert message.topic == topic
    assert bytes(message.payload) == PAYLOADS[name]


def test_publish_many_reaches_paho_in_order(hub: myqtthub.Client, paho: Any) -> None:
    subscriber = paho("bridge/many/#")
    hub.publish_many([(f"bridge/many/{i}", bytes([i]) * i, 1) for i in range(20)])
    got = [subscriber.get() for _ in range(20)]
    assert [(m.topic, bytes(m.payload)) for m in got] == [
        (f"bridge/many/{i}", bytes([i]) * i) for i in range(20)
    ]


def test_qos_is_honoured(hub: myqtthub.Client, paho: Any) -> None:
    at_most_1 = paho("bridge/qos/#", qos=1)
    at_most_2 = paho("bridge/qos/#", qos=2)
    for qos in (0, 1, 2):
        hub.publish(f"bridge/qos/{qos}", b"q", qos=qos)
    assert [at_most_2.get().qos for _ in range(3)] == [0, 1, 2]
    assert [at_most_1.get().qos for _ in range(3)] == [0, 1, 1]  # min(publish, subscription)


def test_retain_is_honoured(hub: myqtthub.Client, paho: Any) -> None:
    topic = "bridge/retain/" + secrets.token_hex(4)
    hub.publish(topic, b"last known value", qos=1, retain=True)
    late = paho(topic)  # subscribes after the publish: gets the retained copy
    message = late.get()
    assert (bytes(message.payload), message.retain) == (b"last known value", True)
    hub.publish(topic, b"not kept", qos=1)
    later = paho(topic)
    assert bytes(later.get().payload) == b"last known value"  # the non-retained one was not kept
    hub.publish(topic, b"", qos=1, retain=True)  # clears the retained message


def test_paho_publish_comes_back_from_pull(hub: myqtthub.Client, broker: str) -> None:
    assert hub.subscribe([("bridge/up/#", 1)]) == [1]
    host, _, port = broker.rpartition(":")
    publisher = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id="paho-pub-" + secrets.token_hex(4)
    )
    publisher.connect(host, int(port))
    publisher.loop_start()
    try:
        for qos, payload in enumerate([b"\x00\x01binary", b"", "ünïcode".encode()]):
            publisher.publish("bridge/up/device", payload, qos=qos).wait_for_publish(10)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    messages: list[dict[str, Any]] = []
    for _ in range(20):
        messages += hub.pull(wait=2, interval=0.05)
        if len(messages) >= 3:
            break
    assert [(m["topic"], m["payload"], m["qos"]) for m in messages] == [
        ("bridge/up/device", b"\x00\x01binary", 0),
        ("bridge/up/device", b"", 1),
        ("bridge/up/device", "ünïcode".encode(), 1),  # min(2, the subscription's 1)
    ]


def test_token_expiry_in_bridge_mode(
    sb: ferrolink.sandbox.Sandbox, hub: myqtthub.Client, paho: Any
) -> None:
    subscriber = paho("bridge/expiry")
    sb.service("myqtthub").expire_tokens()  # type: ignore[attr-defined]
    hub.publish("bridge/expiry", b"still delivered", qos=1)
    assert bytes(subscriber.get().payload) == b"still delivered"
    assert hub.login_count == 2


def test_the_tutorial_raw_publish_reaches_paho(sb: ferrolink.sandbox.Sandbox, paho: Any) -> None:
    from test_myqtthub_tutorial import login, tutorial_logout, tutorial_publish

    subscriber = paho("bridge/tutorial/#", qos=1)
    session = login(sb, ca_file=sb.ca_file)
    tutorial_publish(session, "bridge/tutorial/raw", 1, b"\x00raw\xff")
    message = subscriber.get()
    assert (message.topic, bytes(message.payload)) == ("bridge/tutorial/raw", b"\x00raw\xff")
    tutorial_logout(session)
