"""The ferrolink command: --version, sandbox, demo and one command per service."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import shlex
import signal
import sys
import textwrap
import threading
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Optional

from . import __version__
from ._cli import USAGE, CliError, CliParser, add_command, guarded
from ._services import SERVICES
from .sandbox.ports import describe_layout
from .sandbox.state import ENV_VAR as STATE_ENV

if TYPE_CHECKING:
    from .sandbox.service import Option
    from .sandbox.state import State

__all__ = ["main"]

# Each service's command module: ``register(subparsers)`` adds its subcommand and
# ``sandbox_command(state)`` is the ready-to-run line `ferrolink sandbox` prints for it.
SERVICE_CLIS: dict[str, str] = {info.name: info.cli for info in SERVICES}

SANDBOX_DESCRIPTION = f"""\
Run emulators of every service on loopback, with real TLS signed by a throwaway CA, until
Ctrl-C or SIGTERM. Once they are up, their URLs, ports and test credentials are written to a
state file (JSON) that 'ferrolink SERVICE --sandbox' and your own app can read; it is removed
on exit. The state file is --state-file, else ${STATE_ENV}, else
$XDG_STATE_HOME/ferrolink/sandbox.json (~/.local/state/ferrolink/sandbox.json).

--port-base N gives every listener a fixed port, the same on every run:
{textwrap.indent(describe_layout(), "  ")}
"""


def _emulator_options(name: str) -> Mapping[str, Option]:
    from .sandbox.registry import emulator_class

    return emulator_class(name).OPTIONS


def _sandbox_epilog() -> str:
    from .sandbox.registry import EMULATORS

    lines = ["services and their --option keys (SERVICE.KEY=VALUE):"]
    for name in _service_order(list(EMULATORS)):
        options = _emulator_options(name)
        lines.append(f"  {name}" + ("" if options else "  (no options)"))
        for key, option in options.items():
            lines.append(f"    {key:<24}{option.type:<7}{option.help}")
    lines += ["", "environment variables:", f"  {STATE_ENV}  where the state file is written"]
    return "\n".join(lines)


def _service_order(names: Sequence[str]) -> list[str]:
    """Service commands first, in their usual order, then the rest (echo)."""
    return [n for n in SERVICE_CLIS if n in names] + [n for n in names if n not in SERVICE_CLIS]


def _parse_options(args: argparse.Namespace, names: list[str]) -> dict[str, dict[str, Any]]:
    options: dict[str, dict[str, Any]] = {}
    for item in args.option:
        target, sep, text = item.partition("=")
        service, dot, key = target.partition(".")
        if not sep or not dot:
            raise CliError(f"--option {item!r} is not SERVICE.KEY=VALUE", USAGE)
        if service not in names:
            raise CliError(
                f"--option {item!r}: {service!r} is not started (started: {', '.join(names)})",
                USAGE,
            )
        declared = _emulator_options(service)
        if key not in declared:
            valid = ", ".join(declared) or "none"
            raise CliError(
                f"--option {item!r}: {service} has no option {key!r} (valid: {valid})", USAGE
            )
        try:
            options.setdefault(service, {})[key] = declared[key].parse(text)
        except ValueError as exc:
            message = f"--option {item!r}: {declared[key].type} expected ({exc})"
            raise CliError(message, USAGE) from None
    if args.myqtthub_broker is not None:
        host, colon, port = args.myqtthub_broker.rpartition(":")
        if not colon or not host or not port.isdigit():
            raise CliError(f"--myqtthub-broker {args.myqtthub_broker!r} is not HOST:PORT", USAGE)
        if "myqtthub" not in names:
            raise CliError("--myqtthub-broker needs the myqtthub service", USAGE)
        options.setdefault("myqtthub", {})["broker"] = args.myqtthub_broker
    return options


def _table(rows: list[tuple[str, str, str]]) -> str:
    first = max(len(r[0]) for r in rows)
    second = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{first}}  {b:<{second}}  {c}".rstrip() for a, b, c in rows)


def _summary(state: State, state_file: str) -> str:
    """Aligned rows: per service its URLs, test logins and a command that works as printed."""
    rows = [("CA file", "", state.ca_file), ("state file", "", state_file), ("", "", "")]
    for name in _service_order(list(state.services)):
        urls = state.services[name]["urls"]
        for i, (kind, url) in enumerate(urls.items()):
            rows.append((name if i == 0 else "", kind, url))
        credentials = state.credentials(name)
        if credentials:
            text = " ".join(f"{k}={shlex.quote(v)}" for k, v in credentials.items())
            rows.append(("", "login", text))
        if name in SERVICE_CLIS:
            rows.append(("", "try", _cli_module(name).sandbox_command(state)))
    return _table(rows)


def _cli_module(name: str) -> ModuleType:
    return importlib.import_module(SERVICE_CLIS[name])


def _sandbox(args: argparse.Namespace) -> int:
    from . import sandbox
    from .sandbox import state

    known = list(sandbox.EMULATORS)
    unknown = [n for n in args.services if n not in known]
    if unknown:
        valid = ", ".join(_service_order(known))
        raise CliError(f"unknown service {unknown[0]!r} (valid: {valid})", USAGE)
    names = _service_order(list(dict.fromkeys(args.services)) or known)
    options = _parse_options(args, names)
    state_file = state.resolve(args.state_file)
    with contextlib.suppress(state.StateFileError):  # an unreadable file is just replaced
        running = state.read(state_file)
        if running is not None:
            raise CliError(
                f"a sandbox (pid {running.pid}) already runs with the state file {state_file}; "
                "stop it, or give this one another --state-file"
            )
    stop = threading.Event()
    # Handled explicitly: a sandbox started in the background of a script inherits SIGINT
    # ignored, and closing its terminal sends SIGHUP; each must still remove the state file.
    for signame in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, signame):
            signal.signal(getattr(signal, signame), lambda *_: stop.set())
    with sandbox.start(names, host=args.host, options=options, port_base=args.port_base) as sb:
        current = state.State.of(sb)
        current.write(state_file)
        try:
            print(f"ferrolink sandbox: {', '.join(names)} on {sb.host} (Ctrl-C to stop)")
            print(_summary(current, str(state_file)), flush=True)
            while not stop.wait(0.5):  # a timeout keeps Ctrl-C responsive on Windows
                pass
        finally:
            current.remove(state_file)
    print("sandbox stopped", flush=True)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from . import demo

    return demo.run()


def _port_base(text: str) -> int:
    from .sandbox.ports import PORT_SPAN

    try:
        base = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= base <= 65536 - PORT_SPAN:
        raise argparse.ArgumentTypeError(f"must be between 1 and {65536 - PORT_SPAN}")
    return base


def build_parser() -> CliParser:
    parser = CliParser(
        prog="ferrolink", description="Fast clients, CLIs and an offline sandbox for five services."
    )
    parser.add_argument("--version", action="version", version=f"ferrolink {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = add_command(
        sub,
        "sandbox",
        help="run the emulators on loopback until Ctrl-C (a local dev server)",
        description=SANDBOX_DESCRIPTION,
    )
    p.epilog_factory = _sandbox_epilog
    p.add_argument(
        "services",
        nargs="*",
        metavar="SERVICE",
        help=f"only these services (default: all of {', '.join([*SERVICE_CLIS, 'echo'])})",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument(
        "--port-base",
        type=_port_base,
        metavar="N",
        help="fixed ports from N to N+49 (layout above; default: ephemeral ports)",
    )
    p.add_argument(
        "--state-file",
        metavar="PATH",
        help=f"where to write the state file (default: ${STATE_ENV}, else the path above)",
    )
    p.add_argument(
        "--myqtthub-broker",
        metavar="HOST:PORT",
        help="bridge MyQttHub to this real MQTT broker (e.g. a local mosquitto)",
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="SERVICE.KEY=VALUE",
        help="an emulator option, e.g. exp.polling_only=true (repeatable; keys listed below)",
    )
    p.set_defaults(func=guarded("ferrolink sandbox", _sandbox))
    p = add_command(
        sub,
        "demo",
        help="run every service's main flows against the sandbox",
        description="Start the sandbox in-process and run every service's main flows against "
        "it, with a readable summary; exit 1 when a section fails.",
    )
    p.set_defaults(func=_demo)
    for name in SERVICE_CLIS:
        _cli_module(name).register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return USAGE
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
