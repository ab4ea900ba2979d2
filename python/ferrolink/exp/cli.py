"""``ferrolink exp``: list devices, broadcast, listen (against EXP or the embedded sandbox).

Secrets come from options or the environment (``EXP_PASSWORD``, ``EXP_SECRET``,
``EXP_API_KEY``) so they need not appear in the process list. ``--sandbox`` starts the
EXP emulator in-process and logs in with its test user.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from .errors import ExpError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("exp", help="EXP: devices, broadcasts, listeners")
    parser.add_argument("--host", help="EXP host URL (default: the sandbox with --sandbox)")
    parser.add_argument("--port", type=int)
    parser.add_argument("--ca-file", help="extra CA bundle (PEM)")
    parser.add_argument("--sandbox", action="store_true", help="run against the embedded sandbox")
    parser.add_argument("--username")
    parser.add_argument("--organization")
    parser.add_argument("--uuid", help="device or consumer-app uuid")
    parser.add_argument("--polling", action="store_true", help="no WebSocket upgrade")
    cmds = parser.add_subparsers(dest="exp_command", metavar="COMMAND", required=True)

    p = cmds.add_parser("devices", help="list devices (filters as key=value)")
    p.add_argument("filters", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--limit", type=int)
    p.set_defaults(func=_devices)

    p = cmds.add_parser("broadcast", help="broadcast NAME [PAYLOAD-JSON] on CHANNEL")
    _channel_args(p)
    p.add_argument("payload", nargs="?", default="null", help="JSON payload (default null)")
    p.add_argument("--timeout", type=float, default=0.5, help="response window in seconds")
    p.set_defaults(func=_broadcast)

    p = cmds.add_parser("listen", help="print broadcasts NAME on CHANNEL as JSON lines")
    _channel_args(p)
    p.add_argument("--count", type=int, help="stop after this many messages")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.set_defaults(func=_listen)


def _channel_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("channel")
    p.add_argument("name")
    p.add_argument("--system", action="store_true")
    p.add_argument("--consumer", action="store_true")


@contextlib.contextmanager
def _connect(args: argparse.Namespace, network: bool) -> Iterator[Any]:
    from . import start

    options: dict[str, Any] = {
        "enable_network": network,
        "websocket": not args.polling,
        "ca_file": args.ca_file,
    }
    with contextlib.ExitStack() as stack:
        if args.sandbox:
            from .. import sandbox

            sb = stack.enter_context(sandbox.start(["exp"]))
            creds = sb.credentials("exp")
            options.update(
                host=sb.url("exp"),
                ca_file=sb.ca_file,
                username=creds["username"],
                password=creds["password"],
                organization=creds["organization"],
            )
        else:
            if not args.host:
                raise ExpError("pass --host (or --sandbox)")
            options.update(
                host=args.host,
                port=args.port,
                username=args.username,
                organization=args.organization,
                uuid=args.uuid,
                password=os.environ.get("EXP_PASSWORD"),
                secret=os.environ.get("EXP_SECRET"),
                api_key=os.environ.get("EXP_API_KEY"),
            )
        sdk = start(**{k: v for k, v in options.items() if v is not None})
        stack.callback(sdk.stop)
        yield sdk


def _run(args: argparse.Namespace, body: Any) -> int:
    try:
        return int(body())
    except (ExpError, ValueError) as exc:
        print(f"ferrolink exp: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _devices(args: argparse.Namespace) -> int:
    def body() -> int:
        params: dict[str, Any] = {}
        for item in args.filters:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"filter {item!r} is not KEY=VALUE")
            params[key] = value
        if args.limit is not None:
            params["limit"] = args.limit
        with _connect(args, network=False) as sdk:
            devices = sdk.api.find_devices(**params)
            for device in devices:
                print(f"{device.uuid}\t{device.name}\t{device.document.get('subtype', '')}")
            print(f"({len(devices)} of {devices.total})", file=sys.stderr)
        return 0

    return _run(args, body)


def _broadcast(args: argparse.Namespace) -> int:
    def body() -> int:
        payload = json.loads(args.payload)
        with _connect(args, network=False) as sdk:
            channel = sdk.get_channel(args.channel, system=args.system, consumer=args.consumer)
            print(json.dumps(channel.broadcast(args.name, payload, timeout=args.timeout)))
        return 0

    return _run(args, body)


def _listen(args: argparse.Namespace) -> int:
    def body() -> int:
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

    return _run(args, body)
