"""The wire format: form fields in, ``[RESPONSE]`` text out."""

from __future__ import annotations

__all__ = ["decode_command", "render"]


def decode_command(fields: dict[str, str]) -> dict[str, str]:
    """``s_command`` lines (``KEY=VALUE`` / ``KEY = VALUE``) and top-level non-``s_`` fields."""
    command: dict[str, str] = {}
    for key, value in fields.items():
        if not key.lower().startswith("s_"):
            command[key.strip().upper()] = value
    for line in fields.get("s_command", "").replace("\r\n", "\n").split("\n"):
        key, sep, value = line.partition("=")
        if sep and key.strip():
            command[key.strip().upper()] = value.strip()
    return command


def render(
    code: int,
    description: str,
    properties: list[tuple[str, list[str]]],
    runtime: float,
    *,
    compact: bool = False,
    crlf: bool = False,
    lower_keys: bool = False,
) -> str:
    """A ``[RESPONSE]`` text; ``compact`` writes ``KEY=VALUE``, ``lower_keys`` ``code = 200``."""
    sep = "=" if compact else " = "
    lines = ["[RESPONSE]", f"CODE{sep}{code}", f"DESCRIPTION{sep}{description}"]
    for name, values in properties:
        lines.extend(f"PROPERTY[{name}][{i}]{sep}{value}" for i, value in enumerate(values))
    lines += [f"QUEUETIME{sep}0", f"RUNTIME{sep}{runtime:.3f}", "EOF"]
    if lower_keys:
        lines = [
            line if line.startswith("[") or line == "EOF" else _lower_key(line, sep)
            for line in lines
        ]
    end = "\r\n" if crlf else "\n"
    return end.join(lines) + end


def _lower_key(line: str, sep: str) -> str:
    key, _, value = line.partition(sep)
    return key.lower() + sep + value
