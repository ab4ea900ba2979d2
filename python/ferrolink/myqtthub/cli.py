"""ferrolink myqtthub publish TOPIC PAYLOAD and ferrolink myqtthub pull."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import shlex
import sys
from collections.abc import Iterator
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
from .client import DEFAULT_HOST, Client
from .topics import topic_problem

if TYPE_CHECKING:
    from ..sandbox.state import State

__all__ = ["register", "sandbox_command"]

PASSWORD_ENV = "MYQTTHUB_PASSWORD"

SESSIONS = """\
Each command logs in, does its work and logs out. With a clean session (the default) the
broker forgets the client's subscriptions and queued messages at logout, so a 'pull' in a
later invocation finds nothing. To receive between invocations, give every 'pull' the same
--client-id and --no-clean-session: the first one subscribes, and messages published after it
are queued until the next 'pull'.
"""


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "myqtthub",
        help="publish to and pull from MyQttHub over REST",
        description="Publish to and pull from MyQttHub over its REST bridge.\n\n" + SESSIONS,
    )
    sub = parser.add_subparsers(dest="myqtthub_command", metavar="ACTION", required=True)
    env = {PASSWORD_ENV: "the device's password (or the variable --password-env names)"}

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--url",
            default=f"https://{DEFAULT_HOST}",
            help="REST base URL (default %(default)s)",
        )
        p.add_argument("--client-id", help="the MQTT client id (required without --sandbox)")
        p.add_argument("--user", help="the device's user name (required without --sandbox)")
        p.add_argument(
            "--password-env",
            default=PASSWORD_ENV,
            metavar="VARIABLE",
            help="environment variable holding the password (default %(default)s)",
        )
        p.add_argument("--ca-file", metavar="PEM", help="extra CA certificate to trust")
        p.add_argument(
            "--no-clean-session",
            action="store_true",
            help="keep subscriptions and queued messages after logout (see above)",
        )
        add_sandbox_flag(p)

    p = add_command(
        sub,
        "publish",
        help="publish one message",
        description="Publish one message.\n\n" + SESSIONS,
        env={**env, **SANDBOX_ENV},
    )
    common(p)
    p.add_argument("topic", help="the topic (no wildcards)")
    p.add_argument("payload", help="the payload text (UTF-8); '-' reads bytes from stdin")
    p.add_argument(
        "--qos", type=int, choices=(0, 1, 2), default=0, help="QoS level (default %(default)s)"
    )
    p.add_argument("--retain", action="store_true", help="ask the broker to retain the message")
    p.set_defaults(func=guarded("ferrolink myqtthub", _publish))

    p = add_command(
        sub,
        "pull",
        help="pull queued messages (one JSON object per line)",
        description="Pull the queued messages and print one JSON object per line; says so on\n"
        "stderr when none was queued.\n\n" + SESSIONS,
        env={**env, **SANDBOX_ENV},
    )
    common(p)
    p.add_argument(
        "--subscribe",
        action="append",
        default=[],
        metavar="FILTER[:QOS]",
        help="subscribe first (repeatable), e.g. sensors/#:1",
    )
    p.add_argument(
        "--wait", type=float, default=0.0, help="poll up to this many seconds (default 0)"
    )
    p.set_defaults(func=guarded("ferrolink myqtthub", _pull))


def sandbox_command(state: State) -> str:
    """A command that works as printed against the running sandbox ``state``."""
    creds = state.credentials("myqtthub")
    return (
        f"{PASSWORD_ENV}={shlex.quote(creds['password'])} ferrolink myqtthub publish"
        f" --url {state.url('myqtthub', 'https')} --ca-file {shlex.quote(state.ca_file)}"
        f" --client-id {shlex.quote(creds['client_id'])}"
        f" --user {shlex.quote(creds['user_name'])} demo/hello 'hi'"
    )


@contextlib.contextmanager
def _connect(args: argparse.Namespace) -> Iterator[Client]:
    clean = not args.no_clean_session
    if args.sandbox:
        with sandbox_state("myqtthub") as state:
            creds = state.credentials("myqtthub")
            with Client(
                args.client_id or creds["client_id"],
                args.user or creds["user_name"],
                creds["password"],
                clean_session=clean,
                ca_file=state.ca_file,
                base_url=state.url("myqtthub", "https"),
            ) as hub:
                yield hub
        return
    if not args.client_id or not args.user:
        raise CliError("give --client-id and --user (or use --sandbox)", USAGE)
    password = ask(args.password_env, "MyQttHub password: ")
    with Client(
        args.client_id,
        args.user,
        password,
        clean_session=clean,
        ca_file=args.ca_file,
        base_url=args.url,
    ) as hub:
        yield hub


def _publish(args: argparse.Namespace) -> int:
    problem = topic_problem(args.topic)
    if problem:  # before logging in: a bad topic should not cost a login
        raise CliError(f"topic {args.topic!r}: {problem}", USAGE)
    payload = sys.stdin.buffer.read() if args.payload == "-" else args.payload.encode()
    with _connect(args) as hub:
        hub.publish(args.topic, payload, qos=args.qos, retain=args.retain)
    print(f"published {len(payload)} bytes to {args.topic}", file=sys.stderr)
    return 0


def _subscriptions(items: list[str]) -> list[tuple[str, int]]:
    subscriptions = []
    for item in items:
        topic_filter, _, qos = item.rpartition(":") if ":" in item else (item, "", "0")
        if qos not in ("0", "1", "2"):
            raise CliError(f"--subscribe {item!r}: QoS must be 0, 1 or 2", USAGE)
        subscriptions.append((topic_filter, int(qos)))
    return subscriptions


def _pull(args: argparse.Namespace) -> int:
    subscriptions = _subscriptions(args.subscribe)
    with _connect(args) as hub:
        if subscriptions:
            hub.subscribe(subscriptions)
        messages = hub.pull(wait=args.wait)
    for message in messages:
        payload = message.get("payload", b"")
        try:
            shown = payload.decode("utf-8")
        except (AttributeError, UnicodeDecodeError):
            shown = "base64:" + base64.b64encode(payload).decode()
        print(json.dumps({**message, "payload": shown}), flush=True)
    if not messages:
        print("no messages were queued", file=sys.stderr)
    return 0
