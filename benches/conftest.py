"""Benchmark plumbing: peers side by side in one run, ratios printed at the end.

Every benchmark sets ``benchmark.group`` (the workload) and ``benchmark.extra_info["peer"]``;
the peer named ``ferrolink`` is the reference in its group. At the end of the run a table gives,
per group, each peer's median and ``ferrolink``'s speed-up over it (median / median), then
any ``extra_info["note"]`` a benchmark left (figures that are not times).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferrolink.sandbox.tls import SandboxTLS, create_tls


@pytest.fixture(scope="session")
def bench_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxTLS]:
    """A throwaway CA + server certificate for 127.0.0.1, shared by every bench server."""
    yield create_tls(Path(tmp_path_factory.mktemp("bench-tls")))


def _medians(config: pytest.Config) -> dict[str, dict[str, float]]:
    session: Any = getattr(config, "_benchmarksession", None)
    groups: dict[str, dict[str, float]] = {}
    if session is None or session.disabled:
        return groups
    for bench in session.benchmarks:
        if bench.has_error or not bench.stats:
            continue
        peer = bench.extra_info.get("peer", bench.name)
        groups.setdefault(bench.group or "", {})[peer] = bench.stats.median
    return groups


def _notes(config: pytest.Config) -> dict[str, list[str]]:
    """Per group, the ``extra_info["note"]`` texts (figures that are not times, e.g. memory)."""
    session: Any = getattr(config, "_benchmarksession", None)
    notes: dict[str, list[str]] = {}
    for bench in getattr(session, "benchmarks", None) or []:
        note = bench.extra_info.get("note")
        if note:
            notes.setdefault(bench.group or "", []).append(str(note))
    return notes


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    groups = _medians(config)
    notes = _notes(config)
    if not groups:
        return
    write = terminalreporter.write_line
    write("")
    write("ferrolink speed-up per group (peer median / ferrolink median; >1: ferrolink is faster)")
    for group, peers in sorted(groups.items()):
        reference = peers.get("ferrolink")
        write(f"  [{group}]")
        for peer, median in sorted(peers.items(), key=lambda kv: kv[1]):
            ratio = f"{median / reference:6.2f}x" if reference else "   n/a"
            write(f"    {peer:<32} median {median * 1e3:9.3f} ms   ferrolink speed-up {ratio}")
        for note in notes.get(group, []):
            write(f"    {note}")
