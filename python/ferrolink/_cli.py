"""What every ``ferrolink`` command has in common.

- Errors: one line ``ferrolink <service>: error: <message>`` on stderr; exit status 2 for a
  usage error (bad arguments, missing input), 1 for a runtime error (network, server, file).
  Never a traceback for bad input.
- Secrets: from an environment variable, else a prompt when stdin is a terminal, else a usage
  error naming the variable (a prompt without a terminal would just hit end-of-file).
- ``--sandbox``: attach to the ``ferrolink sandbox`` named by the state file; start a private
  one only when none runs, and say so on stderr.
- Progress: drawn on stderr only when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Optional, TextIO

from .errors import FerrolinkError
from .sandbox.state import ENV_VAR as STATE_ENV

if TYPE_CHECKING:
    from .sandbox.state import State

__all__ = [
    "RUNTIME",
    "USAGE",
    "CliError",
    "CliParser",
    "add_command",
    "add_sandbox_flag",
    "ask",
    "describe",
    "guarded",
    "progress",
    "sandbox_state",
    "with_hint",
]

RUNTIME = 1
USAGE = 2

#: What --sandbox reads, for the environment list in each command's help.
SANDBOX_ENV = {STATE_ENV: "the state file --sandbox reads (see 'ferrolink sandbox --help')"}

_CA_HINT = "; if the server's certificate comes from a private CA, pass that CA with --ca-file"


class CliError(Exception):
    """A failure the command reports as one line; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = RUNTIME) -> None:
        super().__init__(message)
        self.code = code


def _who(prog: str) -> str:
    """``ferrolink idigi push`` -> ``ferrolink idigi``: who an error line names."""
    return " ".join(prog.split()[:2])


def report(prog: str, message: str) -> None:
    """Print ``ferrolink <service>: error: <message>`` on stderr."""
    print(f"{_who(prog)}: error: {message}", file=sys.stderr)


class CliParser(argparse.ArgumentParser):
    """argparse with the house error line, and a help epilog built only when help is shown."""

    epilog_factory: Optional[Callable[[], str]] = None

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        report(self.prog, message)
        sys.exit(USAGE)

    def format_help(self) -> str:
        if self.epilog_factory is not None:
            self.epilog = self.epilog_factory()
        return super().format_help()


def env_epilog(env: Mapping[str, str]) -> str:
    width = max(len(name) for name in env)
    lines = [f"  {name.ljust(width)}  {meaning}" for name, meaning in env.items()]
    return "environment variables:\n" + "\n".join(lines)


def add_command(
    subparsers: Any,
    name: str,
    *,
    help: str,
    description: str,
    env: Optional[Mapping[str, str]] = None,
) -> CliParser:
    """A subcommand whose help lists the environment variables it reads."""
    parser: CliParser = subparsers.add_parser(
        name,
        help=help,
        description=description,
        epilog=env_epilog(env) if env else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def add_sandbox_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="use the running 'ferrolink sandbox' (found through its state file): its URL, CA "
        "and test credentials; when none runs, start a private one for this command",
    )


class _StderrHandler(logging.Handler):
    """``ferrolink <service>: warning: ...`` on the current ``sys.stderr`` (tests swap it)."""

    def __init__(self, who: str, level: int) -> None:
        super().__init__(level)
        self.who = who

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = f"{self.who}: {record.levelname.lower()}: {self.format(record)}"
            print(line, file=sys.stderr, flush=True)
        except Exception:
            self.handleError(record)


def guarded(
    prog: str, body: Callable[[argparse.Namespace], int], log_level: int = logging.WARNING
) -> Callable[[argparse.Namespace], int]:
    """Wrap a command: expected failures become one error line and an exit code, and
    ferrolink's log records at ``log_level`` and above go to stderr with the command's prefix.
    """

    def run(args: argparse.Namespace) -> int:
        handler = _StderrHandler(_who(prog), log_level)
        logger = logging.getLogger("ferrolink")
        logger.addHandler(handler)
        try:
            return body(args)
        except CliError as exc:
            report(prog, str(exc))
            return exc.code
        except (FerrolinkError, OSError) as exc:
            report(prog, describe(exc))
            return RUNTIME
        finally:
            logger.removeHandler(handler)

    return run


def describe(exc: BaseException) -> str:
    """One line for ``exc``: its message, plus a hint where the user can act on it."""
    if isinstance(exc, OSError) and not isinstance(exc, FerrolinkError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return with_hint(str(exc) or type(exc).__name__)


def with_hint(message: str) -> str:
    """``message``, plus what to do when it says the server's CA is not trusted."""
    lowered = message.lower()
    markers = ("unknownissuer", "unknown issuer", "unable to get local issuer")
    return message + (_CA_HINT if any(m in lowered for m in markers) else "")


def ask(variable: str, prompt: str, *, secret: bool = True) -> str:
    """The value of ``$variable``, else a prompt on a terminal, else a usage error."""
    value = os.environ.get(variable)
    if value:
        return value
    if not sys.stdin.isatty():
        raise CliError(f"set {variable} (there is no terminal to prompt on)", USAGE)
    try:
        answer = getpass.getpass(prompt) if secret else input(prompt)
    except EOFError:
        answer = ""
    if not answer:
        raise CliError(f"no value given; set {variable} or type it at the prompt", USAGE)
    return answer


def progress(done: int, total: Optional[int], stream: Optional[TextIO] = None) -> None:
    """Redraw a one-line progress bar, only when ``stream`` (stderr) is a terminal."""
    out = stream or sys.stderr
    if not total or not out.isatty():
        return
    width = 30
    filled = min(width, int(width * done / total))
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", file=out)
    if done >= total:
        print(file=out)
    out.flush()


@contextlib.contextmanager
def sandbox_state(service: str) -> Iterator[State]:
    """The :class:`~ferrolink.sandbox.state.State` to run ``service`` commands against.

    The running sandbox's when its state file names ``service``; otherwise a private sandbox
    started for this command (said on stderr), stopped on exit.
    """
    from . import sandbox
    from .sandbox import state

    current = state.read()
    if current is not None and service in current.services:
        yield current
        return
    reason = "no sandbox is running" if current is None else f"the sandbox does not run {service}"
    print(
        f"ferrolink {service}: {reason} (state file {state.resolve()}); "
        "starting a private one for this command",
        file=sys.stderr,
        flush=True,
    )
    with sandbox.start([service]) as private:
        yield state.State.of(private)
