"""The MyQttHub part of ``ferrolink demo``: login, subscribe, publish, pull, token recovery."""

from __future__ import annotations

import time
from typing import Any

from ..demo import Report
from ..sandbox import Sandbox
from .client import Client
from .errors import AuthenticationError

__all__ = ["demo"]


def demo(sb: Sandbox, report: Report) -> None:
    creds = sb.credentials("myqtthub")
    url, ca = sb.url("myqtthub"), sb.ca_file
    service: Any = sb.service("myqtthub")
    with (
        Client(
            creds["client_id"], creds["user_name"], creds["password"], base_url=url, ca_file=ca
        ) as sender,
        Client(
            creds["client_id_2"], creds["user_name"], creds["password"], base_url=url, ca_file=ca
        ) as receiver,
    ):
        lifetime = int((sender.valid_until or 0) - time.time())
        report.step("login", f"token valid for {lifetime} s, sent as cookie and in the body")
        granted = receiver.subscribe([("demo/#", 1)])
        report.step("subscribe demo/# at QoS 1", f"granted {granted}")
        sender.publish("demo/binary", bytes(range(256)), qos=1)
        got = receiver.pull()
        report.step(
            "publish bytes, pull them back",
            f"{len(got[0]['payload'])} bytes intact: {got[0]['payload'] == bytes(range(256))}",
        )
        n = 1000
        started = time.perf_counter()
        sender.publish_many([(f"demo/batch/{i}", b"x" * 256, 1) for i in range(n)])
        elapsed = time.perf_counter() - started
        pulled = receiver.pull()
        report.step(
            "publish_many (bodies built in Rust)",
            f"{n} x 256 B in {elapsed * 1000:.0f} ms, {len(pulled)} pulled",
        )
        service.expire_tokens()
        receiver.pull()  # rejected token: logs in again and restores its subscription
        sender.publish("demo/after-expiry", b"still works")
        delivered = receiver.pull()[0]["payload"]
        report.step(
            "tokens expired on the server",
            f"both clients logged in again by themselves; delivered {delivered!r}",
        )
    try:
        wrong = "not-the-password"
        Client(creds["client_id"], creds["user_name"], wrong, base_url=url, ca_file=ca).login()
    except AuthenticationError as exc:
        report.step("wrong password", f"AuthenticationError: {exc.server_message}")
    else:
        raise AssertionError("the sandbox accepted a wrong password")
