"""``ferrolink dsync``: check data layouts and make entity tokens from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .data_layout import DataLayout, ValidationException, layout_envelope
from .entity_token import DEFAULT_TOKEN_PREFIX, generate_entity_token
from .rules import layout_problems

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dsync", help="DSYNC data layouts and entity tokens")
    sub = parser.add_subparsers(dest="dsync_command", metavar="ACTION", required=True)

    p = sub.add_parser(
        "layout",
        help="print a data layout normalised (all 13 field keys), optionally validated",
        description='Read a layout JSON file ({"data_layout": [...]} or the served envelope; '
        "'-' for stdin) and print it as DSYNC receives it.",
    )
    p.add_argument("file", help="the layout JSON file, or - for stdin")
    p.add_argument("--validate", action="store_true", help="check every rule; exit 1 on problems")
    p.add_argument(
        "--envelope", action="store_true", help="print the served {status, ...} envelope"
    )
    p.set_defaults(func=_layout)

    p = sub.add_parser("token", help="generate a new entity token for an entity name")
    p.add_argument("entity_name")
    p.add_argument("--prefix", default=DEFAULT_TOKEN_PREFIX)
    p.set_defaults(func=_token)


def _layout(args: argparse.Namespace) -> int:
    try:
        if args.file == "-":
            raw = json.load(sys.stdin)
        else:
            with open(args.file, encoding="utf-8") as handle:
                raw = json.load(handle)
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        print(f"ferrolink dsync: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        generated = DataLayout.from_dict(raw).generate()
    except ValidationException as exc:
        print(f"ferrolink dsync: invalid layout: {exc}", file=sys.stderr)
        return 1
    if args.validate:
        problems = layout_problems(generated)
        if problems:
            print(f"ferrolink dsync: {len(problems)} problem(s) in {args.file}:", file=sys.stderr)
            for problem in problems:
                print(f"  - {problem}", file=sys.stderr)
            return 1
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
        print(f"ferrolink dsync: {exc}", file=sys.stderr)
        return 2
    return 0
