"""``ferrolink myqtthub publish TOPIC PAYLOAD`` and ``ferrolink myqtthub pull``."""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from typing import Any

from ..errors import FerrolinkError
from .client import DEFAULT_HOST, Client
from .topics import topic_problem

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("myqtthub", help="publish to and pull from MyQttHub over REST")
    sub = parser.add_subparsers(dest="myqtthub_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--url", default=f"https://{DEFAULT_HOST}", help="REST base URL")
        p.add_argument("--client-id", required=True)
        p.add_argument("--user", required=True, help="the device's user name")
        p.add_argument(
            "--password-env",
            default="MYQTTHUB_PASSWORD",
            help="environment variable holding the password (default MYQTTHUB_PASSWORD)",
        )
        p.add_argument("--ca-file", help="extra CA certificate (PEM) to trust")
        p.add_argument("--no-clean-session", action="store_true")

    p = sub.add_parser("publish", help="publish one message")
    common(p)
    p.add_argument("topic")
    p.add_argument("payload", help="the payload text (UTF-8); '-' reads bytes from stdin")
    p.add_argument("--qos", type=int, choices=(0, 1, 2), default=0)
    p.add_argument("--retain", action="store_true")
    p.set_defaults(func=_publish)

    p = sub.add_parser("pull", help="pull queued messages (one JSON object per line)")
    common(p)
    p.add_argument(
        "--subscribe",
        action="append",
        default=[],
        metavar="FILTER[:QOS]",
        help="subscribe first (repeatable), e.g. sensors/#:1",
    )
    p.add_argument("--wait", type=float, default=0.0, help="poll up to this many seconds")
    p.set_defaults(func=_pull)


def _client(args: argparse.Namespace) -> Client:
    password = os.environ.get(args.password_env)
    if password is None:
        raise SystemExit(f"ferrolink myqtthub: set the password in ${args.password_env}")
    return Client(
        args.client_id,
        args.user,
        password,
        clean_session=not args.no_clean_session,
        ca_file=args.ca_file,
        base_url=args.url,
    )


def _publish(args: argparse.Namespace) -> int:
    payload = sys.stdin.buffer.read() if args.payload == "-" else args.payload.encode()
    problem = topic_problem(args.topic)
    if problem:  # before logging in: a bad topic should not cost a login
        print(f"ferrolink myqtthub: topic {args.topic!r}: {problem}", file=sys.stderr)
        return 2
    try:
        with _client(args) as hub:
            hub.publish(args.topic, payload, qos=args.qos, retain=args.retain)
    except (FerrolinkError, ValueError) as exc:
        print(f"ferrolink myqtthub: {exc}", file=sys.stderr)
        return 1
    print(f"published {len(payload)} bytes to {args.topic}", file=sys.stderr)
    return 0


def _pull(args: argparse.Namespace) -> int:
    try:
        subscriptions = []
        for item in args.subscribe:
            topic_filter, _, qos = item.rpartition(":") if ":" in item else (item, "", "0")
            subscriptions.append((topic_filter, int(qos)))
        with _client(args) as hub:
            if subscriptions:
                hub.subscribe(subscriptions)
            messages = hub.pull(wait=args.wait)
    except (FerrolinkError, ValueError) as exc:
        print(f"ferrolink myqtthub: {exc}", file=sys.stderr)
        return 1
    for message in messages:
        payload = message.get("payload", b"")
        try:
            shown = payload.decode("utf-8")
        except (AttributeError, UnicodeDecodeError):
            shown = "base64:" + base64.b64encode(payload).decode()
        print(json.dumps({**message, "payload": shown}))
    return 0
