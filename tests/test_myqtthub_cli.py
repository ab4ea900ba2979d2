"""``ferrolink myqtthub publish`` / ``pull`` against the sandbox."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ferrolink.sandbox
from ferrolink.cli import main
from ferrolink.sandbox.mosquitto import find_mosquitto, mosquitto_broker

CLI = [sys.executable, "-m", "ferrolink"]


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["myqtthub"]) as running:
        yield running


def args(sb: ferrolink.sandbox.Sandbox, which: str) -> list[str]:
    c = sb.credentials("myqtthub")
    return [
        "--url",
        sb.url("myqtthub"),
        "--ca-file",
        sb.ca_file,
        "--client-id",
        c[which],
        "--user",
        c["user_name"],
    ]


def test_publish_then_pull(
    sb: ferrolink.sandbox.Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MYQTTHUB_PASSWORD", sb.credentials("myqtthub")["password"])
    # a durable session keeps the subscription and queue between the two CLI runs
    pull = [
        "myqtthub",
        "pull",
        *args(sb, "client_id_2"),
        "--no-clean-session",
        "--subscribe",
        "cli/#:1",
    ]
    assert main(pull) == 0
    assert capsys.readouterr().out == ""
    publish = [
        "myqtthub",
        "publish",
        *args(sb, "client_id"),
        "cli/t",
        "héllo",
        "--qos",
        "1",
    ]
    assert main(publish) == 0
    assert "published 6 bytes to cli/t" in capsys.readouterr().err
    assert main(pull) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {
        "topic": "cli/t",
        "payload": "héllo",
        "qos": 1,
        "retain": False,
        "dup": False,
    }


def test_wrong_password(
    sb: ferrolink.sandbox.Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MYQTTHUB_PASSWORD", "definitely-not-it")
    assert main(["myqtthub", "publish", *args(sb, "client_id"), "cli/t", "x"]) == 1
    err = capsys.readouterr().err
    assert "Service denied" in err and "definitely-not-it" not in err
    assert main(["myqtthub", "publish", *args(sb, "client_id"), "cli/#", "x"]) == 2
    assert "wildcards" in capsys.readouterr().err


@pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")
def test_sandbox_myqtthub_broker_bridges_cli_publishes(tmp_path: Path) -> None:
    import paho.mqtt.client as mqtt

    state_file = tmp_path / "state.json"
    env = {**os.environ, "FERROLINK_SANDBOX_STATE": str(state_file), "PYTHONUNBUFFERED": "1"}
    with mosquitto_broker() as broker:
        host, _, port = broker.rpartition(":")
        received: queue.Queue[Any] = queue.Queue()
        subscribed = threading.Event()
        paho = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        paho.on_connect = lambda c, *_: c.subscribe("bridge/#", qos=1)
        paho.on_subscribe = lambda *_: subscribed.set()
        paho.on_message = lambda _c, _u, m: received.put(m)
        paho.connect(host, int(port))
        paho.loop_start()
        sandbox = subprocess.Popen(
            [*CLI, "sandbox", "myqtthub", "--myqtthub-broker", broker],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            assert subscribed.wait(10)
            deadline = time.monotonic() + 60
            while not state_file.exists():
                assert time.monotonic() < deadline and sandbox.poll() is None
                time.sleep(0.1)
            published = subprocess.run(
                [*CLI, "myqtthub", "publish", "--sandbox", "bridge/t", "over mqtt"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert published.returncode == 0, published.stderr
            message = received.get(timeout=10)
            assert (message.topic, message.payload) == ("bridge/t", b"over mqtt")
        finally:
            sandbox.terminate()
            assert sandbox.wait(timeout=20) == 0
            paho.disconnect()
            paho.loop_stop()
