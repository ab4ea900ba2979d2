"""Every CLI driven as a subprocess against one ``ferrolink sandbox --port-base N`` dev server.

The sandbox runs in the background for the whole module, as a developer would run it beside
their app; the commands find it through its state file.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest

from ferrolink.sandbox.ports import PORT_OFFSETS, PORT_SPAN, PortInUseError, check_free, free_port

# Stopping the sandbox cleanly takes SIGINT/SIGTERM, and the printed lines are POSIX shell.
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and shell")

CLI = [sys.executable, "-m", "ferrolink"]
# Variables a command could read from the developer's own environment.
CLEARED = (
    "FERROLINK_HEXONET_USER",
    "FERROLINK_HEXONET_PASSWORD",
    "EXP_PASSWORD",
    "EXP_SECRET",
    "EXP_API_KEY",
    "IDIGI_PASSWORD",
    "MYQTTHUB_PASSWORD",
    "DSYNC_AUTH_TOKEN",
)


def base_env(state_file: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    bin_dir = os.path.dirname(sys.executable)  # where the `ferrolink` script is installed
    env.update(
        PYTHONUNBUFFERED="1",
        FERROLINK_SANDBOX_STATE=str(state_file),
        PATH=bin_dir + os.pathsep + env.get("PATH", ""),
    )
    env.update(extra)
    return env


def free_port_base() -> int:
    for _ in range(100):
        base = random.randrange(20000, 60000)
        try:
            check_free("127.0.0.1", "probe", {str(i): base + i for i in range(PORT_SPAN)})
        except PortInUseError:
            continue
        return base
    raise RuntimeError("no free block of 50 ports")


class Lines:
    """Collects a process's output lines on a thread (so its pipe never fills)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        with process.stdout:  # closed at end of output: the process has exited
            for line in process.stdout:
                with self._cond:
                    self.lines.append(line.rstrip("\n"))
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, needle: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                left = deadline - time.monotonic()
                assert left > 0, f"{needle!r} not in output:\n" + "\n".join(self.lines)
                self._cond.wait(min(left, 0.2))

    def text(self) -> str:
        self._thread.join(10)
        with self._cond:
            return "\n".join(self.lines)


