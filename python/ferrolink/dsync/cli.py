"""ferrolink dsync: realtime calls, data layouts and entity tokens from the command line."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .._cli import (
    SANDBOX_ENV,
    USAGE,
    CliError,
    add_command,
    add_sandbox_flag,
    ask,
    guarded,
    sandbox_state,
)
from .data_layout import DataLayout, ValidationException, layout_envelope
from .entity_token import DEFAULT_TOKEN_PREFIX, generate_entity_token
from .realtime import DEFAULT_ENDPOINT, REALTIME_PATH, RealtimeRequest
from .rules import layout_problems

if TYPE_CHECKING:
    from ..sandbox.state import State

__all__ = ["register", "sandbox_command"]

AUTH_ENV = "DSYNC_AUTH_TOKEN"
DEFAULT_URL = DEFAULT_ENDPOINT[: -len(REALTIME_PATH)]


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "dsync",
        help="DSYNC realtime calls, data layouts and entity tokens",
        description="DSYNC realtime calls, data layouts and entity tokens.",
    )
    sub = parser.add_subparsers(dest="dsync_command", metavar="ACTION", required=True)
    realtime_env = {AUTH_ENV: "the API key (auth token) of the realtime calls", **SANDBOX_ENV}
    for action, argument, what in (
        ("create", "json", "create a record (POST the JSON object)"),
        ("update", "json", "update a record (PUT the JSON object)"),
        ("delete", "entity_id", "delete the record with this primary key (DELETE)"),
    ):
        p = add_command(
            sub,
            action,
            help=what,
            description=f"Realtime API: {what}; prints the reply as JSON.\n\n"
            f"  ferrolink dsync {action} --sandbox ENTITY_TOKEN "
            + ('\'{"sku": "A-1", "name": "Anvil"}\'' if argument == "json" else "A-1")
            + "\n  (with --sandbox, ENTITY_TOKEN may be - for the sandbox's product entity)",
            env=realtime_env,
        )
        p.add_argument("entity_token", help="the entity token of the layout endpoint")
        if argument == "json":
            p.add_argument("json", metavar="JSON", help="the record, a JSON object ('-': stdin)")
        else:
            p.add_argument("entity_id", help="the record's primary key (sent as Entity-Id)")
        p.add_argument(
            "--url",
            default=DEFAULT_URL,
            help="API root; /api/realtime is appended (default %(default)s)",
        )
        p.add_argument("--ca-file", metavar="PEM", help="extra CA bundle to trust")
        add_sandbox_flag(p)
        p.set_defaults(func=guarded("ferrolink dsync", _realtime), action=action)

    p = add_command(
        sub,
        "layout",
        help="print a data layout normalised (all 13 field keys), optionally validated",
        description='Read a layout JSON file ({"data_layout": [...]} or the served envelope;\n'
        "'-' for stdin) and print it as DSYNC receives it.",
    )
    p.add_argument("file", help="the layout JSON file, or - for stdin")
    p.add_argument("--validate", action="store_true", help="check every rule; exit 1 on problems")
    p.add_argument(
        "--envelope", action="store_true", help="print the served {status, ...} envelope"
    )
    p.set_defaults(func=guarded("ferrolink dsync", _layout))

    p = add_command(
        sub,
        "token",
        help="generate a new entity token for an entity name",
        description="Print a new, random entity token for ENTITY_NAME.",
    )
    p.add_argument("entity_name", help="the entity's name, e.g. product")
    p.add_argument(
        "--prefix", default=DEFAULT_TOKEN_PREFIX, help="token prefix (default %(default)s)"
    )
    p.set_defaults(func=guarded("ferrolink dsync", _token))


def sandbox_command(state: State) -> str:
    """A command that works as printed against the running sandbox ``state``."""
    creds = state.credentials("dsync")
    return (
        f"{AUTH_ENV}={shlex.quote(creds['auth_token'])} ferrolink dsync create"
        f" --url {state.url('dsync', 'https')} --ca-file {shlex.quote(state.ca_file)}"
        f' {shlex.quote(creds["entity_token"])} \'{{"sku": "A-1", "name": "Anvil"}}\''
    )


def _read_json(source: str, what: str) -> Any:
    try:
        if source == "-":
            return json.load(sys.stdin)
        return json.loads(source)
    except ValueError as exc:
        raise CliError(f"{what} is not JSON: {exc}", USAGE) from None


@contextmanager
def _request(args: argparse.Namespace) -> Iterator[RealtimeRequest]:
    if args.sandbox:
        with sandbox_state("dsync") as state:
            creds = state.credentials("dsync")
            token = creds["entity_token"] if args.entity_token == "-" else args.entity_token
            with RealtimeRequest(
                creds["auth_token"],
                token,
                base_url=state.url("dsync", "https"),
                ca_file=state.ca_file,
            ) as request:
                yield request
        return
    auth_token = ask(AUTH_ENV, "DSYNC auth token: ")
    with RealtimeRequest(
        auth_token, args.entity_token, base_url=args.url, ca_file=args.ca_file
    ) as request:
        yield request


def _realtime(args: argparse.Namespace) -> int:
    record = _read_json(args.json, "the record") if args.action != "delete" else None
    if record is not None and not isinstance(record, dict):
        raise CliError("the record must be a JSON object", USAGE)
    with _request(args) as request:
        if args.action == "create":
            reply = request.create(record or {})
        elif args.action == "update":
            reply = request.update(record or {})
        else:
            reply = request.delete(args.entity_id)
    print(json.dumps(reply, indent=2))
    return 0


def _layout(args: argparse.Namespace) -> int:
    try:
        if args.file == "-":
            raw = json.load(sys.stdin)
        else:
            with open(args.file, encoding="utf-8") as handle:
                raw = json.load(handle)
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}", USAGE) from None
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise CliError(f"cannot read {args.file}: not JSON ({exc})", USAGE) from None
    try:
        generated = DataLayout.from_dict(raw).generate()
    except ValidationException as exc:
        raise CliError(f"invalid layout: {exc}") from None
    if args.validate:
        problems = layout_problems(generated)
        if problems:
            lines = "".join(f"\n  - {problem}" for problem in problems)
            raise CliError(f"{len(problems)} problem(s) in {args.file}:{lines}")
    out = layout_envelope(generated, validate=False) if args.envelope else generated
    print(json.dumps(out, indent=2))
    if args.validate:
        entities = generated["data_layout"]
        print(f"valid: {len(entities)} entities", file=sys.stderr)
    return 0


def _token(args: argparse.Namespace) -> int:
    try:
        print(generate_entity_token(args.entity_name, prefix=args.prefix))
    except ValueError as exc:
        raise CliError(str(exc), USAGE) from None
    return 0
