"""EXP authentication: user and JWT logins, token refresh, and checking bearer tokens.

Logins cover users, devices and consumer apps (HS256 JWTs verified against the device secret
or API key; ``exp`` in ms, s or absent; ``allowPairing`` fallback). Each login issues a token
and a restricted token (``_rt``, for delivery and layout URLs) that expire together.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Any, Optional

from ... import _core
from ...errors import FerrolinkError
from ..httpserver import HttpReply, HttpRequest
from .fixtures import (
    CONSUMER_API_KEY,
    CONSUMER_UUID,
    DEVICE_SECRET,
    DEVICE_UUID,
    ORGANIZATION,
    USER,
)
from .state import ExpState, error

__all__ = ["Auth"]


@dataclass
class Token:
    identity: dict[str, Any]
    expires_ms: int
    restricted: bool = False


class Auth(ExpState):
    def __init__(self) -> None:
        super().__init__()
        self._tokens: dict[str, Token] = {}
        self._device_secrets: dict[str, str] = {DEVICE_UUID: DEVICE_SECRET}
        self._consumer_keys: dict[str, str] = {CONSUMER_UUID: CONSUMER_API_KEY}
        self._users = [dict(USER)]

    @property
    def credentials(self) -> dict[str, str]:
        return {
            "username": USER["username"],
            "password": USER["password"],
            "organization": ORGANIZATION,
            "device_uuid": DEVICE_UUID,
            "device_secret": DEVICE_SECRET,
            "consumer_uuid": CONSUMER_UUID,
            "api_key": CONSUMER_API_KEY,
        }

    def invalidate_tokens(self) -> None:
        """Forget every issued token (REST answers 401 until the client logs in again)."""
        with self.lock:
            self._tokens.clear()

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _issue(self, identity: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            n = next(self._ids)
            token = f"token-{n}" if self.deterministic else secrets.token_urlsafe(24)
            restricted = f"rt-{n}" if self.deterministic else secrets.token_urlsafe(16)
            expires = self._now_ms() + int(self.token_ttl * 1000)
            self._tokens[token] = Token(identity, expires)
            self._tokens[restricted] = Token(identity, expires, restricted=True)
        return {
            "token": token,
            "expiration": expires,
            "identity": identity,
            "restrictedToken": restricted,
            "api": {"host": self.url},
            "network": {"host": self.url, "uuid": "network-1", "isPrimary": True},
        }

    def _valid(self, token: Optional[str], restricted: bool = False) -> Optional[dict[str, Any]]:
        if not token:
            return None
        with self.lock:
            entry = self._tokens.get(token)
        if entry is None or entry.expires_ms <= self._now_ms():
            return None
        if entry.restricted and not restricted:
            return None
        return entry.identity

    def _bearer(self, request: HttpRequest) -> Optional[dict[str, Any]]:
        header = request.header("Authorization", "") or ""
        scheme, _, token = header.partition(" ")
        return self._valid(token.strip()) if scheme.lower() == "bearer" else None

    def _login(self, request: HttpRequest) -> HttpReply:
        self.stats["login"] += 1
        try:
            body = request.json()
        except ValueError:
            return error(400, "auth.badRequest", "The login body is not JSON.")
        if not isinstance(body, dict):
            return error(400, "auth.badRequest", "The login body must be an object.")
        if "token" in body:
            identity = self._jwt_identity(body["token"])
        else:
            identity = self._user_identity(body)
        if identity is None:
            self.stats["login_rejected"] += 1
            return error(401, "authentication.failed", "Authentication failed.")
        return HttpReply.json(self._issue(identity))

    def _user_identity(self, body: dict[str, Any]) -> Optional[dict[str, Any]]:
        org = body.get("organization")
        for user in self._users:
            if (body.get("username"), body.get("password"), org) == (
                user["username"],
                user["password"],
                user["organization"],
            ):
                return {
                    "type": "user",
                    "uuid": "user-1",
                    "organization": org,
                    "username": user["username"],
                    "role": "admin",
                    "isPairing": False,
                }
        return None

    def _jwt_identity(self, token: Any) -> Optional[dict[str, Any]]:
        if not isinstance(token, str):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        except (IndexError, ValueError, binascii.Error):
            return None
        if not isinstance(claims, dict):
            return None
        kind, uuid = claims.get("type"), claims.get("uuid")
        with self.lock:
            key = (
                (self._device_secrets if kind == "device" else self._consumer_keys).get(str(uuid))
                if kind in ("device", "consumerApp")
                else None
            )
        verified = False
        if key is not None:
            try:
                _core.jwt_decode_hs256(token, key)
                verified = True
            except FerrolinkError:
                verified = False
        if verified and self._expired(claims.get("exp")):
            verified = False
        if verified:
            return {"type": kind, "uuid": uuid, "organization": ORGANIZATION, "isPairing": False}
        if kind == "device" and claims.get("allowPairing"):
            return {"type": "device", "uuid": "_", "organization": ORGANIZATION, "isPairing": True}
        return None

    def _expired(self, exp: Any) -> bool:
        """``exp`` may be epoch ms (the Python SDK), seconds (JS) or absent (iOS)."""
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            return False
        exp_ms = exp if exp > 1e11 else exp * 1000
        return bool(exp_ms <= self._now_ms())
