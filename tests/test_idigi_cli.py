"""``ferrolink idigi push`` driven as a subprocess against the sandbox."""

from __future__ import annotations

import io
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

import ferrolink.sandbox
from ferrolink import demo
from ferrolink.idigi import push_client
from ferrolink.sandbox.idigi import IdigiService


def test_cli_push_replaces_monitor_prints_events_and_cleans_up() -> None:
    with ferrolink.sandbox.start(["idigi"]) as sb:
        svc = sb.service("idigi")
        assert isinstance(svc, IdigiService)
        with push_client(
            svc.username, svc.password, hostname=svc.rest_hostport, ca_certs=sb.ca_file
        ) as c:
            stale = c.create_monitor(["DeviceCore", "DataPoint"], batch_size=9)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ferrolink",
                "idigi",
                "push",
                svc.username,
                svc.password,
                "--topics",
                "DeviceCore,DataPoint",
                "--host",
                svc.rest_hostport,
                "--ca-file",
                sb.ca_file,
                "--push-port",
                str(svc.push_tls_port),
                "-d",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(
            target=lambda: [lines.put(x) for x in proc.stdout or ()], daemon=True
        )
        reader.start()
        output: list[str] = []

        def read_until(needle: str, timeout: float = 15.0) -> None:
            deadline = time.monotonic() + timeout
            while not any(needle in line for line in output):
                assert time.monotonic() < deadline, f"{needle!r} not in {''.join(output)}"
                try:
                    output.append(lines.get(timeout=0.1))
                except queue.Empty:
                    assert proc.poll() is None, "".join(output)

        try:
            read_until("Session connected")
            assert f"Deleting existing monitor {stale}" in "".join(output)
            (mid,) = svc.monitor_ids()
            assert svc.monitor(mid)["monCompression"] == "zlib"
            assert svc.monitor(mid)["monBatchDuration"] == "0"
            svc.publish(
                "DeviceCore", "UPDATE", ("1001",), {"devConnectwareId": "00000000-00409DFF"}
            )
            read_until('"devConnectwareId": "00000000-00409DFF"')
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=15) == 0
            reader.join(5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            reader.join(5)
            assert proc.stdout is not None
            proc.stdout.close()
        while not lines.empty():
            output.append(lines.get())
        text = "".join(output)
        assert "Closing Sessions and Cleaning Up." in text and "Done" in text
        assert "Data Received {" in text
        assert svc.password not in text
        assert svc.monitor_ids() == []  # the monitor was deleted on the way out


def test_demo_announces_the_fault_and_logs_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo, "DEMOS", {"idigi": "ferrolink.idigi.demo:demo"})
    out = io.StringIO()
    assert demo.run(out) == 0
    text = out.getvalue()
    assert "..  injecting a fault: the server drops the push connection mid-frame" in text
    assert "ok  expected reconnect after the fault" in text
    assert capsys.readouterr().err == "", "the reconnect's warnings are held while it passes"
