"""HTTPS through a real forward proxy (tinyproxy from the OS packages), CONNECT tunnelling."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import ferrolink.sandbox
from ferrolink import errors
from ferrolink.http import Client
from ferrolink.sandbox.ports import free_port, wait_for_port

TINYPROXY = shutil.which("tinyproxy") or (
    "/usr/bin/tinyproxy" if Path("/usr/bin/tinyproxy").exists() else None
)


@pytest.fixture
def tinyproxy(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if TINYPROXY is None:
        pytest.fail("tinyproxy is not installed (scripts/test.sh installs it)")
    port = free_port()
    log = tmp_path / "tinyproxy.log"
    config = tmp_path / "tinyproxy.conf"
    # No ConnectPort line: CONNECT is allowed to any port (the sandbox's are ephemeral).
    config.write_text(
        f"Port {port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\n"
        f'LogFile "{log}"\nLogLevel Connect\nMaxClients 50\nPidFile "{tmp_path}/tp.pid"\n'
    )
    process = subprocess.Popen(
        [TINYPROXY, "-d", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process=process)
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_https_through_explicit_proxy(
    tinyproxy: tuple[str, Path], echo_sandbox: ferrolink.sandbox.Sandbox
) -> None:
    proxy, log = tinyproxy
    target = echo_sandbox.url("echo", "https")
    with Client(ca_file=echo_sandbox.ca_file, proxy=proxy, trust_env=False) as client:
        for i in range(3):
            reply = client.post(target + "/echo", body=str(i), headers={"X-Request-Id": str(i)})
            assert reply.json()["id"] == str(i)
    port = target.rsplit(":", 1)[1]
    assert f"127.0.0.1:{port}" in log.read_text(), "the request did not go through the proxy"


def test_proxy_from_environment_and_opt_out(
    tinyproxy: tuple[str, Path],
    echo_sandbox: ferrolink.sandbox.Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy, log = tinyproxy
    target = echo_sandbox.url("echo", "https")
    port = target.rsplit(":", 1)[1]
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with Client(ca_file=echo_sandbox.ca_file, trust_env=False) as direct:
        assert direct.get(target + "/echo").status == 200
    assert f"127.0.0.1:{port}" not in log.read_text()
    with Client(ca_file=echo_sandbox.ca_file) as via_env:
        assert via_env.get(target + "/echo").status == 200
    assert f"127.0.0.1:{port}" in log.read_text()


def test_dead_proxy_is_connect_error(echo_sandbox: ferrolink.sandbox.Sandbox) -> None:
    proxy = f"http://user:hunter2@127.0.0.1:{free_port()}"
    client = Client(ca_file=echo_sandbox.ca_file, proxy=proxy, trust_env=False)
    with pytest.raises(errors.ConnectError) as info:
        client.get(echo_sandbox.url("echo", "https") + "/echo")
    assert "hunter2" not in str(info.value)


def test_invalid_proxy_url_is_invalid_argument() -> None:
    with pytest.raises(errors.InvalidArgumentError, match="proxy"):
        Client(proxy="ftp://[not a url")
