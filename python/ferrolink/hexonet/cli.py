"""ferrolink hexonet COMMAND=StatusAccount [KEY=VALUE ...]: one API command from the shell."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Optional

from .._cli import (
    SANDBOX_ENV,
    USAGE,
    CliError,
    add_command,
    add_sandbox_flag,
    ask,
    guarded,
    progress,
    sandbox_state,
    with_hint,
)
from .apiclient import APIClient
from .response import Response

if TYPE_CHECKING:
    from ..sandbox.state import State

__all__ = ["register", "sandbox_command"]

USER_ENV = "FERROLINK_HEXONET_USER"
PASSWORD_ENV = "FERROLINK_HEXONET_PASSWORD"

DESCRIPTION = """\
Send one HEXONET API command and print the reply as a table (or JSON).

  ferrolink hexonet COMMAND=QueryDomainList LIMIT=10 WIDE=1
  ferrolink hexonet --sandbox COMMAND=StatusAccount

The user and password come from the environment, else from a prompt on a terminal.
"""


def register(subparsers: Any) -> None:
    p = add_command(
        subparsers,
        "hexonet",
        help="send one HEXONET API command",
        description=DESCRIPTION,
        env={
            USER_ENV: "the login (user or user!subuser)",
            PASSWORD_ENV: "the password",
            **SANDBOX_ENV,
        },
    )
    p.add_argument(
        "params", nargs="+", metavar="KEY=VALUE", help="command parameters, COMMAND=... among them"
    )
    p.add_argument("--ote", action="store_true", help="use the OT&E test system")
    p.add_argument("--url", help="API URL, ending in /api/call.cgi (a proxy or the sandbox)")
    p.add_argument("--ca-file", metavar="PEM", help="extra CA bundle to trust")
    p.add_argument(
        "--all-pages",
        action="store_true",
        help="walk every page of a list command (progress on stderr when it is a terminal)",
    )
    p.add_argument("--json", action="store_true", help="print the reply as JSON")
    add_sandbox_flag(p)
    p.set_defaults(func=guarded("ferrolink hexonet", run))


def sandbox_command(state: State) -> str:
    """A command that works as printed against the running sandbox ``state``."""
    creds = state.credentials("hexonet")
    return (
        f"{USER_ENV}={shlex.quote(creds['login'])} {PASSWORD_ENV}={shlex.quote(creds['password'])}"
        f" ferrolink hexonet --url {state.url('hexonet', 'https')}"
        f" --ca-file {shlex.quote(state.ca_file)} COMMAND=StatusAccount"
    )


def parse_params(params: list[str]) -> dict[str, str]:
    command: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"expected KEY=VALUE, got {item!r}", USAGE)
        command[key] = value
    if not any(k.upper() == "COMMAND" for k in command):
        raise CliError("missing COMMAND=... parameter", USAGE)
    return command


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[tuple[APIClient, str, str]]:
    if args.sandbox:
        with sandbox_state("hexonet") as state:
            creds = state.credentials("hexonet")
            url = state.url("hexonet", "https")
            cl = APIClient(ca_file=state.ca_file)
            if args.ote:
                cl.useOTESystem()
            yield cl.setURL(url), creds["login"], creds["password"]
        return
    user = ask(USER_ENV, "HEXONET user: ", secret=False)
    password = ask(PASSWORD_ENV, "HEXONET password: ")
    cl = APIClient(ca_file=args.ca_file)
    if args.ote:
        cl.useOTESystem()
    if args.url:
        cl.setURL(args.url)
    yield cl, user, password


def _fetch(cl: APIClient, command: dict[str, str], all_pages: bool) -> list[Response]:
    if not all_pages:
        return [cl.request(command)]
    cmd: dict[str, Any] = dict(command)
    cmd["FIRST"] = 0
    pages = [cl.request(cmd)]
    while True:
        progress(sum(p.getRecordsCount() for p in pages), pages[0].getRecordsTotalCount())
        nxt = cl.requestNextResponsePage(pages[-1])
        if nxt is None:
            break
        pages.append(nxt)
    return pages


def _table(rows: list[dict[str, str]], columns: list[str]) -> str:
    widths = {c: min(40, max([len(c)] + [len(r.get(c, "")) for r in rows])) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines.append("  ".join("-" * widths[c] for c in columns))
    lines += ["  ".join(r.get(c, "")[:40].ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


def _transport_error(first: Response) -> Optional[str]:
    error = first.getError()
    if not error:
        return None
    return with_hint(f"{first.getCode()} {first.getDescription()}: {error}")


def run(args: argparse.Namespace) -> int:
    command = parse_params(args.params)
    with _target(args) as (cl, user, password):
        cl.setCredentials(user, password)
        pages = _fetch(cl, command, args.all_pages)
    first = pages[0]
    problem = _transport_error(first)
    if problem:
        raise CliError(problem)
    paging = {"COUNT", "FIRST", "LAST", "LIMIT", "TOTAL"}
    columns = [c for c in first.getColumnKeys() if c not in paging]
    rows = [
        {k: v for k, v in rec.getData().items() if k not in paging}
        for p in pages
        for rec in p.getRecords()
    ]
    rows = [r for r in rows if r]
    if args.json:
        out = {
            "code": first.getCode(),
            "description": first.getDescription(),
            "columns": columns,
            "rows": rows,
            "pagination": pages[-1].getPagination(),
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(f"{first.getCode()} {first.getDescription()}")
        if rows:
            print(_table(rows, columns))
        if first.getRecordsTotalCount() > len(rows) or args.all_pages:
            print(f"({len(rows)} of {first.getRecordsTotalCount()} rows)")
    sys.stdout.flush()
    return 0 if all(p.isSuccess() for p in pages) else 1
