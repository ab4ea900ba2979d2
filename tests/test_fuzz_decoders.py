"""Every decoder that reads bytes from a peer, as a fuzz target: one definition, two drivers.

The tests below run each target under hypothesis with a short budget (``FERROLINK_FUZZ_EXAMPLES``
inputs per strategy, 150 by default); ``scripts/fuzz.sh`` loads this module and runs the same
targets for millions of seeded random mutations. A target is its public entry point, a
corpus of valid inputs to mutate, and the exceptions its documentation allows: anything else
escaping (or a panic, abort, hang or runaway memory) is a finding.
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferrolink import _core, errors
from ferrolink.dsync import DataLayout, ValidationException, envelope_problems, layout_problems
from ferrolink.exp import eio
from ferrolink.hexonet.response import Response
from ferrolink.idigi import codec
from ferrolink.myqtthub import client as myqtthub_client

__all__ = ["TARGETS", "Target", "check", "mutate"]


@dataclass(frozen=True)
class Target:
    name: str
    corpus: Sequence[bytes]
    #: Splice-in tokens that reach the decoder's corners faster than random bytes do.
    tokens: Sequence[bytes]
    run: Callable[[bytes], object]
    allowed: tuple[type[BaseException], ...]


# --- HEXONET: the plain-text response, through Response and every getter that parses it ----

_HEXONET = [
    b"[RESPONSE]\nCODE=200\nDESCRIPTION=Command completed successfully\nQUEUETIME=0\n"
    b"RUNTIME=0.01\nEOF\n",
    b"[RESPONSE]\nCODE=200\nDESCRIPTION=Command completed successfully\n"
    b"PROPERTY[DOMAIN][0]=example.com\nPROPERTY[DOMAIN][1]=example.net\n"
    b"PROPERTY[TOTAL][0]=2\nPROPERTY[FIRST][0]=0\nPROPERTY[LAST][0]=1\nPROPERTY[LIMIT][0]=2\n"
    b"PROPERTY[COUNT][0]=2\nEOF\n",
    b"[RESPONSE]\ncode = 545\ndescription = Entity reference not found\nEOF\n",
    b"[RESPONSE]\nCODE=423\nDESCRIPTION=Temporary error\nPROPERTY[X][0]=\xc3\xa9\nEOF\n",
]


def _hexonet(data: bytes) -> None:
    r = Response(data, {"COMMAND": "QueryDomainList"})
    # Not getQueuetime() / getRuntime(): like the original's, they raise a plain ValueError
    # for a QUEUETIME / RUNTIME that is not a number.
    r.getCode(), r.getDescription(), r.getPlain()
    r.isError(), r.isSuccess(), r.isTmpError(), r.isPending()
    r.getListHash(), r.getPagination(), r.getRecordsCount(), r.getColumnKeys()
    while r.getNextRecord() is not None:
        pass


# --- iDigi push frames: the incremental decoder, fed in pieces, drained --------------------


def _idigi_corpus() -> list[bytes]:
    doc = json.dumps({"Document": {"Msg": {"topic": "42/DataPoint/x", "value": 1}}})
    stream = codec.encode_connection_response(200, 1)
    stream += codec.encode_publish_message(1, doc, compression=codec.COMPRESSION_ZLIB)
    stream += codec.encode_publish_message(2, "<Document/>", format=codec.FORMAT_XML)
    raw = zlib.compressobj(wbits=-15)
    deflated = raw.compress(doc.encode()) + raw.flush()
    stream += codec.encode_publish_message(3, deflated, compression=1, raw=True)
    stream += codec.encode_ack(2) + bytes.fromhex("0009 00000002 aabb")
    bomb = zlib.compress(b"\0" * (1 << 20), 9)
    return [
        stream,
        codec.encode_connection_request("jürgen", "pw", 7),
        codec.encode_publish_message(9, bomb, compression=1, raw=True),
    ]


def _idigi(data: bytes) -> None:
    # Small limits so a mutated size field or a bomb is judged quickly, not by the megabyte.
    decoder = codec.FrameDecoder(
        max_frame_size=1 << 20, max_payload_size=2 << 20, max_inflated_per_feed=4 << 20
    )
    cut = len(data) // 3
    for piece in (data[:cut], data[cut:]):
        try:
            for frame in decoder.feed(piece):
                getattr(frame, "payload", None)
        except codec.FrameError:
            pass
    while decoder.backlog:
        decoder.feed(b"")


# --- Engine.IO / Socket.IO: a polling body, then each packet it holds ---------------------

_EIO = [
    eio.encode_payload(['0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000}', "40"]),
    eio.encode_payload(['42["broadcast",{"channel":"c","name":"n","payload":[1,2]}]', "2", "6"]),
    eio.encode_payload(['42["message",{"x":"é"}]', "3probe", "41"], binary=False),
    b'12:42["a",[{}]]',
]


def _eio(data: bytes) -> None:
    for packet in eio.decode_payload(data):
        if packet.startswith(eio.MESSAGE):
            eio.decode_socketio(packet)
        elif packet.startswith(eio.OPEN):
            eio.decode_open(packet)


# --- MyQttHub: the /pull reply (Rust) and every other reply (JSON or text) ----------------

_PULL = [
    b'[{"topic":"a/b","payload":"aGVsbG8=","qos":1,"retain":false}]',
    b'[{"topic":"t","payload":"","qos":0},{"topic":"u","payload":"AAEC/w==","extra":[1,{}]}]',
    b"[]",
]


def _pull(data: bytes) -> None:
    myqtthub_client._parse(data)
    for message in _core.myqtthub_decode_pull(data):
        message.get("payload")


# --- DSYNC: a layout document (file for the CLI, served envelope for the platform) ---------

_FIELD = {"treekey": "p.id", "type": "number", "name": "id", "primary_key": True}
_NESTED = {
    "treekey": "p.dims",
    "type": "object",
    "name": "dims",
    "functions": [],
    "fields": [{"treekey": "p.dims.w", "type": "number", "name": "w"}],
}
_ENDPOINT = {
    "entity_name": "product",
    "treekey": "p",
    "endpoint_url": "https://example.com/p",
    "entity_token": "tok",
    "fields": [_FIELD, _NESTED],
}
_DSYNC = [
    json.dumps({"data_layout": [_ENDPOINT]}).encode(),
    json.dumps(
        {"status": 200, "message": "OK", "detail": {}, "data": {"data_layout": [_ENDPOINT]}}
    ).encode(),
]


def _dsync(data: bytes) -> None:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):  # not JSON at all: the stdlib's business, not ours
        return
    envelope_problems(document)
    layout_problems(document)
    with contextlib.suppress(ValidationException):
        DataLayout.from_dict(document).validate()


# --- JWT: a token a client presents to the EXP platform -----------------------------------

_JWT_KEY = "sandbox-secret"
_JWT = [
    _core.jwt_encode_hs256('{"uuid":"d1","type":"device"}', _JWT_KEY).encode(),
    _core.jwt_encode_hs256('{"a":[1,2,{"b":null}],"exp":99999999999}', _JWT_KEY).encode(),
]


def _jwt(data: bytes) -> None:
    _core.jwt_decode_hs256(data.decode("utf-8", "replace"), _JWT_KEY)


# Deeper than Python's json can recurse (1,000 levels) in one edit.
_JSON_TOKENS = [b"[" * 1200, b"{" * 50, b'"\\ud800"', b"1e999999", b"9" * 400, b"\xff", b"\x00"]

TARGETS = {
    t.name: t
    for t in (
        Target(
            "hexonet-response",
            _HEXONET,
            [b"CODE=", b"\nFIRST=" + b"9" * 300, b"\nLIMIT=1", b"\nTOTAL=-1", b"[", b"=", b"\n"],
            _hexonet,
            (errors.FerrolinkError,),
        ),
        Target(
            "idigi-frames",
            _idigi_corpus(),
            [b"\xff\xff\xff\xff", b"\x04\x00\x00\x00", b"\x00\x03", b"\x78\x9c", b"\x1f\x8b"],
            _idigi,
            (codec.FrameError,),
        ),
        Target(
            "eio-packets",
            _EIO,
            [b"\xc2\xb2:", b"42", b"0{", b"\x00\x09\xff", b"99999999999:", *_JSON_TOKENS],
            _eio,
            (errors.ProtocolError,),
        ),
        Target(
            "myqtthub-pull",
            _PULL,
            [b'"payload":', b"=", *_JSON_TOKENS],
            _pull,
            (errors.ProtocolError,),
        ),
        Target(
            "dsync-layout",
            _DSYNC,
            [b'"functions":5,', b'"fields":', b'"fields":[{"fields":[', *_JSON_TOKENS],
            _dsync,
            (),
        ),
        Target(
            "jwt",
            _JWT,
            [b".", b"=", b"eyJ", b"-_", b"\xc3\xa9"],
            _jwt,
            (errors.AuthenticationError, errors.InvalidArgumentError),
        ),
    )
}


def mutate(rng_choice: Callable[[int], int], target: Target, rounds: int) -> bytes:
    """A corpus entry with ``rounds`` random edits; ``rng_choice(n)`` picks from ``range(n)``."""
    data = bytearray(target.corpus[rng_choice(len(target.corpus))])
    for _ in range(rounds):
        at = rng_choice(len(data) + 1)
        edit = rng_choice(7)
        if edit == 0 and data:  # flip a byte
            data[at % len(data)] ^= 1 + rng_choice(255)
        elif edit == 1:  # insert random bytes
            data[at:at] = bytes(rng_choice(256) for _ in range(1 + rng_choice(8)))
        elif edit == 2:  # delete a run
            del data[at : at + 1 + rng_choice(16)]
        elif edit == 3:  # insert a token
            data[at:at] = target.tokens[rng_choice(len(target.tokens))]
        elif edit == 4 and data:  # duplicate a run
            end = at + 1 + rng_choice(64)
            data[at:at] = data[at:end]
        elif edit == 5:  # splice in part of another corpus entry
            other = target.corpus[rng_choice(len(target.corpus))]
            start = rng_choice(len(other) + 1)
            data[at:at] = other[start : start + 1 + rng_choice(64)]
        else:  # truncate
            del data[at:]
    return bytes(data)


def check(target: Target, data: bytes) -> None:
    """Run one input; documented errors are fine, anything else propagates."""
    with contextlib.suppress(*target.allowed):
        target.run(data)


# --- the hypothesis campaign ----------------------------------------------------------------

_BUDGET = settings(
    max_examples=int(os.environ.get("FERROLINK_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


@pytest.mark.parametrize("name", sorted(TARGETS))
@_BUDGET
@given(data=st.binary(max_size=2048))
def test_random_bytes_raise_only_documented_errors(name: str, data: bytes) -> None:
    check(TARGETS[name], data)


@pytest.mark.parametrize("name", sorted(TARGETS))
@_BUDGET
@given(choices=st.lists(st.integers(min_value=0, max_value=1 << 16), min_size=1, max_size=64))
def test_mutated_valid_inputs_raise_only_documented_errors(name: str, choices: list[int]) -> None:
    target = TARGETS[name]
    picks = iter(choices * 64)
    data = mutate(lambda n: next(picks, 0) % n, target, 1 + choices[0] % 6)
    check(target, data)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_corpus_is_valid(name: str) -> None:
    """The seeds decode cleanly: mutations start from inputs that reach deep into the code."""
    target = TARGETS[name]
    for data in target.corpus:
        target.run(data)
