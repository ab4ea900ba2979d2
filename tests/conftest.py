"""Shared fixtures: a running echo sandbox and a client that trusts its CA."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import ferrolink.sandbox
from ferrolink.http import Client
from ferrolink.sandbox.echo import EchoService


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
