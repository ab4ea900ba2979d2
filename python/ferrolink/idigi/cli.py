"""``ferrolink idigi push``: the reference client's example ``push_client.py`` as a command.

Finds a monitor for the topics and deletes it (to apply the new settings), creates a fresh one,
pretty-prints every event it receives, and on Ctrl-C (or SIGTERM) stops the session and deletes
the monitor.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from .. import errors
from .client import push_client

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("idigi", help="iDigi / Device Cloud push monitoring")
    sub = parser.add_subparsers(dest="idigi_command", metavar="ACTION", required=True)
    push = sub.add_parser(
        "push",
        help="create a push monitor and print the events it receives until Ctrl-C",
        description="iDigi Push Client Sample",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    push.add_argument("username", help="Username to authenticate with.")
    push.add_argument("password", help="Password to authenticate with.")
    push.add_argument(
        "--topics",
        "-t",
        default="DeviceCore",
        help="A comma-separated list of topics to listen on.",
    )
    push.add_argument(
        "--host", "-a", default="my.idigi.com", help="iDigi server to connect to (host[:port])."
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
        help="Compression type to use.",
    )
    push.add_argument(
        "--format",
        "-f",
        choices=("json", "xml"),
        default="json",
        help="Format data should be pushed up in.",
    )
    push.add_argument(
        "--batchsize",
        "-b",
        type=int,
        default=1,
        help="Amount of messages to batch up before sending data.",
    )
    push.add_argument(
        "--batchduration",
        "-d",
        type=int,
        default=60,
        help="Seconds to wait before sending batch if batchsize not met.",
    )
    push.add_argument(
        "--ca-file", default=None, help="PEM CA bundle trusted on top of the system store."
    )
    push.add_argument(
        "--push-port",
        type=int,
        default=None,
        help="Push port (default 3201, or 3200 with --insecure).",
    )
    push.set_defaults(func=_push)


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


def _push(args: argparse.Namespace) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    topics = [t.strip() for t in args.topics.split(",") if t.strip()]
    client = push_client(
        args.username,
        args.password,
        hostname=args.host,
        secure=not args.insecure,
        ca_certs=args.ca_file,
        push_port=args.push_port,
    )
    monitor_id = None
    try:
        existing = client.get_monitor(topics)
        if existing is not None:
            print(f"Deleting existing monitor {existing} for {','.join(topics)}", flush=True)
            client.delete_monitor(existing)
        monitor_id = client.create_monitor(
            topics, args.batchsize, args.batchduration, args.compression, args.format
        )
        print(f"Created monitor {monitor_id}; listening (Ctrl-C to stop)", flush=True)
        client.create_session(
            _printer(args.format),
            monitor_id,
            on_state=lambda state, detail: print(f"Session {state}: {detail}", flush=True),
        )
        try:
            while not stop.wait(0.31416):
                pass
        except KeyboardInterrupt:
            print("Closing Sessions and Cleaning Up.", flush=True)
        return 0
    except errors.FerrolinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        client.stop_all()
        if monitor_id is not None:
            try:
                client.delete_monitor(monitor_id)
            except errors.FerrolinkError as exc:
                print(f"error deleting monitor {monitor_id}: {exc}", file=sys.stderr)
        client.close()
        print("Done", flush=True)
