"""The sandbox runner, the shipped pytest fixture and the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ferrolink
import ferrolink.sandbox
from ferrolink.http import Client

CLI = [sys.executable, "-m", "ferrolink"]


def test_start_exposes_urls_ca_and_stops_cleanly() -> None:
    with ferrolink.sandbox.start(["echo"]) as sb:
        assert Path(sb.ca_file).read_text().startswith("-----BEGIN CERTIFICATE-----")
        https, http = sb.url("echo", "https"), sb.url("echo", "http")
        assert https.startswith("https://127.0.0.1:") and http.startswith("http://127.0.0.1:")
        with Client(ca_file=sb.ca_file, trust_env=False) as c:
            assert c.get(https + "/echo").status == 200
            assert c.get(http + "/echo").status == 200
        assert "echo" in sb.summary()
        directory = sb.directory
    assert not directory.exists(), "the throwaway CA directory is removed on stop"


def test_unknown_service_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown sandbox service 'nope'"):
        ferrolink.sandbox.start(["nope"])


def test_missing_service_lookup(echo_sandbox: ferrolink.sandbox.Sandbox) -> None:
    with pytest.raises(KeyError, match="not running"):
        echo_sandbox.url("hexonet-not-started")
    with pytest.raises(KeyError, match="no 'ws' endpoint"):
        echo_sandbox.url("echo", "ws")


def test_shipped_pytest_fixture(ferrolink_sandbox: ferrolink.sandbox.Sandbox) -> None:
    assert "echo" in ferrolink_sandbox.services
    with Client(ca_file=ferrolink_sandbox.ca_file, trust_env=False) as c:
        assert c.get(ferrolink_sandbox.url("echo") + "/echo").json()["method"] == "GET"


def test_cli_version() -> None:
    out = subprocess.run([*CLI, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"ferrolink {ferrolink.__version__}"


def test_cli_sandbox_runs_until_interrupted(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    process = subprocess.Popen(
        [*CLI, "sandbox", "echo", "--state-file", str(state_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if " https " in line:
                break
        url = lines[-1].split()[-1]
        ca_file = next(line for line in lines if line.startswith("CA file")).split()[-1]
        assert state_file.exists()
        with Client(ca_file=ca_file, trust_env=False) as c:
            assert c.get(url + "/echo").status == 200
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=15)
        assert process.returncode == 0
        assert "sandbox stopped" in out
        assert not state_file.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_fixed_ports_and_state_of_an_in_process_sandbox() -> None:
    from ferrolink.sandbox.ports import free_port
    from ferrolink.sandbox.state import State

    base = free_port()  # the echo listeners sit at base+45 and base+46
    with ferrolink.sandbox.start(["echo"], port_base=base - 45) as sb:
        assert sb.url("echo", "https") == f"https://127.0.0.1:{base}"
        state = State.of(sb)
        assert state.port("echo", "http") == base + 1
        assert state.url("echo") == sb.url("echo")
        assert state.credentials("echo") == {}
        with pytest.raises(ferrolink.sandbox.ports.PortInUseError, match=f"port {base} "):
            ferrolink.sandbox.start(["echo"], port_base=base - 45)


def test_cli_without_command_prints_help() -> None:
    out = subprocess.run(CLI, capture_output=True, text=True)
    assert out.returncode == 2
    assert "demo" in out.stdout and "sandbox" in out.stdout


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET / SPDY/3\r\n\r\n", b"400"),
        (b"GET /echo HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (b"GET /echo HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
        (b"GET /echo HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", b"431"),
    ],
)
def test_emulator_server_rejects_malformed_requests(
    echo_sandbox: ferrolink.sandbox.Sandbox, raw: bytes, status: bytes
) -> None:
    import socket

    host, port = echo_sandbox.url("echo", "http").rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(raw)
        reply = sock.recv(4096)
    assert reply.split(b" ", 2)[1] == status, reply[:80]


def test_sandbox_certificates_pass_strict_x509_verification(
    echo_sandbox: ferrolink.sandbox.Sandbox,
) -> None:
    # Python 3.13+ turns VERIFY_X509_STRICT on by default; stdlib-based clients (the original
    # SDKs among them) must accept the sandbox's certificates on every Python version.
    import http.client
    import ssl
    from urllib.parse import urlsplit

    context = ssl.create_default_context(cafile=echo_sandbox.ca_file)
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    parts = urlsplit(echo_sandbox.url("echo", "https"))
    conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, context=context)
    try:
        conn.request("GET", "/echo")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_state_file_round_trip_dead_pid_and_bad_files(tmp_path: Path) -> None:
    import json

    from ferrolink.sandbox import state

    path = tmp_path / "new-dir" / "state.json"
    with ferrolink.sandbox.start(["echo"]) as sb:
        current = state.State.of(sb)
        current.write(path)
        assert state.read(path) == current
        path.write_text(json.dumps(dict(current.to_json(), pid=2**22 + 1)))
        assert state.read(path) is None, "a sandbox whose pid is gone counts as absent"
        for bad in ("{", json.dumps({"version": 2}), json.dumps({"version": 1, "pid": 1})):
            path.write_text(bad)
            with pytest.raises(state.StateFileError, match="is not valid"):
                state.read(path)
        current.write(path)
        current.remove(path)
        assert not path.exists()
    assert state.read(tmp_path / "absent.json") is None


def test_state_file_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ferrolink.sandbox import state

    monkeypatch.delenv(state.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert state.resolve() == tmp_path / "ferrolink" / "sandbox.json"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert state.resolve() == Path.home() / ".local" / "state" / "ferrolink" / "sandbox.json"
    monkeypatch.setenv(state.ENV_VAR, str(tmp_path / "x.json"))
    assert state.resolve() == tmp_path / "x.json"
    assert state.resolve(tmp_path / "y.json") == tmp_path / "y.json"
