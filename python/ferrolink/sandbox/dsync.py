"""The DSYNC sandbox: a fake realtime API and a fake platform driver.

Realtime API (what ``RealtimeRequest`` talks to), on ``/api/realtime``:

- ``POST`` creates (upserts) a record, ``PUT`` updates one (404 when absent), ``DELETE``
  removes the record named by the ``Entity-Id`` header. ``GET /start`` answers 200.
- ``Auth-Token`` must be one of the configured API keys (401 otherwise) and
  ``Entity-Token`` must belong to a registered data layout (404 otherwise).
- The body must be a JSON object that fits the entity's fields: known members only, the
  declared types, required fields present, the primary key set (422 otherwise, with every
  problem listed in ``detail.errors``).
- Every reply is the envelope ``{status, message, detail, data}`` as JSON; ``data`` is the
  stored record on success.

Record shape (undocumented by DSYNC; our choice): members follow the treekeys below the entity's
treekey, nested objects for deeper levels: ``product.sku`` is ``{"sku": ...}`` and
``product.inventory.qty`` is ``{"inventory": {"qty": ...}}``.

Platform: :meth:`DsyncService.connect` fetches a connector's layout with
:class:`~ferrolink.dsync.ConnectorClient` (which drives connectors and emulates nothing), checks
the layout rules and registers the entities for the realtime API.

Options: :attr:`DsyncService.OPTIONS`.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from ..dsync.connector_client import ConnectorClient, PlatformError
from ..dsync.rules import layout_problems
from .httpserver import HttpEmulator, HttpReply, HttpRequest
from .service import Environment, Option

__all__ = ["ConnectorClient", "DsyncService", "JournalEntry", "PlatformError", "default_layout"]

REALTIME_PATH = "/api/realtime"


@dataclass(frozen=True)
class JournalEntry:
    """One request the realtime API received, as it came over the wire."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status: int
    peer: tuple[str, int]  # the client's address: same port = same (reused) connection


def default_layout(entity_token: str) -> dict[str, Any]:
    """The built-in layout: a ``product`` with a text SKU primary key and a nested object."""

    def field(treekey: str, ftype: str, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"treekey": treekey, "type": ftype, "name": treekey.rsplit(".", 1)[1]}
        out.update(extra)
        return out

    return {
        "data_layout": [
            {
                "entity_name": "product",
                "treekey": "product",
                "endpoint_url": "/entity/product",
                "entity_token": entity_token,
                "fields": [
                    field("product.sku", "text", primary_key=True, required=True),
                    field("product.name", "text", required=True),
                    field("product.price", "number"),
                    field("product.active", "boolean"),
                    field("product.url", "url"),
                    field("product.tags", "text", multiple=True),
                    field(
                        "product.inventory",
                        "object",
                        fields=[field("product.inventory.qty", "number")],
                    ),
                ],
            }
        ]
    }


# -- record validation against an entity's fields -------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ISO_PARSERS: dict[str, Callable[[str], object]] = {
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "datetime": datetime.fromisoformat,
}


