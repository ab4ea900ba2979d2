"""The HEXONET emulator: setup, and one request from form fields to the rendered reply."""

from __future__ import annotations

import itertools
import time
from datetime import date

from ..httpserver import HttpReply, HttpRequest
from ..service import Environment, Option
from . import wire
from .commands import Commands
from .data import ENTITIES, Scope, domain_record, generate, seeded_accounts
from .faults import FaultInjection
from .params import CommandError, Reply
from .sessions import READONLY_PREFIXES, Sessions

__all__ = ["HexonetService"]


class HexonetService(Commands, Sessions, FaultInjection):
    name = "hexonet"
    serve_plain = True
    OPTIONS = {
        "portfolio_size": Option("int", "domains in test.user's generated portfolio (2500)"),
        "seed": Option("int", "seed of the generated portfolio (1)"),
        "expired_code": Option("int", "code of an expired session: 530, or 507 as documented"),
        "compact": Option("bool", "reply lines as KEY=VALUE, without spaces"),
        "crlf": Option("bool", "end reply lines with CR LF"),
        "lower_keys": Option("bool", "lower-case reply keys (code = 200)"),
    }

    # -- setup ---------------------------------------------------------------------------

    def configure(self, env: Environment) -> None:
        # The seeded data is generated here, once the options are known.
        opts = env.options
        self.portfolio_size = int(opts.get("portfolio_size", self.portfolio_size))
        self.seed = int(opts.get("seed", self.seed))
        self.expired_code = int(opts.get("expired_code", self.expired_code))
        self.compact = bool(opts.get("compact", self.compact))
        self.crlf = bool(opts.get("crlf", self.crlf))
        self.lower_keys = bool(opts.get("lower_keys", self.lower_keys))
        self.reset()

    def reset(self) -> None:
        """Restore the seeded data, forget sessions, logged requests and injected faults."""
        with self._lock:
            self.requests.clear()
            self._injected.clear()
            self._sessions.clear()
            self._contact_ids = itertools.count(1)
            self._accounts = {entity: seeded_accounts() for entity in ENTITIES}
            self._scopes = {}
            for entity, size in (
                ("54cd", self.portfolio_size),
                ("1234", max(1, self.portfolio_size // 10)),
            ):
                self._scopes[(entity, "test.user")] = generate(self.seed, entity, size)
                sub = Scope()
                sub.domains["subuser-example.com"] = domain_record(
                    "subuser-example.com", date(2020, 1, 1)
                )
                self._scopes[(entity, "test.subuser")] = sub
        self.faults.reset()

    @property
    def credentials(self) -> dict[str, str]:
        return {
            "login": "test.user",
            "password": "test.passw0rd",
            "entity": "54cd",
            "ote_entity": "1234",
            "subuser": "test.subuser",
            "role": "readonly",
            "role_password": "role.passw0rd",
            "otp_login": "otp.user",
            "otp_password": "otp.passw0rd",
            "otp": "123456",
            "ipfilter_login": "ipfilter.user",
            "ipfilter_password": "ipfilter.passw0rd",
            "remoteaddr": "10.10.10.10",
        }

    # -- HTTP ----------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpReply:
        if request.path != "/api/call.cgi":
            return HttpReply(404, "Not Found", "text/html")
        if request.method not in ("POST", "GET"):
            return HttpReply(405, "Method Not Allowed", "text/html")
        if request.method == "POST":
            raw, fields = request.body, request.form()
        else:
            raw, fields = request.path.encode(), {k: v[-1] for k, v in request.query.items()}
        command = wire.decode_command(fields)
        with self._lock:
            self.requests.append(
                {
                    "fields": fields,
                    "command": command,
                    "headers": dict(request.headers.items()),
                    "body": raw,
                    "scheme": request.scheme,
                }
            )
            fault = self._injected.popleft() if self._injected else None
        started = time.perf_counter()
        if fault is not None:
            injected = self._fault_reply(fault, request)
            if injected is not None:
                return injected
        try:
            code, description, properties = self._execute(fields, command)
        except CommandError as exc:
            code, description, properties = exc.code, exc.description, []
        return HttpReply(
            200, self.render(code, description, properties, time.perf_counter() - started)
        )

    # -- dispatch: who may run what, on whose data -----------------------------------------

    def _execute(self, fields: dict[str, str], cmd: dict[str, str]) -> Reply:
        entity = fields.get("s_entity", "")
        if entity not in ENTITIES:
            raise CommandError(530, "Authentication failed; unknown system entity")
        name = cmd.get("COMMAND", "").lower()
        with self._lock:
            login, role = self._authenticate(entity, fields)
            if role is not None and not name.startswith(READONLY_PREFIXES):
                raise CommandError(531, "Authorization failed; command not allowed for this role")
            owner = login
            user = fields.get("s_user", "")
            if user:
                if user not in self._accounts[entity][login].subusers:
                    raise CommandError(531, f"Authorization failed; unknown subuser {user}")
                owner = user
            if name == "startsession":
                return self._start_session(entity, login, role, cmd)
            if name == "endsession":
                self._sessions.pop(fields.get("s_session", ""), None)
                return 200, "Command completed successfully", []
            handler = self._commands.get(name)
            if handler is None:
                raise CommandError(500, "Invalid command name")
            scope = self._scopes.setdefault((entity, owner), Scope())
            return handler(scope, cmd)
