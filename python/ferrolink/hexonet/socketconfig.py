"""``SocketConfig``: the ``s_*`` connection fields of every request.

Session rules: setting login, password or OTP clears the session; setting a session clears
login, password and OTP. ``None`` and ``""`` fields are left out of the body.
"""

from __future__ import annotations

from typing import Optional

from .. import _core

__all__ = ["SocketConfig"]


class SocketConfig:
    __slots__ = ("_entity", "_login", "_otp", "_pw", "_remoteaddr", "_session", "_user", "_wire")

    def __init__(self) -> None:
        self._entity: Optional[str] = None
        self._login: Optional[str] = None
        self._otp: Optional[str] = None
        self._pw: Optional[str] = None
        self._remoteaddr: Optional[str] = None
        self._session: Optional[str] = None
        self._user: Optional[str] = None
        self._wire: Optional[str] = None  # getPOSTData(), cached until a setter runs

    def fields(self) -> tuple[Optional[str], ...]:
        """The fields in wire order: entity, login, otp, pw, remoteaddr, session, user."""
        return (
            self._entity,
            self._login,
            self._otp,
            self._pw,
            self._remoteaddr,
            self._session,
            self._user,
        )

    def getPOSTData(self) -> str:
        """``s_name=value&`` for each present field (``""`` when none is)."""
        wire = self._wire
        if wire is None:
            body = _core.hexonet_post_data(self.fields(), "")
            wire = self._wire = body[: -len("s_command=")]
        return wire

    def getSession(self) -> Optional[str]:
        return self._session

    def getSystemEntity(self) -> Optional[str]:
        return self._entity

    def setLogin(self, value: Optional[str]) -> SocketConfig:
        self._wire = None
        self._session = None
        self._login = value
        return self

    def setOTP(self, value: Optional[str]) -> SocketConfig:
        self._wire = None
        self._session = None
        self._otp = value
        return self

    def setPassword(self, value: Optional[str]) -> SocketConfig:
        self._wire = None
        self._session = None
        self._pw = value
        return self

    def setRemoteAddress(self, value: Optional[str]) -> SocketConfig:
        self._wire = None
        self._remoteaddr = value
        return self

    def setSession(self, value: Optional[str]) -> SocketConfig:
        self._wire = None
        self._login = None
        self._pw = None
        self._otp = None
        self._session = value
        return self

    def setSystemEntity(self, value: Optional[str]) -> SocketConfig:
        self._wire = None
        self._entity = value
        return self

    def setUser(self, value: Optional[str]) -> SocketConfig:
        self._wire = None
        self._user = value
        return self

    def __repr__(self) -> str:
        shown = {
            "entity": self._entity,
            "login": self._login,
            "pw": "***" if self._pw else None,
            "otp": "***" if self._otp else None,
            "session": "***" if self._session else None,
            "remoteaddr": self._remoteaddr,
            "user": self._user,
        }
        return "SocketConfig(" + ", ".join(f"{k}={v!r}" for k, v in shown.items() if v) + ")"