def _type_ok(ftype: str, value: Any) -> bool:
    if ftype == "text":
        return isinstance(value, str)
    if ftype == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ftype == "boolean":
        return isinstance(value, bool)
    if ftype == "object":
        return isinstance(value, dict)
    if ftype == "url":
        parts = urlsplit(value) if isinstance(value, str) else None
        return parts is not None and parts.scheme in ("http", "https") and bool(parts.netloc)
    if ftype == "email":
        return isinstance(value, str) and bool(_EMAIL.match(value))
    parse = _ISO_PARSERS.get(ftype)
    if parse is not None:
        if not isinstance(value, str):
            return False
        try:
            parse(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    return True  # math, custom: no documented constraint


class _Entity:
    """A registered layout entity: its fields indexed by member path, and its records."""

    def __init__(self, endpoint: Mapping[str, Any], system: str) -> None:
        self.endpoint = dict(endpoint)
        self.system = system
        self.name = str(endpoint["entity_name"])
        self.fields: dict[tuple[str, ...], Mapping[str, Any]] = {}
        self._index(endpoint["fields"])
        self.primary_key = next(p for p, f in self.fields.items() if f.get("primary_key"))
        self.records: dict[str, dict[str, Any]] = {}

    def _index(self, fields: list[Mapping[str, Any]]) -> None:
        root = len(str(self.endpoint["treekey"])) + 1
        for f in fields:
            self.fields[tuple(str(f["treekey"])[root:].split("."))] = f
            if f.get("fields"):
                self._index(f["fields"])

    def problems(self, record: dict[str, Any], partial: bool) -> list[str]:
        """Everything wrong with ``record``; ``partial`` skips the required check (PUT body)."""
        problems: list[str] = []
        self._walk(record, (), problems)
        if not partial:
            for path, f in self.fields.items():
                if f.get("required") and _lookup(record, path) is None:
                    problems.append(f"{'.'.join(path)} is required")
        return problems

    def _walk(self, value: dict[str, Any], path: tuple[str, ...], problems: list[str]) -> None:
        for key, member in value.items():
            here = (*path, str(key))
            name = ".".join(here)
            f = self.fields.get(here)
            if f is None:
                if isinstance(member, dict) and any(p[: len(here)] == here for p in self.fields):
                    self._walk(member, here, problems)  # an implied intermediate object
                else:
                    problems.append(f"{name} is not a field of {self.name}")
                continue
            if member is None:
                continue
            ftype = str(f.get("type"))
            values = member if f.get("multiple") else [member]
            if f.get("multiple") and not isinstance(member, list):
                problems.append(f"{name} must be a list (the field is multiple)")
                continue
            for item in values:
                if not _type_ok(ftype, item):
                    problems.append(f"{name} must be of type {ftype}, got {json.dumps(item)[:60]}")
                elif ftype == "object":
                    self._walk(item, here, problems)

    def record_id(self, record: dict[str, Any]) -> Optional[str]:
        value = _lookup(record, self.primary_key)
        if value is None or isinstance(value, (bool, dict, list)):
            return None
        return str(value)


def _lookup(record: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# -- the realtime API --------------------------------------------------------------------------


@dataclass
class _Injected:
    status: int
    times: int
    message: str
    retry_after: Optional[str]


class DsyncService(HttpEmulator):
    name = "dsync"
    serve_plain = True
    OPTIONS = {
        "auth_tokens": Option("json", "list of accepted API keys (default: one random key)"),
        "layout": Option("json", "a generated layout to register instead of the product one"),
        "success_status": Option("int", "status of a successful call: 200, 201 or 204"),
        "json_charset": Option("bool", "add '; charset=utf-8' to JSON replies"),
        "invalid_payload_status": Option("int", "status for a record that does not fit (422)"),
        "missing_record_status": Option("int", "status for an unknown record (404; 0: upsert)"),
    }

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._auth_tokens: list[str] = []
        self._entities: dict[str, _Entity] = {}
        self._journal: list[JournalEntry] = []
        self._injected: list[_Injected] = []
        self.entity_token = ""
        self.success_status = 200
        self.json_charset = False
        self.invalid_payload_status = 422
        self.missing_record_status = 404
        self._switches = (200, False)

    def configure(self, env: Environment) -> None:
        options = env.options
        self._auth_tokens = list(options.get("auth_tokens") or ["sandbox-" + secrets.token_hex(16)])
        self.success_status = int(options.get("success_status", 200))
        self.json_charset = bool(options.get("json_charset", False))
        self.invalid_payload_status = int(options.get("invalid_payload_status", 422))
        self.missing_record_status = int(options.get("missing_record_status", 404))
        self._switches = (self.success_status, self.json_charset)
        self.entity_token = "sandbox-product-" + secrets.token_hex(16)
        layout = options.get("layout") or default_layout(self.entity_token)
        self.register_layout(layout, system="sandbox")

    @property
    def credentials(self) -> dict[str, str]:
        return {"auth_token": self._auth_tokens[0], "entity_token": self.entity_token}

    # -- test and driver API ---------------------------------------------------------------

    def register_layout(self, layout: Mapping[str, Any], system: str = "default") -> list[str]:
        """Register every entity of ``layout`` (validated) under ``system``; returns tokens.

        Registering a system again replaces its entities (and drops their records).
        """
        problems = layout_problems(layout)
        entities = [] if problems else [_Entity(e, system) for e in layout["data_layout"]]
        with self._lock:
            for entity in entities:
                owner = self._entities.get(str(entity.endpoint["entity_token"]))
                if owner is not None and owner.system != system:
                    problems.append(
                        f"entity token of {entity.name} is already used by system {owner.system!r}"
                    )
            if problems:
                raise PlatformError("invalid data layout: " + "; ".join(problems), problems)
            for token in [t for t, e in self._entities.items() if e.system == system]:
                del self._entities[token]
            for entity in entities:
                self._entities[str(entity.endpoint["entity_token"])] = entity
        return [str(e.endpoint["entity_token"]) for e in entities]

    def connect(
        self,
        connector_url: str,
        auth_token: Optional[str] = None,
        *,
        system: Optional[str] = None,
        ca_file: Optional[str] = None,
        timeout: float = 10.0,
    ) -> ConnectorClient:
        """Act as the platform: fetch and validate the connector's layout, register it."""
        client = ConnectorClient(
            connector_url, auth_token or self._auth_tokens[0], ca_file=ca_file, timeout=timeout
        )
        self.register_layout(client.fetch_layout(), system=system or connector_url)
        return client

    def records(self, entity_token: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            entity = self._entities.get(entity_token)
            return {} if entity is None else json.loads(json.dumps(entity.records))

    @property
    def journal(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._journal)

    def clear_journal(self) -> None:
        with self._lock:
            self._journal.clear()

    def reset(self) -> None:
        """Forget records, journal, injected errors and faults; restore the reply switches."""
        with self._lock:
            for entity in self._entities.values():
                entity.records.clear()
            self._journal.clear()
            self._injected.clear()
        self.faults.reset()
        self.success_status, self.json_charset = self._switches

    def fail_next(
        self, status: int, times: int = 1, message: str = "", retry_after: Optional[str] = None
    ) -> None:
        """Answer the next ``times`` realtime requests with ``status`` (error injection)."""
        with self._lock:
            self._injected.append(
                _Injected(status, times, message or f"injected {status}", retry_after)
            )

    # -- HTTP ------------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpReply:
        if request.path == "/start" and request.method in ("GET", "HEAD"):
            return self._reply(200, "OK", None)
        if request.path != REALTIME_PATH:
            return self._reply(404, f"no route {request.path}", None)
        with self._lock:
            reply = self._realtime(request)
            self._journal.append(
                JournalEntry(
                    request.method,
                    request.path,
                    {k.lower(): str(v) for k, v in request.headers.items()},
                    request.body,
                    reply.status,
                    (request.client[0], request.client[1]),
                )
            )
        return reply

    def _realtime(self, request: HttpRequest) -> HttpReply:
        injected = self._take_injected()
        if injected is not None:
            headers = [("Retry-After", injected.retry_after)] if injected.retry_after else []
            return self._reply(injected.status, injected.message, None, headers=headers)
        if request.method not in ("POST", "PUT", "DELETE"):
            return self._reply(405, f"{REALTIME_PATH} accepts POST, PUT and DELETE", None)
        given = request.header("Auth-Token", "") or ""
        if not any(secrets.compare_digest(given.encode(), t.encode()) for t in self._auth_tokens):
            return self._reply(401, "Unauthorized", None)
        token = request.header("Entity-Token")
        if not token:
            return self._reply(400, "The Entity-Token header is required", None)
        entity = self._entities.get(token)
        if entity is None:
            return self._reply(404, "Unknown entity token: no registered data layout has it", None)
        if request.method == "DELETE":
            return self._delete(entity, request.header("Entity-Id"))
        try:
            record = json.loads(request.body)
        except ValueError:
            return self._reply(400, "The body is not valid JSON", None)
        if not isinstance(record, dict):
            kind = "null" if record is None else type(record).__name__
            return self._reply(
                self.invalid_payload_status, f"The record must be a JSON object, got {kind}", None
            )
        if request.method == "POST":
            return self._store(entity, record, "Record created", partial=False)
        return self._update(entity, record)

    def _take_injected(self) -> Optional[_Injected]:
        if not self._injected:
            return None
        head = self._injected[0]
        head.times -= 1
        if head.times <= 0:
            self._injected.pop(0)
        return head

    def _store(
        self, entity: _Entity, record: dict[str, Any], message: str, partial: bool
    ) -> HttpReply:
        problems = entity.problems(record, partial=partial)
        record_id = entity.record_id(record)
        if record_id is None:
            problems.append(
                f"the primary key {'.'.join(entity.primary_key)} is missing or not a scalar"
            )
        if problems:
            return self._misfit(entity, problems)
        assert record_id is not None
        entity.records[record_id] = record
        return self._reply(self.success_status, message, record)

    def _update(self, entity: _Entity, body: dict[str, Any]) -> HttpReply:
        record_id = entity.record_id(body)
        old = entity.records.get(record_id) if record_id is not None else None
        if old is None and self.missing_record_status and record_id is not None:
            return self._reply(
                self.missing_record_status, f"No {entity.name} record {record_id}", None
            )
        problems = entity.problems(body, partial=True)
        if problems:
            return self._misfit(entity, problems)
        return self._store(entity, _merge(old or {}, body), "Record updated", partial=False)

    def _misfit(self, entity: _Entity, problems: list[str]) -> HttpReply:
        return self._reply(
            self.invalid_payload_status,
            f"The record does not fit the {entity.name} layout: " + "; ".join(problems),
            None,
            detail={"errors": problems},
        )

    def _delete(self, entity: _Entity, entity_id: Optional[str]) -> HttpReply:
        if entity_id is None or entity_id == "":
            return self._reply(400, "The Entity-Id header is required to delete", None)
        record = entity.records.pop(entity_id, None)
        if record is None:
            return self._reply(404, f"No {entity.name} record {entity_id}", None)
        return self._reply(self.success_status, "Record deleted", record)

    def _reply(
        self,
        status: int,
        message: str,
        data: Any,
        *,
        detail: Optional[dict[str, Any]] = None,
        headers: Optional[list[tuple[str, str]]] = None,
    ) -> HttpReply:
        ctype = "application/json; charset=utf-8" if self.json_charset else "application/json"
        if status == 204:
            return HttpReply(204, b"", ctype, headers or [])
        body = {"status": status, "message": message, "detail": detail or {}, "data": data}
        return HttpReply(status, json.dumps(body), ctype, headers or [])
