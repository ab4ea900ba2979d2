"""The fuzz campaign: millions of seeded random mutations per decoder, one process per target.

Targets, corpora and allowed errors come from ``tests/test_fuzz_decoders.py`` (the same ones the
hypothesis tests run). Each target runs in its own worker process so a panic, abort or hang is
caught and reported, and so its peak memory is its own. Prints a table: target, inputs,
failures, worst CPU time per input, peak memory (over ``--max-rss`` is a failure too), wall
time. Exit status 1 when anything failed.

    scripts/fuzz.sh                      # every target, 1,000,000 inputs each
    scripts/fuzz.sh -n 20000 jwt         # a quick look at one target
    scripts/fuzz.sh --show 12345 jwt     # print input number 12345 of that run (to reproduce)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import resource
import subprocess
import sys
import time
import traceback
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent


def targets_module() -> ModuleType:
    path = ROOT / "tests" / "test_fuzz_decoders.py"
    spec = importlib.util.spec_from_file_location("fuzz_targets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def inputs(module: ModuleType, name: str, seed: int) -> Callable[[], bytes]:
    """The run's input generator: deterministic from ``seed`` and the target's name."""
    target = module.TARGETS[name]
    rng = random.Random(seed ^ zlib.crc32(name.encode()))
    pick = rng.randrange

    def next_input() -> bytes:
        if pick(5) == 0:  # one in five: bytes with no structure at all
            return rng.randbytes(pick(257))
        return bytes(module.mutate(pick, target, 1 + pick(8)))

    return next_input


def work(name: str, count: int, seed: int) -> dict[str, Any]:
    """Worker: run ``count`` inputs through one target, return the findings."""
    module = targets_module()
    target = module.TARGETS[name]
    generate = inputs(module, name, seed)
    findings: dict[str, dict[str, Any]] = {}
    failures = 0
    worst = 0.0
    # CPU time (all threads), not wall time: on a shared machine, waiting for a core would
    # swamp the measure. A hang that burns no CPU is caught by the worker's time limit.
    clock = time.process_time
    for index in range(count):
        data = generate()
        started = clock()
        try:
            target.run(data)
        except target.allowed:
            pass
        except BaseException as exc:  # every other exception is a finding
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures += 1
            # One finding per exception type and place: the first input that reached it.
            where = traceback.extract_tb(exc.__traceback__)[-1]
            kind = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            if kind not in findings:
                findings[kind] = {
                    "index": index,
                    "message": str(exc)[:160],
                    "input": data[:300].hex(),
                }
        worst = max(worst, clock() - started)
        if index % (count // 10 or 1) == 0 and index:
            print(f"  {name}: {index:,} inputs", file=sys.stderr, flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "target": name,
        "inputs": count,
        "failures": failures,
        "worst": worst,
        "peak": peak,
        "findings": findings,
    }


def run_worker(name: str, count: int, seed: int, timeout: float) -> dict[str, Any]:
    """Parent side: one worker process; a crash or a hang becomes a finding too."""
    cmd = [sys.executable, __file__, "--worker", "-n", str(count), "--seed", str(seed), name]
    started = time.monotonic()
    try:
        done = subprocess.run(cmd, stdout=subprocess.PIPE, timeout=timeout, text=True)
    except subprocess.TimeoutExpired:
        return {
            "target": name,
            "inputs": count,
            "failures": 1,
            "worst": float("nan"),
            "peak": 0,
            "findings": {f"hang: no result after {timeout:.0f} s": {}},
        }
    if done.returncode != 0:
        return {
            "target": name,
            "inputs": count,
            "failures": 1,
            "worst": float("nan"),
            "peak": 0,
            "findings": {f"worker died (status {done.returncode})": {}},
        }
    result: dict[str, Any] = json.loads(done.stdout)
    result["seconds"] = time.monotonic() - started
    return result


def table(results: list[dict[str, Any]], max_peak: int) -> str:
    rows = [("target", "inputs", "failures", "worst CPU/input", "peak RSS", "wall")]
    for r in results:
        rows.append(
            (
                r["target"],
                f"{r['inputs']:,}",
                str(r["failures"]),
                f"{r['worst'] * 1000:.2f} ms",
                f"{r['peak'] / (1 << 20):.0f} MiB" + (" (over)" if r["peak"] > max_peak else ""),
                f"{r.get('seconds', 0):.0f} s",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="targets to run (default: all)")
    parser.add_argument("-n", "--inputs", type=int, default=1_000_000, help="inputs per target")
    parser.add_argument("--seed", type=int, default=1, help="random seed (runs are repeatable)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="targets run at once")
    parser.add_argument("--max-rss", type=int, default=1024, help="peak RSS bound, MiB")
    parser.add_argument("--show", type=int, metavar="INDEX", help="print one input and exit")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    module = targets_module()
    names = args.targets or sorted(module.TARGETS)
    unknown = [n for n in names if n not in module.TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {unknown}; known: {', '.join(sorted(module.TARGETS))}")
    if args.show is not None:
        generate = inputs(module, names[0], args.seed)
        for _ in range(args.show):
            generate()
        print(generate().hex())
        return 0
    if args.worker:
        print(json.dumps(work(names[0], args.inputs, args.seed)))
        return 0

    # Generous (5 ms an input; targets take 20-60 us on an idle core): a hang, not a busy
    # machine, is what runs out of it.
    timeout = 120 + args.inputs / 200
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda n: run_worker(n, args.inputs, args.seed, timeout), names))
    max_peak = args.max_rss << 20
    print(table(results, max_peak))
    bad = False
    for r in results:
        for kind, where in r["findings"].items():
            bad = True
            print(f"\n{r['target']}: {kind}\n  {json.dumps(where)}")
        bad |= r["peak"] > max_peak
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
