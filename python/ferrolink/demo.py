"""``ferrolink demo``: every service's main flows against the embedded sandbox.

Each service contributes one function ``demo(sandbox, report)``, named in the table of
:mod:`ferrolink._services`; it calls ``report.step(...)`` for each thing it shows and raises if
something does not work.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from . import sandbox as sandbox_mod
from ._services import SERVICES
from .http import Client

__all__ = ["DEMOS", "Report", "run"]

# section name -> "module:function": the transport first, then every service of the table.
DEMOS: dict[str, str] = {
    "transport": "ferrolink.demo:transport_demo",
    **{info.name: info.demo for info in SERVICES},
}


@dataclass
class Report:
    """Collects the readable lines of one demo section."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    steps: int = 0

    def step(self, title: str, detail: str = "") -> None:
        self.steps += 1
        suffix = f": {detail}" if detail else ""
        print(f"    ok  {title}{suffix}", file=self.out, flush=True)

    def note(self, text: str) -> None:
        """Say what the demo does next when it is not a check, e.g. that it injects a fault."""
        print(f"    ..  {text}", file=self.out, flush=True)


class _HeldLogs(logging.Handler):
    """Holds ferrolink's warnings while a section runs: the faults a demo injects make the
    clients log what they recover from, which is noise when the section passes and the first
    clue when it fails."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s"))
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def transport_demo(sb: sandbox_mod.Sandbox, report: Report) -> None:
    """Pooled HTTPS against the echo service: verified TLS, keep-alive, throughput."""
    url = sb.url("echo", "https")
    with Client(ca_file=sb.ca_file) as client:
        reply = client.post(url + "/echo", json={"hello": "sandbox"}, headers={"X-Request-Id": "1"})
        report.step("HTTPS POST with the sandbox CA", f"{reply.status}, id={reply.json()['id']}")
        n = 200
        start = time.perf_counter()
        for i in range(n):
            client.post(url + "/echo", body=b"x", headers={"X-Request-Id": str(i)})
        elapsed = time.perf_counter() - start
        report.step(
            "keep-alive pool", f"{n} POSTs in {elapsed * 1000:.0f} ms ({n / elapsed:,.0f}/s)"
        )
        big = client.get(url + "/bytes/5000000")
        report.step("large body", f"{len(big.body):,} bytes intact")


def run(out: TextIO = sys.stdout) -> int:
    """Run every demo; returns the process exit code (0 when all passed)."""
    held = _HeldLogs()
    logger = logging.getLogger("ferrolink")
    logger.addHandler(held)
    try:
        failures = _run_sections(out, held)
    finally:
        logger.removeHandler(held)
    verdict = "all demos passed" if failures == 0 else f"{failures} demo(s) FAILED"
    print(f"\nferrolink demo: {verdict}", file=out)
    return 0 if failures == 0 else 1


def _run_sections(out: TextIO, held: _HeldLogs) -> int:
    failures = 0
    with sandbox_mod.start() as sb:
        print(
            f"ferrolink demo: sandbox up ({len(sb.services)} services, CA {sb.ca_file})", file=out
        )
        for name, target in DEMOS.items():
            module_name, _, func_name = target.partition(":")
            func: Callable[[sandbox_mod.Sandbox, Report], None] = getattr(
                importlib.import_module(module_name), func_name
            )
            print(f"\n[{name}]", file=out, flush=True)
            report = Report(out)
            held.records.clear()
            started = time.perf_counter()
            try:
                func(sb, report)
            except Exception as exc:  # the summary names every failing section
                failures += 1
                print(f"    FAILED  {type(exc).__name__}: {exc}", file=out)
                for record in held.records:
                    print(f"        log: {held.format(record)}", file=out)
                continue
            took = (time.perf_counter() - started) * 1000
            print(f"    -> {report.steps} steps passed in {took:.0f} ms", file=out)
    return failures
