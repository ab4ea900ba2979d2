"""The emulators share only codecs with the clients (the rule in ``ferrolink.sandbox``)."""

from __future__ import annotations

import ast
from pathlib import Path

import ferrolink.sandbox
from ferrolink._services import SERVICES

SANDBOX = Path(ferrolink.sandbox.__file__).parent
CLIENT_PACKAGES = {info.package for info in SERVICES}

# Encoders/decoders of a wire format, and the one driver that plays DSYNC towards a connector.
SHARED = {
    "ferrolink.idigi.codec",
    "ferrolink.exp.eio",
    "ferrolink.myqtthub.topics",
    "ferrolink.dsync.rules",
    "ferrolink.dsync.connector_client",
}


def _imports(path: Path) -> set[str]:
    """What ``path`` imports, absolute: ``from ..exp import eio`` is ``ferrolink.exp.eio``."""
    # ``sandbox/idigi/push.py`` is ``ferrolink.sandbox.idigi.push``; ``__init__`` counts as a level.
    module_name = ".".join(("ferrolink", *path.relative_to(SANDBOX.parent).with_suffix("").parts))
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = module_name.rsplit(".", node.level)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            if module == "ferrolink" or module in CLIENT_PACKAGES:
                names.update(f"{module}.{alias.name}" for alias in node.names)
            else:
                names.add(module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_emulators_import_only_codecs_from_the_clients() -> None:
    offending = {
        f"{path.relative_to(SANDBOX)}: {name}"
        for path in SANDBOX.rglob("*.py")
        for name in _imports(path)
        if any(name == p or name.startswith(p + ".") for p in CLIENT_PACKAGES)
        and name not in SHARED
    }
    assert not offending


def test_the_import_scan_sees_the_codecs() -> None:
    found = set().union(*(_imports(path) for path in SANDBOX.rglob("*.py")))
    assert found & CLIENT_PACKAGES == set()
    assert found >= SHARED
