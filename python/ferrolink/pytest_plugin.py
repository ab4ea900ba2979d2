"""pytest plugin: the ``ferrolink_sandbox`` fixture for users' own test suites.

Registered through the ``pytest11`` entry point, so installing ferrolink is enough::

    def test_my_code(ferrolink_sandbox):
        url = ferrolink_sandbox.url("hexonet")
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import sandbox


@pytest.fixture(scope="session")
def ferrolink_sandbox() -> Iterator[sandbox.Sandbox]:
    """Every ferrolink emulator running on loopback for the whole test session."""
    with sandbox.start() as running:
        yield running
