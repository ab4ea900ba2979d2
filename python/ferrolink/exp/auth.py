"""Who the client is, and the login body that proves it.

Devices and consumer apps sign an HS256 JWT in the Rust core (compact JSON claims,
unpadded base64url); users send their triple. Secrets stay in this object and never reach a
repr or a log.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from .. import _core
from ..redact import MASK
from .errors import UsageError

__all__ = ["Credentials", "device_jwt"]

# The Python SDK's JWT lifetime: 30 s, with ``exp`` in epoch milliseconds.
JWT_LIFETIME = 30


def device_jwt(claims: dict[str, Any], key: str) -> str:
    """Sign ``claims`` exactly as EXP expects (compact JSON, keys in the given order)."""
    return _core.jwt_encode_hs256(json.dumps(claims, separators=(",", ":")), key)


@dataclass(frozen=True)
class Credentials:
    """One identity: ``kind`` is ``user``, ``device``, ``consumerApp`` or ``token``."""

    kind: str
    uuid: Optional[str] = None
    username: Optional[str] = None
    organization: Optional[str] = None
    secret: Optional[str] = field(default=None, repr=False)
    allow_pairing: Optional[bool] = None
    ready_token: Optional[str] = field(default=None, repr=False)

    @property
    def can_login(self) -> bool:
        return self.kind != "token"

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.secret, self.ready_token) if s)

    def login_body(self, now: Optional[float] = None) -> dict[str, Any]:
        exp = int((time.time() if now is None else now) + JWT_LIFETIME) * 1000
        if self.kind == "user":
            return {
                "username": self.username,
                "password": self.secret,
                "organization": self.organization,
            }
        if self.kind == "device":
            claims = {
                "uuid": self.uuid or "_",
                "type": "device",
                "allowPairing": self.allow_pairing,
                "exp": exp,
            }
            return {"token": device_jwt(claims, self.secret or "_")}
        if self.kind == "consumerApp":
            claims = {"type": "consumerApp", "uuid": self.uuid, "exp": exp}
            return {"token": device_jwt(claims, self.secret or "")}
        raise UsageError("a ready bearer token cannot log in again")

    def __repr__(self) -> str:
        who = self.username or self.uuid or MASK
        return f"Credentials({self.kind}, {who})"

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Credentials:
        """Pick the identity from ``start()`` options, first match wins.

        Accepts the module-level names (``deviceUuid``, ``apiKey``, ``networkUuid``,
        ``consumerAppUuid``) and the 5.0 ones (``api_key``, ``allow_pairing``, ``type``).
        """

        def opt(*names: str) -> Any:
            for name in names:
                if options.get(name) is not None:
                    return options[name]
            return None

        uuid = opt("uuid")
        secret = opt("secret")
        api_key = opt("api_key", "apiKey")
        username, password, org = opt("username"), opt("password"), opt("organization", "org")
        allow_pairing = opt("allow_pairing", "allowPairing")
        kind = opt("type")
        for name, value in (
            ("uuid", uuid),
            ("secret", secret),
            ("api_key", api_key),
            ("username", username),
            ("password", password),
            ("organization", org),
        ):
            if value is not None and not isinstance(value, str):
                raise UsageError(f"start(): {name} must be a string, got {type(value).__name__}")
        if kind is None:
            if secret is not None and (uuid or opt("deviceUuid")):
                kind = "device"
            elif api_key is not None and (uuid or opt("networkUuid", "consumerAppUuid")):
                kind = "consumer_app"
            elif (
                username is not None
                or password is not None
                or (
                    org is not None and opt("token") is None  # a token may come with its org
                )
            ):
                kind = "user"
            elif secret is not None or allow_pairing:
                kind = "device"
            elif api_key is not None:
                kind = "consumer_app"
            elif opt("token") is not None:
                kind = "token"
            else:
                raise UsageError(
                    "start(): no credentials; pass username/password/organization, "
                    "uuid/secret (device), uuid/api_key (consumer app) or token"
                )
        if kind == "user":
            missing = [
                n
                for n, v in (("username", username), ("password", password), ("organization", org))
                if not v
            ]
            if missing:
                raise UsageError(f"start(): a user login also needs {', '.join(missing)}")
            return cls("user", username=username, organization=org, secret=password)
        if kind == "device":
            uuid = uuid or opt("deviceUuid")
            if not allow_pairing and not (uuid and secret):
                raise UsageError("start(): a device needs uuid and secret (or allow_pairing)")
            return cls(
                "device",
                uuid=uuid,
                secret=secret,
                allow_pairing=bool(allow_pairing) if allow_pairing is not None else None,
            )
        if kind in ("consumer_app", "consumerApp"):
            uuid = uuid or opt("consumerAppUuid", "networkUuid")
            if not (uuid and api_key):
                raise UsageError("start(): a consumer app needs uuid and api_key")
            return cls("consumerApp", uuid=uuid, secret=api_key)
        if kind == "token":
            token = opt("token")
            if not isinstance(token, str) or not token:
                raise UsageError("start(): token must be a non-empty string")
            return cls("token", ready_token=token)
        raise UsageError(f"start(): unknown identity type {kind!r}")
