"""The ``ferrolink`` command: ``--version``, ``sandbox``, ``demo`` and per-service commands."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Optional

from . import __version__
from ._services import SERVICES

__all__ = ["main"]

# Service modules that add subcommands through ``register(subparsers)``.
SERVICE_CLIS: list[str] = [info.cli for info in SERVICES]


def _sandbox(args: argparse.Namespace) -> int:
    from . import sandbox

    names = args.services or None
    with sandbox.start(names) as sb:
        print("ferrolink sandbox running (Ctrl-C to stop)")
        print(sb.summary(), flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    print("sandbox stopped")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from . import demo

    return demo.run()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ferrolink", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ferrolink {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("sandbox", help="run every emulator on loopback until Ctrl-C")
    p.add_argument("services", nargs="*", help="only these services (default: all)")
    p.set_defaults(func=_sandbox)
    p = sub.add_parser("demo", help="run every service's main flows against the sandbox")
    p.set_defaults(func=_demo)
    for module_name in SERVICE_CLIS:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
