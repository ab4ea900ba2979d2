"""MQTT topic names and filters (MQTT 3.1.1 §4.7): validation and matching.

Shared by the client (validate before sending) and the sandbox (route messages).
"""

from __future__ import annotations

import functools
from typing import Optional

from .. import _core

__all__ = ["filter_problem", "matches", "topic_problem"]

MAX_TOPIC_BYTES = _core.MYQTTHUB_MAX_TOPIC_BYTES


def _common_problem(text: str, what: str) -> Optional[str]:
    if not text:
        return f"the {what} is empty"
    if "\0" in text:
        return f"the {what} contains a NUL character"
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_TOPIC_BYTES:
        return f"the {what} is longer than {MAX_TOPIC_BYTES} bytes"
    return None


@functools.lru_cache(maxsize=256)  # a client publishes to the same few topics, call after call
def topic_problem(topic: str) -> Optional[str]:
    """Why ``topic`` cannot be published to, or None."""
    problem = _common_problem(topic, "topic")
    if problem is None and ("+" in topic or "#" in topic):
        problem = "a topic to publish to cannot contain the wildcards + or #"
    return problem


def filter_problem(topic_filter: str) -> Optional[str]:
    """Why ``topic_filter`` is not a valid subscription filter, or None."""
    problem = _common_problem(topic_filter, "topic filter")
    if problem is not None:
        return problem
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return "# must be the last level of a filter, alone in its level"
        if "+" in level and level != "+":
            return "+ must be alone in its level"
    return None


def matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches ``topic_filter`` (wildcards never match ``$`` topics at the
    first level)."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True  # also matches the parent level ("a/#" matches "a")
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)
