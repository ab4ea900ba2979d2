"""The iDigi part of ``ferrolink demo``: monitors, push events over TLS, acks, reconnect."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any, Callable

from ..demo import Report
from ..http import Client
from ..sandbox import Sandbox
from . import push_client

__all__ = ["demo"]


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.01)


def demo(sb: Sandbox, report: Report) -> None:
    svc: Any = sb.service("idigi")
    cred = sb.credentials("idigi")
    rest = sb.url("idigi", "https") + "/ws"
    token = base64.b64encode(f"{cred['username']}:{cred['password']}".encode()).decode()
    auth = {"Authorization": "Basic " + token}
    with (
        push_client(
            cred["username"],
            cred["password"],
            hostname=svc.rest_hostport,
            ca_certs=sb.ca_file,
            push_port=svc.push_tls_port,
            backoff_initial=0.05,
        ) as client,
        Client(ca_file=sb.ca_file) as http,
    ):
        topics = ["DeviceCore", "DataPoint", "FileData"]
        old = client.get_monitor(topics)
        if old is not None:
            client.delete_monitor(old)
        mid = client.create_monitor(topics, compression="gzip", ack="explicit", description="demo")
        report.step(
            "create monitor",
            f"id {mid}, {client.get_monitor_info(mid)['monCompression']} payloads, explicit acks",
        )

        events: list[dict[str, Any]] = []
        lock = threading.Lock()

        def json_cb(data: str) -> bool:
            with lock:
                events.append(json.loads(data)["Document"]["Msg"])
            return True

        client.create_session(json_cb, mid)
        _wait(lambda: svc.connected(mid), "the push session")
        report.step("push session over TLS", "ConnectRequest accepted, hostname verified")

        http.post(f"{rest}/DataPoint/temp", json={"data": "21.5"}, headers=auth)
        http.post(f"{rest}/DeviceCore/00000000-00409DFF/connect", headers=auth)
        http.put(f"{rest}/FileData/~/00000000-00409DFF/trace.log", body=b"hello log", headers=auth)
        _wait(lambda: len(events) == 3, "three events")
        kinds = ", ".join(e["topic"].split("/")[1] for e in events)
        report.step("events from REST calls", kinds)
        _wait(lambda: svc.outstanding(mid) == 0, "acks")
        report.step("explicit acks", f"{len(svc.acks())} x 10-byte PublishMessageReceived")

        report.note("injecting a fault: the server drops the push connection mid-frame")
        svc.faults.drop_mid_frame = 1
        svc.publish("DataPoint", "INSERTION", ("temp",), {"data": "22.0"})
        _wait(lambda: len(events) == 4, "the re-delivered event")
        svc.faults.reset()
        report.step(
            "expected reconnect after the fault", "back-off, then the block re-delivered once"
        )

        started = time.monotonic()
        client.stop_all()
        client.delete_monitor(mid)
        report.step("stop_all + delete", f"{(time.monotonic() - started) * 1000:.0f} ms")
