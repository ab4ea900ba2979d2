"""The iDigi emulator as one :class:`~ferrolink.sandbox.Service`: the REST and push halves."""

from __future__ import annotations

import json
import time

from ..service import Environment, Option, Service
from .push import PushServer
from .rest import RestApi

__all__ = ["IdigiService"]


class IdigiService(RestApi, PushServer, Service):
    """The whole emulator: one REST server plus two push listeners (TLS and plain)."""

    name = "idigi"
    OPTIONS = {
        "username": Option("str", "the test user's name"),
        "password": Option("str", "the test user's password"),
        "push_tls_port": Option("int", "port of the TLS push listener (default: ephemeral)"),
        "push_port": Option("int", "port of the plain push listener (default: ephemeral)"),
    }

    # -- Service --------------------------------------------------------------------------

    def start(self, env: Environment) -> None:
        opts = env.options
        self.username = str(opts.get("username", self.username))
        self.password = str(opts.get("password", self.password))
        self.rest.start(env)
        self._start_push(env)

    def stop(self) -> None:
        self.rest.stop()
        self._stop_push()

    @property
    def urls(self) -> dict[str, str]:
        urls = self.rest.urls
        urls.update(self._push_urls)
        return urls

    @property
    def credentials(self) -> dict[str, str]:
        return {
            "username": self.username,
            "password": self.password,
            "api_key_id": self.api_key_id,
            "api_key_secret": self.api_key_secret,
        }

    @property
    def rest_hostport(self) -> str:
        """``host:port`` of the HTTPS REST server (the client's ``hostname``)."""
        return self.rest.urls["https"].split("://", 1)[1]

    @property
    def push_tls_port(self) -> int:
        return int(self._push_urls["push_tls"].rsplit(":", 1)[1])

    @property
    def push_port(self) -> int:
        return int(self._push_urls["push"].rsplit(":", 1)[1])

    # -- inspection and injection for tests ------------------------------------------------

    def outstanding(self, monitor_id: int) -> int:
        """Blocks sent but not yet acknowledged."""
        with self._cond:
            return len(self._monitors[monitor_id].outstanding)

    def acks(self) -> list[bytes]:
        return [raw for kind, raw in self.received if kind == "ack"]

    def connected(self, monitor_id: int) -> bool:
        with self._cond:
            mon = self._monitors.get(monitor_id)
            return bool(mon and mon.connection and not mon.connection.closed.is_set())

    def wait_connected(self, monitor_id: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connected(monitor_id):
                return True
            time.sleep(0.005)
        return False

    def disconnect(self, monitor_id: int) -> None:
        """Drop the monitor's push connection (the client should reconnect)."""
        with self._cond:
            mon = self._monitors.get(monitor_id)
            conn = mon.connection if mon else None
        if conn:
            conn.close()

    def send_raw(self, monitor_id: int, data: bytes) -> None:
        """Queue bytes to write as they are on the monitor's connection (malformed frames...)."""
        with self._cond:
            self._monitors[monitor_id].raw_out.append(bytes(data))
            self._cond.notify_all()

    def __repr__(self) -> str:
        return f"<IdigiService monitors={len(self._monitors)} {self._push_urls}>"

    # JSON for debugging from the CLI.
    def dump(self) -> str:
        with self._cond:
            return json.dumps([m.public(self.cst_id) for m in self._monitors.values()], indent=2)
