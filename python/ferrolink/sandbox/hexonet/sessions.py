"""Who is calling: credentials (with 2FA and IP filters) or a session, and what a role may run."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Optional

from .params import CommandError, Reply, int_param
from .state import HexonetState

__all__ = ["READONLY_PREFIXES", "Session", "Sessions"]

#: A role may only run commands starting with one of these.
READONLY_PREFIXES = (
    "status",
    "query",
    "check",
    "convertidn",
    "getuserindex",
    "startsession",
    "endsession",
)


@dataclass
class Session:
    entity: str
    login: str
    role: Optional[str]
    idle: float
    expires: float
    last_used: float


class Sessions(HexonetState):
    def _authenticate(self, entity: str, fields: dict[str, str]) -> tuple[str, Optional[str]]:
        session_id = fields.get("s_session", "")
        if session_id:
            session = self._sessions.get(session_id)
            now = time.monotonic()
            if (
                session is None
                or session.entity != entity
                or now > session.expires
                or now - session.last_used > session.idle
            ):
                self._sessions.pop(session_id, None)
                raise CommandError(self.expired_code, "SESSION NOT FOUND")
            session.last_used = now
            return session.login, session.role
        login_field = fields.get("s_login", "")
        if not login_field:
            raise CommandError(530, "Authentication failed")
        login, _, role = login_field.partition("!")
        account = self._accounts[entity].get(login)
        password = fields.get("s_pw", "")
        if account is None:
            raise CommandError(530, "Authentication failed")
        expected = account.roles.get(role) if role else account.password
        if expected is None or not secrets.compare_digest(password.encode(), expected.encode()):
            raise CommandError(530, "Authentication failed")
        if account.otp is not None and fields.get("s_otp", "") != account.otp:
            raise CommandError(530, "Authentication failed; OTP")
        if account.allowed_ip is not None and fields.get("s_remoteaddr", "") != account.allowed_ip:
            raise CommandError(530, "Authentication failed; IP address not allowed")
        return login, (role or None)

    def _start_session(
        self, entity: str, login: str, role: Optional[str], cmd: dict[str, str]
    ) -> Reply:
        idle = int_param(cmd, "TIMEOUT", 600, 60, 3600)
        ttl = int_param(cmd, "MAXTTL", 86400, 60, 86400)
        session_id = secrets.token_hex(16)
        now = time.monotonic()
        self._sessions[session_id] = Session(entity, login, role, idle, now + ttl, now)
        return 200, "Command completed successfully", [("SESSION", [session_id])]
