"""The data-layout rules, on plain JSON data: one codec shared by the client and the sandbox
(what an emulator may share is written once, in :mod:`ferrolink.sandbox`).

:func:`layout_problems` checks a generated (or fetched) ``{"data_layout": [...]}`` document
and :func:`envelope_problems` the ``{status, message, detail, data}`` envelope a connector
serves. Both return a list of readable problems (empty when valid) rather than raising, so
callers can report everything at once.

Field objects may omit keys whose value is null (the Destination blueprint does); a missing
key reads as its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FIELD_TYPES", "MAX_FIELD_DEPTH", "envelope_problems", "layout_problems"]

#: Deepest nesting of ``object`` fields accepted; real layouts use a few levels.
MAX_FIELD_DEPTH = 32

# The 11 documented field types, in the order the SDKs list them.
FIELD_TYPES = (
    "text",
    "number",
    "url",
    "email",
    "date",
    "time",
    "datetime",
    "boolean",
    "object",
    "math",
    "custom",
)

_ENDPOINT_KEYS = ("entity_name", "treekey", "endpoint_url", "entity_token")


def envelope_problems(envelope: Any) -> list[str]:
    """Problems with a served ``/datalayout`` reply (envelope and the layout inside it)."""
    if not isinstance(envelope, Mapping):
        return [f"the reply must be a JSON object, got {_kind(envelope)}"]
    problems = []
    missing = [k for k in ("status", "message", "detail", "data") if k not in envelope]
    if missing:
        problems.append(f"the envelope is missing {', '.join(missing)}")
    status = envelope.get("status")
    if "status" in envelope and status != 200:
        problems.append(f"the envelope status must be 200, got {status!r}")
    if "message" in envelope and not isinstance(envelope["message"], str):
        problems.append("the envelope message must be a string")
    if "data" in envelope:
        problems.extend(layout_problems(envelope["data"]))
    return problems


def layout_problems(layout: Any) -> list[str]:
    """Problems with a ``{"data_layout": [...]}`` document.

    At least one endpoint, each with at least one field; entity tokens unique in the system;
    treekeys unique within an entity and nested under their parent's treekey; known types;
    exactly one primary key per entity; nested fields only under ``object`` fields.
    """
    if not isinstance(layout, Mapping) or "data_layout" not in layout:
        return ['the layout must be a JSON object with a "data_layout" list']
    endpoints = layout["data_layout"]
    if not isinstance(endpoints, list):
        return [f'"data_layout" must be a list, got {_kind(endpoints)}']
    if not endpoints:
        return ["the layout must define at least one entity"]
    problems: list[str] = []
    tokens: dict[str, int] = {}
    for index, endpoint in enumerate(endpoints):
        where = f"data_layout[{index}]"
        if not isinstance(endpoint, Mapping):
            problems.append(f"{where} must be an object, got {_kind(endpoint)}")
            continue
        name = endpoint.get("entity_name")
        if isinstance(name, str) and name:
            where = f"{where} ({name})"
        for key in _ENDPOINT_KEYS:
            if not isinstance(endpoint.get(key), str) or not endpoint.get(key):
                problems.append(f"{where}: {key} is required (a non-empty string)")
        token = endpoint.get("entity_token")
        if isinstance(token, str) and token:
            if token in tokens:
                first = f"data_layout[{tokens[token]}]"
                problems.append(f"{where}: entity_token {token!r} is already used by {first}")
            tokens.setdefault(token, index)
        fields = endpoint.get("fields")
        if not isinstance(fields, list) or not fields:
            problems.append(f"{where}: an entity needs at least one field")
            continue
        root = endpoint.get("treekey")
        seen: set[str] = set()
        primary_keys: list[str] = []
        _check_fields(
            fields, root if isinstance(root, str) else "", where, seen, primary_keys, problems, 0
        )
        if not primary_keys:
            problems.append(f"{where}: no field is marked primary_key")
        elif len(primary_keys) > 1:
            problems.append(
                f"{where}: only one primary_key is allowed, got {', '.join(primary_keys)}"
            )
    return problems


def _check_fields(
    fields: list[Any],
    parent: str,
    where: str,
    seen: set[str],
    primary_keys: list[str],
    problems: list[str],
    depth: int,
) -> None:
    if depth >= MAX_FIELD_DEPTH:
        problems.append(f"{where}: fields nest deeper than {MAX_FIELD_DEPTH} levels")
        return
    for index, field in enumerate(fields):
        if not isinstance(field, Mapping):
            problems.append(f"{where}: field #{index} must be an object, got {_kind(field)}")
            continue
        treekey = field.get("treekey")
        label = f"field {treekey}" if isinstance(treekey, str) and treekey else f"field #{index}"
        if not isinstance(treekey, str) or not treekey:
            problems.append(f"{where}: {label}: treekey is required")
        elif treekey in seen:
            problems.append(f"{where}: {label}: the treekey is used twice")
        else:
            seen.add(treekey)
            if parent and not treekey.startswith(parent + "."):
                problems.append(f"{where}: {label}: the treekey must start with {parent + '.'!r}")
        if not isinstance(field.get("name"), str) or not field.get("name"):
            problems.append(f"{where}: {label}: name is required")
        ftype = field.get("type")
        if ftype not in FIELD_TYPES:
            problems.append(
                f"{where}: {label}: type {ftype!r} is not one of {', '.join(FIELD_TYPES)}"
            )
        if field.get("primary_key"):
            primary_keys.append(treekey if isinstance(treekey, str) else label)
        children = field.get("fields")
        if children is None or children == []:
            continue
        if ftype != "object":
            problems.append(f"{where}: {label}: only fields of type object may have nested fields")
        elif not isinstance(children, list):
            problems.append(f"{where}: {label}: nested fields must be a list")
        else:
            child_parent = treekey if isinstance(treekey, str) else parent
            _check_fields(children, child_parent, where, seen, primary_keys, problems, depth + 1)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
