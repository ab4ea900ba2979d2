"""ferrolink idigi push: the reference client's example push_client.py as a command.

Finds a monitor for the topics and deletes it (to apply the new settings), creates a fresh one,
pretty-prints every event it receives, and on Ctrl-C (or SIGTERM) stops the session and deletes
the monitor.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, Optional

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
from .client import PushClient, push_client

if TYPE_CHECKING:
    from ..sandbox.state import State

__all__ = ["register", "sandbox_command"]

PASSWORD_ENV = "IDIGI_PASSWORD"
# Consecutive failed connection attempts before the command suggests checking the port.
_HINT_AFTER = 3

DESCRIPTION = """\
iDigi Push Client Sample: create a push monitor for the topics (replacing an existing one),
print every event it pushes until Ctrl-C, then delete the monitor.

The password is the second argument, else IDIGI_PASSWORD, else a prompt on a terminal. A
password given as an argument is visible to other users of this machine (ps); prefer the
variable.

  ferrolink idigi push --sandbox --topics DeviceCore,DataPoint
"""


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "idigi",
        help="iDigi / Device Cloud push monitoring",
        description="iDigi / Device Cloud push monitoring.",
    )
    sub = parser.add_subparsers(dest="idigi_command", metavar="ACTION", required=True)
    push = add_command(
        sub,
        "push",
        help="create a push monitor and print the events it receives until Ctrl-C",
        description=DESCRIPTION,
        env={PASSWORD_ENV: "the password (instead of the argument)", **SANDBOX_ENV},
    )
    push.add_argument(
        "username", nargs="?", help="Username to authenticate with (not with --sandbox)."
    )
    push.add_argument(
        "password", nargs="?", help=f"Password to authenticate with (better: ${PASSWORD_ENV})."
    )
    push.add_argument(
        "--topics",
        "-t",
        default="DeviceCore",
        help="A comma-separated list of topics to listen on (default %(default)s).",
    )
    push.add_argument(
        "--host",
        "-a",
        default="my.idigi.com",
        help="iDigi server to connect to, host[:port] (default %(default)s).",
    )
    push.add_argument(
        "--insecure",
        action="store_true",
        help="Prevent client from making secure (SSL) connection.",
    )
    push.add_argument(
        "--compression",
        "-c",
        choices=("none", "gzip"),
        default="gzip",
        help="Compression type to use (default %(default)s).",
    )
    push.add_argument(
        "--format",
        "-f",
        choices=("json", "xml"),
        default="json",
        help="Format data should be pushed up in (default %(default)s).",
    )
    push.add_argument(
        "--batchsize",
        "-b",
        type=int,
        default=1,
        help="Amount of messages to batch up before sending data (default %(default)s).",
    )
    push.add_argument(
        "--batchduration",
        "-d",
        type=int,
        default=60,
        help="Seconds to wait before sending batch if batchsize not met (default %(default)s).",
    )
    push.add_argument(
        "--ca-file", metavar="PEM", help="CA bundle trusted on top of the system store."
    )
    push.add_argument(
        "--push-port",
        type=int,
        metavar="PORT",
        help="Push port (default 3201, or 3200 with --insecure).",
    )
    add_sandbox_flag(push)
    # Session state changes print as lines of their own; the library's warning for each
    # disconnect would say the same again.
    push.set_defaults(func=guarded("ferrolink idigi", _push, log_level=logging.ERROR))


def sandbox_command(state: State) -> str:
    """A command that works as printed against the running sandbox ``state``."""
    creds = state.credentials("idigi")
    rest = state.url("idigi", "https").split("://", 1)[1]
    return (
        f"{PASSWORD_ENV}={shlex.quote(creds['password'])} ferrolink idigi push"
        f" --host {rest} --push-port {state.port('idigi', 'push_tls')}"
        f" --ca-file {shlex.quote(state.ca_file)} {shlex.quote(creds['username'])}"
    )


def _printer(fmt: str) -> Any:
    def json_cb(data: str) -> bool:
        try:
            parsed = json.loads(data)
        except ValueError:
            print(f"Data Received (not JSON) {data}", flush=True)
            return False
        print(f"Data Received {json.dumps(parsed, sort_keys=True, indent=4)}", flush=True)
        return True

    def xml_cb(data: str) -> bool:
        print(f"Data Received {data}", flush=True)
        return True

    return json_cb if fmt == "json" else xml_cb


def _client(args: argparse.Namespace, state: Optional[State]) -> PushClient:
    if state is not None:
        creds = state.credentials("idigi")
        kind = "push" if args.insecure else "push_tls"
        return push_client(
            args.username or creds["username"],
            args.password or creds["password"],
            hostname=state.url("idigi", "http" if args.insecure else "https").split("://", 1)[1],
            secure=not args.insecure,
            ca_certs=state.ca_file,
            push_port=args.push_port or state.port("idigi", kind),
        )
    if not args.username:
        raise CliError("give the username (or use --sandbox)", USAGE)
    if args.password is not None:
        print(
            f"ferrolink idigi: warning: a password on the command line is visible to other "
            f"users; set {PASSWORD_ENV} instead",
            file=sys.stderr,
        )
        password = args.password
    else:
        password = ask(PASSWORD_ENV, "iDigi password: ")
    return push_client(
        args.username,
        password,
        hostname=args.host,
        secure=not args.insecure,
        ca_certs=args.ca_file,
        push_port=args.push_port,
    )


class _Watch:
    """Turns session states into output: one line each, a hint on repeated failures."""

    def __init__(self, client: PushClient, stop: threading.Event) -> None:
        self.where = f"{client.push_host}:{client.push_port}"
        self.stop = stop
        self.failures = 0
        self.failed: Optional[str] = None

    def __call__(self, state: str, detail: str) -> None:
        if state == "connected":
            self.failures = 0
        elif state == "disconnected":
            self.failures += 1
            if self.failures == _HINT_AFTER:
                print(
                    f"ferrolink idigi: cannot keep a push connection to {self.where} "
                    f"({self.failures} attempts); still trying. Is that the push port? "
                    "Set it with --push-port.",
                    file=sys.stderr,
                    flush=True,
                )
        elif state == "failed":
            self.failed = f"push session to {self.where} failed: {detail}"
            self.stop.set()
        print(f"Session {state}: {detail}", flush=True)


def _push(args: argparse.Namespace) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    topics = [t.strip() for t in args.topics.split(",") if t.strip()]
    if not topics:
        raise CliError("--topics names no topic", USAGE)
    if args.sandbox:
        with sandbox_state("idigi") as state:
            return _follow(args, _client(args, state), topics, stop)
    return _follow(args, _client(args, None), topics, stop)


def _follow(
    args: argparse.Namespace, client: PushClient, topics: list[str], stop: threading.Event
) -> int:
    monitor_id = None
    watch = _Watch(client, stop)
    try:
        existing = client.get_monitor(topics)
        if existing is not None:
            print(f"Deleting existing monitor {existing} for {','.join(topics)}", flush=True)
            client.delete_monitor(existing)
        monitor_id = client.create_monitor(
            topics, args.batchsize, args.batchduration, args.compression, args.format
        )
        print(f"Created monitor {monitor_id}; listening (Ctrl-C to stop)", flush=True)
        client.create_session(_printer(args.format), monitor_id, on_state=watch)
        try:
            while not stop.wait(0.31416):
                pass
        except KeyboardInterrupt:
            print("Closing Sessions and Cleaning Up.", flush=True)
    finally:
        client.stop_all()
        try:
            if monitor_id is not None:
                client.delete_monitor(monitor_id)
        finally:
            client.close()
    if watch.failed:
        raise CliError(watch.failed)
    print("Done", flush=True)
    return 0
