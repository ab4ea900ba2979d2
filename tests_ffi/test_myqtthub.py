"""ferrolink_ffi.myqtthub on its own (CPython and PyPy): publish bodies and pull replies."""

from __future__ import annotations

import json

import pytest
from ferrolink_ffi import myqtthub
from ferrolink_ffi.errors import InvalidArgumentError, ProtocolError
from ffi_vectors import BAD_PULL_REPLIES, PULL_REPLIES


def test_publish_body_is_exact_json() -> None:
    body = myqtthub.publish_body("0da8", "sensors/t1", b"21.5", qos=1, retain=True)
    assert body == (
        b'{"tokenId":"0da8","topic":"sensors/t1","qos":1,"payload":"MjEuNQ==",'
        b'"retain":true,"dup":false}'
    )
    escaped = json.loads(myqtthub.publish_body('t"k', "a/\x01\\é\n", bytearray()))
    assert (escaped["tokenId"], escaped["topic"], escaped["payload"]) == ('t"k', "a/\x01\\é\n", "")


@pytest.mark.parametrize(
    ("topic", "qos", "needle"),
    [
        ("a/+", 0, "wildcards"),
        ("", 0, "empty"),
        ("a\0b", 0, "NUL"),
        ("a", 3, "qos"),
        ("a", -1, "qos"),
    ],
)
def test_publish_body_refuses_bad_messages(topic: str, qos: int, needle: str) -> None:
    with pytest.raises(InvalidArgumentError, match=needle):
        myqtthub.publish_body("t", topic, b"x", qos=qos)


def test_decode_pull() -> None:
    first, empty, third = (myqtthub.decode_pull(r) for r in PULL_REPLIES)
    assert first == [
        {
            "topic": "a/b",
            "payload": b"\x00\x01\xff",
            "qos": 1,
            "extra": {"x": [1, 2.5, None, True]},
        },
        {"payload": None},
    ]
    assert empty == []
    assert third[0]["topic"] == "été" and third[0]["payload"] == b""


@pytest.mark.parametrize("reply", BAD_PULL_REPLIES)
def test_decode_pull_refuses_bad_replies(reply: bytes) -> None:
    with pytest.raises(ProtocolError):
        myqtthub.decode_pull(reply)
