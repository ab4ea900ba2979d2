"""ferrolink exp: list devices, broadcast and listen, against EXP or the sandbox."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import threading
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

if TYPE_CHECKING:
    from ..sandbox.state import State

__all__ = ["register", "sandbox_command"]

PASSWORD_ENV = "EXP_PASSWORD"
SECRET_ENV = "EXP_SECRET"
API_KEY_ENV = "EXP_API_KEY"

DESCRIPTION = """\
List devices, broadcast messages and listen for them on EXP.

Log in as a user (--username, --organization, password in EXP_PASSWORD), a device (--uuid,
secret in EXP_SECRET) or a consumer app (--uuid, key in EXP_API_KEY); with --sandbox, as the
sandbox's test user. Secrets are read from the environment (or a prompt on a terminal) so they
never appear in the process list.

  ferrolink exp --sandbox listen news hello        # one terminal: prints JSON lines
  ferrolink exp --sandbox broadcast news hello '{"text": "hi"}'   # another terminal
"""


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "exp",
        help="EXP: devices, broadcasts, listeners",
        description=DESCRIPTION,
        env={
            PASSWORD_ENV: "the user's password (with --username)",
            SECRET_ENV: "the device secret (with --uuid)",
            API_KEY_ENV: "the consumer app's API key (with --uuid)",
            **SANDBOX_ENV,
        },
    )
    parser.add_argument("--host", help="EXP URL, e.g. https://api.goexp.io")
    parser.add_argument("--port", type=int, help="port, when not the URL's default")
    parser.add_argument("--ca-file", metavar="PEM", help="extra CA bundle to trust")
    add_sandbox_flag(parser)
    parser.add_argument("--username", help="log in as this user")
    parser.add_argument("--organization", help="the user's organization")
    parser.add_argument("--uuid", help="log in as this device or consumer app")
    parser.add_argument("--polling", action="store_true", help="HTTP long-polling, no WebSocket")
    cmds = parser.add_subparsers(dest="exp_command", metavar="COMMAND", required=True)

    p = cmds.add_parser(
        "devices", help="list devices", description="List devices, filtered by KEY=VALUE."
    )
    p.add_argument(
        "filters", nargs="*", metavar="KEY=VALUE", help="filters, e.g. subtype=scala:device:player"
    )
    p.add_argument("--limit", type=int, help="at most this many devices")
    p.set_defaults(func=guarded("ferrolink exp", _devices))

    p = cmds.add_parser(
        "broadcast",
        help="broadcast NAME with a JSON payload on CHANNEL",
        description="Broadcast NAME on CHANNEL and print the responses (a JSON list).",
    )
    _channel_args(p)
    p.add_argument("payload", nargs="?", default="null", help="JSON payload (default null)")
    p.add_argument(
        "--timeout", type=float, default=0.5, help="seconds to collect responses (default 0.5)"
    )
    p.set_defaults(func=guarded("ferrolink exp", _broadcast))

    p = cmds.add_parser(
        "listen",
        help="print broadcasts NAME on CHANNEL as JSON lines",
        description="Print the payload of every broadcast NAME on CHANNEL as one JSON line on "
        "stdout, until Ctrl-C, --count or --duration.",
    )
    _channel_args(p)
    p.add_argument("--count", type=int, help="stop after this many messages")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.set_defaults(func=guarded("ferrolink exp", _listen))


def sandbox_command(state: State) -> str:
    """A command that works as printed against the running sandbox ``state``."""
    creds = state.credentials("exp")
    return (
        f"{PASSWORD_ENV}={shlex.quote(creds['password'])} ferrolink exp"
        f" --host {state.url('exp')} --ca-file {shlex.quote(state.ca_file)}"
        f" --username {shlex.quote(creds['username'])}"
        f" --organization {shlex.quote(creds['organization'])} devices"
    )


def _channel_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("channel", help="channel name")
    p.add_argument("name", help="message name")
    p.add_argument("--system", action="store_true", help="the system channel")
    p.add_argument("--consumer", action="store_true", help="the consumer channel")


def _login(args: argparse.Namespace) -> dict[str, Any]:
    if args.username:
        return {
            "username": args.username,
            "organization": args.organization,
            "password": ask(PASSWORD_ENV, "EXP password: "),
        }
    if args.uuid:
        if os.environ.get(API_KEY_ENV) and not os.environ.get(SECRET_ENV):
            return {"uuid": args.uuid, "api_key": os.environ[API_KEY_ENV]}
        return {"uuid": args.uuid, "secret": ask(SECRET_ENV, "EXP device secret: ")}
    raise CliError("pass --username or --uuid to log in (or --sandbox)", USAGE)


@contextlib.contextmanager
def _connect(args: argparse.Namespace, network: bool) -> Iterator[Any]:
    from . import start

    options: dict[str, Any] = {"enable_network": network, "websocket": not args.polling}
    with contextlib.ExitStack() as stack:
        if args.sandbox:
            state = stack.enter_context(sandbox_state("exp"))
            creds = state.credentials("exp")
            options.update(
                host=state.url("exp"),
                ca_file=state.ca_file,
                username=creds["username"],
                password=creds["password"],
                organization=creds["organization"],
            )
        else:
            if not args.host:
                raise CliError("pass --host (or --sandbox)", USAGE)
            options.update(host=args.host, port=args.port, ca_file=args.ca_file, **_login(args))
        sdk = start(**{k: v for k, v in options.items() if v is not None})
        stack.callback(sdk.stop)
        yield sdk


def _json_arg(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"{what} is not JSON: {exc}", USAGE) from None


def _devices(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {}
    for item in args.filters:
        key, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"filter {item!r} is not KEY=VALUE", USAGE)
        params[key] = value
    if args.limit is not None:
        params["limit"] = args.limit
    with _connect(args, network=False) as sdk:
        devices = sdk.api.find_devices(**params)
        for device in devices:
            print(f"{device.uuid}\t{device.name}\t{device.document.get('subtype', '')}")
        print(f"({len(devices)} of {devices.total})", file=sys.stderr)
    return 0


def _broadcast(args: argparse.Namespace) -> int:
    payload = _json_arg(args.payload, "the payload")
    with _connect(args, network=False) as sdk:
        channel = sdk.get_channel(args.channel, system=args.system, consumer=args.consumer)
        print(json.dumps(channel.broadcast(args.name, payload, timeout=args.timeout)), flush=True)
    return 0


def _listen(args: argparse.Namespace) -> int:
    done = threading.Event()
    seen = [0]

    def show(message: Any) -> None:
        print(json.dumps(message.payload), flush=True)
        seen[0] += 1
        if args.count is not None and seen[0] >= args.count:
            done.set()

    with _connect(args, network=True) as sdk:
        channel = sdk.get_channel(args.channel, system=args.system, consumer=args.consumer)
        channel.listen(args.name, callback=show)
        print(f"listening on {args.channel!r} for {args.name!r}", file=sys.stderr, flush=True)
        done.wait(args.duration)
    return 0
