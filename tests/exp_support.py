"""Shared fixtures for the EXP tests: one sandbox per module, thread hygiene per test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest

import ferrolink.sandbox
from ferrolink import exp
from ferrolink.sandbox.exp import ExpService


def exp_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ferrolink-exp")]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["exp"]) as sb:
        yield sb


@pytest.fixture
def service(sandbox: ferrolink.sandbox.Sandbox) -> Iterator[ExpService]:
    svc = sandbox.service("exp")
    assert isinstance(svc, ExpService)
    ttl = svc.token_ttl
    yield svc
    svc.token_ttl = ttl


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    yield
    exp.stop()
    # Callback threads are short-lived daemons; everything else must be gone already.
    wait_for(lambda: not exp_threads(), timeout=5)


def options(sandbox: ferrolink.sandbox.Sandbox, who: str = "user", **extra: Any) -> dict[str, Any]:
    creds = sandbox.credentials("exp")
    base: dict[str, Any] = {"host": sandbox.url("exp"), "ca_file": sandbox.ca_file}
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
