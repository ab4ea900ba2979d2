"""The README's runnable examples run as printed, each in a fresh interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
RUNNABLE = [block for block in BLOCKS if "ferrolink.sandbox.start(" in block]


def test_every_service_has_a_runnable_example() -> None:
    for module in ("hexonet", "exp", "idigi", "myqtthub", "dsync"):
        assert any(f'sandbox.start(["{module}"])' in block for block in RUNNABLE), module


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.split("start(")[1][:12] for b in RUNNABLE])
def test_example_runs(block: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", block], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "each example prints what it got"
