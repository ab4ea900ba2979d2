"""Shared fixtures: a running echo sandbox and a client that trusts its CA."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

import ferrolink.sandbox
from ferrolink.http import Client
from ferrolink.sandbox.echo import EchoService

# Some test modules share helpers with others (the tinyproxy fixture, the MyQttHub tutorial
# code); under --import-mode=importlib this folder is not on sys.path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session", autouse=True)
def no_dev_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``--sandbox`` in tests starts a private sandbox, never attaches to a developer's one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FERROLINK_SANDBOX_STATE", str(tmp_path_factory.mktemp("no-dev") / "none"))
        yield


@pytest.fixture(scope="session")
def echo_sandbox() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["echo"]) as sb:
        yield sb


@pytest.fixture
def echo(echo_sandbox: ferrolink.sandbox.Sandbox) -> Iterator[EchoService]:
    service = echo_sandbox.service("echo")
    assert isinstance(service, EchoService)
    service.faults.reset()
    yield service
    service.faults.reset()


@pytest.fixture
def client(echo_sandbox: ferrolink.sandbox.Sandbox) -> Iterator[Client]:
    with Client(ca_file=echo_sandbox.ca_file, trust_env=False) as c:
        yield c


# --- EXP ------------------------------------------------------------------------------------
# One EXP sandbox per test module; `exp_clean` (used by every EXP test module through
# `pytestmark`) stops every EXP instance and checks that no EXP thread outlives the test.


@pytest.fixture(scope="module")
def exp_sandbox() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["exp"]) as sb:
        yield sb


@pytest.fixture
def exp_service(exp_sandbox: ferrolink.sandbox.Sandbox) -> Iterator[Any]:
    from ferrolink.sandbox.exp import ExpService

    service = exp_sandbox.service("exp")
    assert isinstance(service, ExpService)
    ttl = service.token_ttl
    yield service
    service.token_ttl = ttl


@pytest.fixture
def exp_clean() -> Iterator[None]:
    from ferrolink import exp

    yield
    exp.stop()
    deadline = time.monotonic() + 5  # callback threads are short-lived daemons
    while [t for t in threading.enumerate() if t.name.startswith("ferrolink-exp")]:
        assert time.monotonic() < deadline, "EXP threads outlived the test"
        time.sleep(0.01)


@pytest.fixture
def exp_options() -> Callable[..., dict[str, Any]]:
    """``exp_options(sandbox, who="user", **extra)``: start() options for a sandbox identity."""

    def build(sb: ferrolink.sandbox.Sandbox, who: str = "user", **extra: Any) -> dict[str, Any]:
        creds = sb.credentials("exp")
        base: dict[str, Any] = {"host": sb.url("exp"), "ca_file": sb.ca_file}
        if who == "user":
            base.update(
                username=creds["username"],
                password=creds["password"],
                organization=creds["organization"],
            )
        elif who == "device":
            base.update(uuid=creds["device_uuid"], secret=creds["device_secret"])
        elif who == "consumer":
            base.update(uuid=creds["consumer_uuid"], api_key=creds["api_key"])
        base.update(extra)
        return base

    return build
