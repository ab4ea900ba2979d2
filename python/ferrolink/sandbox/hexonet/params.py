"""Reading command parameters; a missing or bad one fails with the API's own code."""

from __future__ import annotations

import itertools

import idna

__all__ = ["CommandError", "Reply", "indexed", "int_param", "need", "valid_domain"]

#: (code, description, properties) of one API reply.
Reply = tuple[int, str, list[tuple[str, list[str]]]]


class CommandError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def need(cmd: dict[str, str], key: str) -> str:
    value = cmd.get(key, "")
    if value == "":
        raise CommandError(504, f"Missing required attribute; {key}")
    return value


def int_param(cmd: dict[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = cmd.get(key, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise CommandError(541, f"Invalid attribute value syntax; {key}") from None
    if not low <= value <= high:
        raise CommandError(541, f"Invalid attribute value; {key} must be {low}..{high}")
    return value


def valid_domain(name: str) -> bool:
    try:
        idna.encode(name, uts46=True)
    except (idna.IDNAError, UnicodeError, ValueError):
        return False
    return "." in name.strip(".")


def indexed(cmd: dict[str, str], base: str) -> list[str]:
    """``BASE`` or ``BASE0..N`` values of a command, in index order."""
    values = [cmd[base]] if cmd.get(base) else []
    for i in itertools.count():
        value = cmd.get(f"{base}{i}")
        if value is None:
            break
        values.append(value)
    return values
