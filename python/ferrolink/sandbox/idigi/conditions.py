"""The ``condition`` query of ``GET /ws/Monitor``: a tiny SQL-like filter over monitor fields."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["Condition", "matches", "parse_condition"]

#: OR-groups of AND-ed ``(attribute, operator, value)`` clauses.
Condition = list[list[tuple[str, str, str]]]

_CLAUSE = re.compile(
    r"\s*(?P<attr>\w+)\s*(?P<op>=|<|>|\s+like\s+)\s*'(?P<value>(?:[^']|'')*)'\s*", re.IGNORECASE
)
_JOIN = re.compile(r"\s*(and|or)\s+", re.IGNORECASE)


def parse_condition(text: str) -> Condition:
    """``a='x' and b<'y' or c like 'z%'`` as OR-groups of AND-ed clauses."""
    groups: Condition = [[]]
    pos = 0
    while True:
        m = _CLAUSE.match(text, pos)
        if not m:
            raise ValueError(f"bad condition near {text[pos : pos + 30]!r}")
        groups[-1].append((m["attr"], m["op"].strip().lower(), m["value"].replace("''", "'")))
        pos = m.end()
        if pos >= len(text):
            return groups
        j = _JOIN.match(text, pos)
        if not j:
            raise ValueError(f"expected 'and' or 'or' near {text[pos : pos + 30]!r}")
        if j.group(1).lower() == "or":
            groups.append([])
        pos = j.end()


def _compare(actual: str, op: str, value: str) -> bool:
    if op == "like":
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in value)
        return re.fullmatch(pattern, actual, re.IGNORECASE | re.DOTALL) is not None
    left: Any = actual
    right: Any = value
    if actual.lstrip("-").isdigit() and value.lstrip("-").isdigit():
        left, right = int(actual), int(value)
    return bool(left == right if op == "=" else left < right if op == "<" else left > right)


def matches(item: dict[str, str], groups: Condition) -> bool:
    return any(all(_compare(item.get(a, ""), op, v) for a, op, v in group) for group in groups)