@dataclass
class DevServer:
    base: int
    state_file: Path
    process: subprocess.Popen[str]
    output: Lines
    state: dict[str, Any] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        return base_env(self.state_file, **extra)

    def run(
        self, *args: str, env: Optional[dict[str, str]] = None, timeout: float = 90, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args],
            env=env or self.env(**extra),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str, **extra: str) -> tuple[subprocess.Popen[str], Lines]:
        process = subprocess.Popen(
            [*CLI, *args],
            env=self.env(**extra),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return process, Lines(process)


def stop(process: subprocess.Popen[str], sig: int = signal.SIGINT) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def no_traceback(result: subprocess.CompletedProcess[str]) -> str:
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    return text


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    state_file = tmp_path_factory.mktemp("dev") / "state" / "sandbox.json"
    base = free_port_base()
    process = subprocess.Popen(
        [*CLI, "sandbox", "--port-base", str(base), "--state-file", str(state_file)],
        env=base_env(state_file),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = DevServer(base, state_file, process, Lines(process))
    try:
        server.output.wait_for(f"http://127.0.0.1:{base + 46}", timeout=120)  # the last line
        server.state = json.loads(state_file.read_text())
        yield server
    finally:
        code = stop(process)
    assert code == 0, server.output.text()
    assert "sandbox stopped" in server.output.text()
    assert not state_file.exists(), "the state file is removed on exit"


# -- ferrolink sandbox ------------------------------------------------------------------------


def test_state_file_describes_every_service_on_fixed_ports(dev: DevServer) -> None:
    state = dev.state
    assert state["version"] == 1 and state["host"] == "127.0.0.1"
    assert state["pid"] == dev.process.pid
    assert Path(state["ca_file"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    services = state["services"]
    assert set(services) == {"hexonet", "exp", "idigi", "myqtthub", "dsync", "echo"}
    for name, offsets in PORT_OFFSETS.items():
        assert services[name]["ports"] == {k: dev.base + v for k, v in offsets.items()}
        for kind, port in services[name]["ports"].items():
            assert f"127.0.0.1:{port}" in services[name]["urls"][kind]
    hexonet = services["hexonet"]
    assert hexonet["urls"]["https"] == f"https://127.0.0.1:{dev.base}/api/call.cgi"
    assert set(hexonet["credentials"]) >= {"login", "password"}
    assert all(p < dev.base + PORT_SPAN for s in services.values() for p in s["ports"].values())
    if os.name == "posix":
        assert dev.state_file.stat().st_mode & 0o077 == 0, "credentials: owner only"


def test_printed_lines_are_aligned_and_work_as_printed(dev: DevServer) -> None:
    lines = dev.output.lines
    rows = [line for line in lines if line.split()[:1] in (["hexonet"], ["exp"], ["echo"])]
    https_columns = {line.index("https://") for line in lines if " https " in line}
    assert len(https_columns) == 1, "\n".join(lines)
    assert any(line.startswith("state file") and str(dev.state_file) in line for line in lines)
    assert rows
    tries = {}
    for i, line in enumerate(lines):
        if line.split()[:1] == ["try"]:
            service = next(lines[j].split()[0] for j in range(i, -1, -1) if lines[j][:1] != " ")
            tries[service] = line.split("try", 1)[1].strip()
    assert set(tries) == {"hexonet", "exp", "idigi", "myqtthub", "dsync"}
    assert "--push-port" in tries["idigi"] and "/api/call.cgi" in tries["hexonet"]
    # The env for these commands has no state file: they must work from what is printed.
    env = base_env(dev.state_file.with_name("absent.json"))
    for service, command in tries.items():
        if service == "idigi":
            continue  # runs until Ctrl-C: below
        result = subprocess.run(
            command, shell=True, env=env, capture_output=True, text=True, timeout=90
        )
        assert result.returncode == 0, (service, command, result.stdout, result.stderr)
    process = subprocess.Popen(
        shlex.split(tries["idigi"].split(" ", 1)[1]),
        env={**env, **dict([tries["idigi"].split(" ", 1)[0].split("=", 1)])},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Lines(process)
    output.wait_for("Session connected")
    assert stop(process) == 0
    assert output.text().endswith("Done")


def test_sandbox_help_lists_services_and_typed_options() -> None:
    out = subprocess.run([*CLI, "sandbox", "--help"], capture_output=True, text=True, check=True)
    for name in ("hexonet", "exp", "idigi", "myqtthub", "dsync", "echo"):
        assert f"\n  {name}" in out.stdout
    assert "polling_only" in out.stdout and "max_message_size" in out.stdout
    assert " int " in out.stdout and " bool " in out.stdout
    assert "N+22" in out.stdout and "FERROLINK_SANDBOX_STATE" in out.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["bogus"], "unknown service 'bogus' (valid: hexonet, dsync, myqtthub, idigi, exp, echo)"),
        (["exp", "--option", "exp.nope=1"], "has no option 'nope' (valid: "),
        (["exp", "--option", "exp.polling_only=maybe"], "bool expected"),
        (["exp", "--option", "hexonet.seed=1"], "'hexonet' is not started"),
        (["exp", "--option", "noequals"], "is not SERVICE.KEY=VALUE"),
        (["myqtthub", "--myqtthub-broker", "nohostport"], "is not HOST:PORT"),
        (["--port-base", "65530"], "must be between 1 and"),
    ],
)
def test_sandbox_usage_errors(tmp_path: Path, args: list[str], needle: str) -> None:
    result = subprocess.run(
        [*CLI, "sandbox", *args, "--state-file", str(tmp_path / "s.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert needle in result.stderr and "ferrolink sandbox: error: " in result.stderr
    no_traceback(result)
    assert not (tmp_path / "s.json").exists()


def test_taken_port_is_a_clear_error(dev: DevServer, tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "sandbox", "exp", "--port-base", str(dev.base), "--state-file", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"port {dev.base + 10} on 127.0.0.1 (exp https) is not available" in result.stderr
    no_traceback(result)


PORTFOLIO_OF_7 = ["--option", "hexonet.portfolio_size=7"]


def test_one_sandbox_per_state_file(dev: DevServer) -> None:
    result = subprocess.run(
        [*CLI, "sandbox", "echo", "--state-file", str(dev.state_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"a sandbox (pid {dev.process.pid}) already runs" in result.stderr
    no_traceback(result)
    assert json.loads(dev.state_file.read_text())["pid"] == dev.process.pid


def test_options_reach_the_emulators(tmp_path: Path) -> None:
    state_file = tmp_path / "s.json"
    process = subprocess.Popen(
        [*CLI, "sandbox", "hexonet", "--state-file", str(state_file), *PORTFOLIO_OF_7],
        env=base_env(state_file),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Lines(process)
    try:
        output.wait_for("try ")
        result = subprocess.run(
            [*CLI, "hexonet", "--sandbox", "COMMAND=QueryDomainList", "LIMIT=1"],
            env=base_env(state_file),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "(1 of 7 rows)" in result.stdout, result.stderr
        assert "private" not in result.stderr
        other = subprocess.run(
            [*CLI, "dsync", "delete", "--sandbox", "-", "nothing"],
            env=base_env(state_file),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "the sandbox does not run dsync" in other.stderr
        assert "starting a private one" in other.stderr
    finally:
        assert stop(process, signal.SIGTERM) == 0
    assert not state_file.exists()


# -- --sandbox: attaching ---------------------------------------------------------------------


def test_exp_listen_in_one_process_receives_broadcast_from_another(dev: DevServer) -> None:
    listener, output = dev.start("exp", "--sandbox", "listen", "news", "hello", "--count", "2")
    try:
        output.wait_for("listening on 'news'")
        for payload in ('{"text": "hi"}', "[1, 2]"):
            sent = dev.run("exp", "--sandbox", "broadcast", "news", "hello", payload)
            assert sent.returncode == 0, sent.stderr
            assert "private" not in sent.stderr
        assert listener.wait(timeout=30) == 0
    finally:
        stop(listener)
    received = [json.loads(line) for line in output.text().splitlines() if line[:1] in "{["]
    assert received == [{"text": "hi"}, [1, 2]]
    assert "private" not in output.text()


def test_hexonet_attaches(dev: DevServer) -> None:
    result = dev.run("hexonet", "--sandbox", "COMMAND=StatusAccount")
    assert result.returncode == 0 and result.stdout.startswith("200 ")
    assert result.stderr == ""


def test_without_a_running_sandbox_a_private_one_is_started(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "hexonet", "--sandbox", "COMMAND=StatusAccount"],
        env=base_env(tmp_path / "none.json"),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0 and result.stdout.startswith("200 ")
    assert "no sandbox is running" in result.stderr and "starting a private one" in result.stderr


def test_a_dead_sandbox_state_counts_as_absent(dev: DevServer, tmp_path: Path) -> None:
    stale = dict(dev.state, pid=2**22 + 12345)  # above Linux's pid_max: never alive
    (tmp_path / "stale.json").write_text(json.dumps(stale))
    result = subprocess.run(
        [*CLI, "dsync", "delete", "--sandbox", "-", "A-1"],
        env=base_env(tmp_path / "stale.json"),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert "no sandbox is running" in result.stderr
    no_traceback(result)


def test_dsync_realtime_calls(dev: DevServer) -> None:
    creds = dev.state["services"]["dsync"]["credentials"]
    record = '{"sku": "A-1", "name": "Anvil", "price": 9.5}'
    created = dev.run("dsync", "create", "--sandbox", creds["entity_token"], record)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["data"]["sku"] == "A-1"
    url = dev.state["services"]["dsync"]["urls"]["https"]
    ca = dev.state["ca_file"]
    token = creds["entity_token"]
    updated = dev.run(
        "dsync", "update", "--url", url, "--ca-file", ca, token, record,
        DSYNC_AUTH_TOKEN=creds["auth_token"],
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    deleted = dev.run("dsync", "delete", "--sandbox", "-", "A-1")
    assert deleted.returncode == 0 and json.loads(deleted.stdout)["status"] == 200
    again = dev.run("dsync", "delete", "--sandbox", "-", "A-1")
    assert again.returncode == 1 and "ferrolink dsync: error: " in again.stderr
    no_traceback(again)


def test_myqtthub_pull_says_when_nothing_was_queued(dev: DevServer) -> None:
    result = dev.run("myqtthub", "pull", "--sandbox")
    assert result.returncode == 0 and result.stdout == ""
    assert "no messages were queued" in result.stderr


def test_myqtthub_durable_session_across_invocations(dev: DevServer) -> None:
    creds = dev.state["services"]["myqtthub"]["credentials"]
    pull = ["myqtthub", "pull", "--sandbox", "--client-id", creds["client_id_2"]]
    pull += ["--no-clean-session"]
    assert dev.run(*pull, "--subscribe", "dev/#:1").returncode == 0
    published = dev.run("myqtthub", "publish", "--sandbox", "dev/t", "héllo", "--qos", "1")
    assert published.returncode == 0, published.stderr
    (line,) = dev.run(*pull).stdout.splitlines()
    assert json.loads(line)["payload"] == "héllo"


# -- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "variable"),
    [
        (["hexonet", "COMMAND=StatusAccount"], "FERROLINK_HEXONET_USER"),
        (["exp", "--host", "https://127.0.0.1:1", "--username", "u", "devices"], "EXP_PASSWORD"),
        (["exp", "--host", "https://127.0.0.1:1", "--uuid", "u", "devices"], "EXP_SECRET"),
        (["idigi", "push", "user", "--host", "127.0.0.1:1"], "IDIGI_PASSWORD"),
        (["myqtthub", "pull", "--client-id", "c", "--user", "u"], "MYQTTHUB_PASSWORD"),
        (["dsync", "create", "token", "{}"], "DSYNC_AUTH_TOKEN"),
    ],
)
def test_no_terminal_and_no_variable_names_the_variable(
    tmp_path: Path, args: list[str], variable: str
) -> None:
    result = subprocess.run(
        [*CLI, *args],
        env=base_env(tmp_path / "none.json"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    service = args[0]
    assert result.stderr.startswith(f"ferrolink {service}: error: set {variable}")
    no_traceback(result)


def test_hexonet_user_and_password_from_the_environment(dev: DevServer) -> None:
    hexonet = dev.state["services"]["hexonet"]
    url = hexonet["urls"]["https"]
    args = ["hexonet", "--url", url, "--ca-file", dev.state["ca_file"], "COMMAND=StatusAccount"]
    user = hexonet["credentials"]["login"]
    ok = dev.run(*args, FERROLINK_HEXONET_USER=user, FERROLINK_HEXONET_PASSWORD="test.passw0rd")
    assert ok.returncode == 0 and "USD" in ok.stdout
    wrong = dev.run(*args, FERROLINK_HEXONET_USER=user, FERROLINK_HEXONET_PASSWORD="wrongpw")
    assert wrong.returncode == 1 and "wrongpw" not in wrong.stdout + wrong.stderr


# -- bad input, unreachable hosts, unknown CAs --------------------------------------------------


def test_unknown_issuer_suggests_ca_file(dev: DevServer) -> None:
    hexonet = dev.state["services"]["hexonet"]
    result = dev.run(
        "hexonet", "--url", hexonet["urls"]["https"], "COMMAND=StatusAccount",
        FERROLINK_HEXONET_USER="test.user", FERROLINK_HEXONET_PASSWORD="test.passw0rd",
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("ferrolink hexonet: error: ") and "--ca-file" in result.stderr
    no_traceback(result)
    exp = dev.state["services"]["exp"]
    result = dev.run(
        "exp", "--host", exp["urls"]["https"], "--username", "u", "--organization", "o",
        "devices", EXP_PASSWORD="x",
    )  # fmt: skip
    assert result.returncode == 1 and "--ca-file" in result.stderr
    no_traceback(result)


def test_exp_unreachable_host_is_a_network_error(dev: DevServer) -> None:
    closed = free_port()
    result = dev.run(
        "exp", "--host", f"https://127.0.0.1:{closed}", "--username", "u", "--organization", "o",
        "devices", EXP_PASSWORD="x",
    )  # fmt: skip
    assert result.returncode == 1
    assert f"ferrolink exp: error: could not connect to https://127.0.0.1:{closed}" in (
        result.stderr
    )
    no_traceback(result)


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["exp", "--sandbox", "broadcast", "c", "n", "{not json"], 2, "the payload is not JSON"),
        (["exp", "--sandbox", "devices", "no-equals"], 2, "not KEY=VALUE"),
        (["exp", "devices"], 2, "pass --host"),
        (["hexonet", "--sandbox", "LIMIT=1"], 2, "missing COMMAND"),
        (["hexonet", "--sandbox", "novalue"], 2, "expected KEY=VALUE"),
        (["myqtthub", "publish", "--sandbox", "a/#", "x"], 2, "wildcards"),
        (["myqtthub", "pull", "--sandbox", "--subscribe", "a/#:7"], 2, "QoS must be 0, 1 or 2"),
        (["myqtthub", "pull"], 2, "give --client-id and --user"),
        (["dsync", "create", "--sandbox", "-", "[1]"], 2, "must be a JSON object"),
        (["dsync", "create", "--sandbox", "-", "{"], 2, "the record is not JSON"),
        (["dsync", "token", ""], 2, "ferrolink dsync: error: "),
        (["idigi", "push", "--topics", ","], 2, "--topics names no topic"),
        (["idigi", "push"], 2, "give the username"),
        (["hexonet"], 2, "ferrolink hexonet: error: the following arguments are required"),
    ],
)
def test_bad_input_is_one_error_line(
    dev: DevServer, args: list[str], code: int, needle: str
) -> None:
    result = dev.run(*args)
    assert result.returncode == code, result.stderr
    assert needle in result.stderr
    service = args[0]
    assert f"ferrolink {service}: error: " in result.stderr
    no_traceback(result)


@pytest.mark.parametrize(
    "content",
    ["{not json", "[]", '{"data_layout": 5}', '{"data_layout": [1]}', "\xff\xfe", ""],
)
def test_dsync_layout_bad_files(dev: DevServer, tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content.encode("latin-1"))
    result = dev.run("dsync", "layout", str(bad), "--validate")
    assert result.returncode in (1, 2)
    assert result.stderr.startswith("ferrolink dsync: error: ")
    no_traceback(result)
    missing = dev.run("dsync", "layout", str(tmp_path / "missing.json"), "--validate")
    assert missing.returncode == 2 and "No such file" in missing.stderr


# -- iDigi push -------------------------------------------------------------------------------


def idigi_args(dev: DevServer, *password: str) -> list[str]:
    idigi = dev.state["services"]["idigi"]
    return [
        "idigi", "push", idigi["credentials"]["username"], *password,
        "--host", idigi["urls"]["https"].split("://", 1)[1],
        "--ca-file", dev.state["ca_file"], "-d", "0",
    ]  # fmt: skip


def test_idigi_push_missing_ca_file(dev: DevServer) -> None:
    args = idigi_args(dev)
    args[args.index("--ca-file") + 1] = "/nonexistent.pem"
    password = dev.state["services"]["idigi"]["credentials"]["password"]
    result = dev.run(*args, IDIGI_PASSWORD=password)
    assert result.returncode in (1, 2) and "/nonexistent.pem" in result.stderr
    assert "Done" not in result.stdout
    no_traceback(result)


def test_idigi_push_unreachable_rest_host(dev: DevServer) -> None:
    result = dev.run("idigi", "push", "u", "--host", f"127.0.0.1:{free_port()}", IDIGI_PASSWORD="p")
    assert result.returncode == 1 and "ferrolink idigi: error: " in result.stderr
    assert "Done" not in result.stdout
    no_traceback(result)


def test_idigi_push_wrong_push_port_says_where_and_suggests_the_flag(dev: DevServer) -> None:
    password = dev.state["services"]["idigi"]["credentials"]["password"]
    closed = free_port()
    process, output = dev.start(*idigi_args(dev, password), "--push-port", str(closed))
    try:
        hint = output.wait_for("--push-port", timeout=60)
        assert f"127.0.0.1:{closed}" in hint
    finally:
        assert stop(process) == 0
    text = output.text()
    assert "visible to other users" in text  # the password was an argument
    # Each disconnect is one "Session disconnected" line, not also a log line.
    assert "Session disconnected" in text
    assert "push session disconnected" not in text, text
    assert not any("WARNING" in line for line in text.splitlines()), text
    assert "Traceback" not in text


def test_idigi_push_sandbox_flag(dev: DevServer) -> None:
    process, output = dev.start("idigi", "push", "--sandbox", "-d", "0")
    try:
        output.wait_for("Session connected")
    finally:
        assert stop(process) == 0
    text = output.text()
    assert "private" not in text and text.endswith("Done")


def test_prompt_on_a_terminal_ending_in_eof(tmp_path: Path) -> None:
    import pty

    master, slave = pty.openpty()
    try:
        os.write(master, b"\x04")  # Ctrl-D at the user prompt
        result = subprocess.run(
            [*CLI, "hexonet", "COMMAND=StatusAccount"],
            env=base_env(tmp_path / "none.json"),
            stdin=slave,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert result.returncode == 2
    assert "ferrolink hexonet: error: no value given; set FERROLINK_HEXONET_USER" in result.stderr
    no_traceback(result)
