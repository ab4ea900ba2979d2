"""``ferrolink hexonet COMMAND=StatusAccount [KEY=VALUE ...]``: one API command from the shell.

Credentials come from ``FERROLINK_HEXONET_USER`` / ``FERROLINK_HEXONET_PASSWORD`` or a
prompt. ``--sandbox`` runs the command against an embedded emulator instead.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
from collections.abc import Iterator
from typing import Any, Optional

from .apiclient import APIClient
from .response import Response


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("hexonet", help="send one HEXONET API command", description=__doc__)
    p.add_argument(
        "params", nargs="+", metavar="KEY=VALUE", help="command parameters (COMMAND=... first)"
    )
    p.add_argument("--ote", action="store_true", help="use the OT&E test system")
    p.add_argument("--url", help="API URL (e.g. a proxy or the sandbox)")
    p.add_argument("--ca-file", help="extra CA bundle to trust")
    p.add_argument("--all-pages", action="store_true", help="walk every page of a list command")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--sandbox", action="store_true", help="run against an embedded sandbox")
    p.set_defaults(func=run)


def parse_params(params: list[str]) -> dict[str, str]:
    command: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        command[key] = value
    if not any(k.upper() == "COMMAND" for k in command):
        raise ValueError("missing COMMAND=... parameter")
    return command


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[tuple[APIClient, str, str]]:
    if args.sandbox:
        from .. import sandbox

        with sandbox.start(["hexonet"]) as sb:
            creds = sb.credentials("hexonet")
            cl = APIClient(ca_file=sb.ca_file).setURL(sb.url("hexonet", "https") + "/api/call.cgi")
            if args.ote:
                cl.useOTESystem().setURL(sb.url("hexonet", "https") + "/api/call.cgi")
            yield cl, creds["login"], creds["password"]
        return
    cl = APIClient(ca_file=args.ca_file)
    if args.ote:
        cl.useOTESystem()
    if args.url:
        cl.setURL(args.url)
    user = os.environ.get("FERROLINK_HEXONET_USER") or input("HEXONET user: ")
    password = os.environ.get("FERROLINK_HEXONET_PASSWORD") or getpass.getpass("HEXONET password: ")
    yield cl, user, password


def _progress(done: int, total: Optional[int]) -> None:
    if total:
        width = 30
        filled = min(width, int(width * done / total))
        print(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
            end="",
            file=sys.stderr,
            flush=True,
        )


def _fetch(cl: APIClient, command: dict[str, str], all_pages: bool) -> list[Response]:
    if not all_pages:
        return [cl.request(command)]
    cmd: dict[str, Any] = dict(command)
    cmd["FIRST"] = 0
    pages = [cl.request(cmd)]
    while True:
        _progress(sum(p.getRecordsCount() for p in pages), pages[0].getRecordsTotalCount())
        nxt = cl.requestNextResponsePage(pages[-1])
        if nxt is None:
            break
        pages.append(nxt)
    print(file=sys.stderr)
    return pages


def _table(rows: list[dict[str, str]], columns: list[str]) -> str:
    widths = {c: min(40, max([len(c)] + [len(r.get(c, "")) for r in rows])) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines.append("  ".join("-" * widths[c] for c in columns))
    lines += ["  ".join(r.get(c, "")[:40].ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        command = parse_params(args.params)
    except ValueError as exc:
        print(f"ferrolink hexonet: {exc}", file=sys.stderr)
        return 2
    with _target(args) as (cl, user, password):
        cl.setCredentials(user, password)
        pages = _fetch(cl, command, args.all_pages)
    first = pages[0]
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
            "error": first.getError(),
            "columns": columns,
            "rows": rows,
            "pagination": pages[-1].getPagination(),
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(f"{first.getCode()} {first.getDescription()}")
        if first.getError():
            print(f"transport error: {first.getError()}")
        if rows:
            print(_table(rows, columns))
        if first.getRecordsTotalCount() > len(rows) or args.all_pages:
            print(f"({len(rows)} of {first.getRecordsTotalCount()} rows)")
    return 0 if all(p.isSuccess() for p in pages) else 1
