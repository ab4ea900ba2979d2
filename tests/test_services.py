"""The table of services (``ferrolink._services``) and everything that reads it agree."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

import pytest

from ferrolink import cli, demo
from ferrolink._services import SERVICES, ServiceInfo
from ferrolink.sandbox import registry
from ferrolink.sandbox.service import Service

NAMES = [info.name for info in SERVICES]


def _resolve(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def test_names_are_unique_packages() -> None:
    assert len(set(NAMES)) == len(NAMES) and "echo" not in NAMES
    for info in SERVICES:
        assert importlib.import_module(info.package).__name__ == f"ferrolink.{info.name}"


def test_registry_starts_the_echo_server_then_every_service_in_table_order() -> None:
    assert list(registry.EMULATORS) == ["echo", *NAMES]


def test_demo_runs_the_transport_then_every_service_in_table_order() -> None:
    assert list(demo.DEMOS) == ["transport", *NAMES]


def test_cli_registers_every_service_of_the_table() -> None:
    subcommands = next(
        action
        for action in cli.build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    assert set(NAMES) <= set(subcommands.choices)


@pytest.mark.parametrize("info", SERVICES, ids=NAMES)
def test_each_row_points_at_real_parts_of_its_package(info: ServiceInfo) -> None:
    emulator = _resolve(info.emulator)
    assert issubclass(emulator, Service) and emulator.name == info.name
    assert registry.EMULATORS[info.name] == info.emulator
    assert demo.DEMOS[info.name] == info.demo and callable(_resolve(info.demo))
    assert info.cli == f"{info.package}.cli" and info.demo.startswith(f"{info.package}.demo:")
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    importlib.import_module(info.cli).register(sub)
    assert list(sub.choices) == [info.name], "the CLI module adds the service's subcommand"
