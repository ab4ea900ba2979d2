"""EXP wire details that need no server: JWTs, channel ids, Engine.IO framing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferrolink import _core, exp
from ferrolink.errors import AuthenticationError, InvalidArgumentError, ProtocolError
from ferrolink.exp import eio
from ferrolink.exp.auth import Credentials, device_jwt

SPEC_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJ1dWlkIjoidGVzdC11dWlkIiwidHlwZSI6ImRldmljZSIsImFsbG93UGFpcmluZyI6bnVsbCwiZXhwIjoxNzAwMDAwMDMwMDAwfQ."
    "VIPAW908E8MOnBbiPc60AqObePjPmqzd2yfwIVWJnuk"
)


def test_jwt_matches_the_spec_vector() -> None:
    claims = {"uuid": "test-uuid", "type": "device", "allowPairing": None, "exp": 1700000030000}
    assert device_jwt(claims, "test-secret") == SPEC_TOKEN
    assert json.loads(_core.jwt_decode_hs256(SPEC_TOKEN, "test-secret")) == claims


def test_jwt_rejects_bad_input_with_typed_errors() -> None:
    with pytest.raises(AuthenticationError, match="signature"):
        _core.jwt_decode_hs256(SPEC_TOKEN, "wrong")
    with pytest.raises(InvalidArgumentError, match="three"):
        _core.jwt_decode_hs256("abc", "k")
    with pytest.raises(InvalidArgumentError, match="object"):
        _core.jwt_encode_hs256("[1, 2]", "k")


def test_device_login_body_uses_milliseconds_and_compact_claims() -> None:
    creds = Credentials.from_options({"uuid": "u1", "secret": "s3cr3t"})
    body = creds.login_body(now=1700000000)
    claims = json.loads(_core.jwt_decode_hs256(body["token"], "s3cr3t"))
    assert claims == {"uuid": "u1", "type": "device", "allowPairing": None, "exp": 1700000030000}
    consumer = Credentials.from_options({"uuid": "c1", "api_key": "k"}).login_body(now=1)
    assert json.loads(_core.jwt_decode_hs256(consumer["token"], "k"))["type"] == "consumerApp"
    assert "s3cr3t" not in repr(creds)


@pytest.mark.parametrize(
    ("opts", "kind"),
    [
        ({"uuid": "u", "secret": "s"}, "device"),
        ({"deviceUuid": "u", "secret": "s"}, "device"),
        ({"networkUuid": "n", "apiKey": "k"}, "consumerApp"),
        ({"uuid": "u", "api_key": "k"}, "consumerApp"),
        ({"username": "a", "password": "b", "organization": "c"}, "user"),
        ({"token": "t"}, "token"),
        ({"allow_pairing": True}, "device"),
    ],
)
def test_identity_selection(opts: dict[str, object], kind: str) -> None:
    assert Credentials.from_options(opts).kind == kind


@pytest.mark.parametrize(
    "opts",
    [{}, {"username": "a"}, {"uuid": "u"}, {"uuid": 5, "secret": "s"}, {"type": "robot"}],
)
def test_bad_start_options_raise_usage_error(opts: dict[str, object]) -> None:
    with pytest.raises(exp.UsageError):
        Credentials.from_options(opts)


def test_usage_error_keeps_its_message_and_the_builtin() -> None:
    err = exp.UsageError("boom")
    assert isinstance(err, RuntimeError) and str(err) == "boom"
    assert not hasattr(exp, "RuntimeError")  # the original shadowed the builtin


def test_channel_id_vectors() -> None:
    assert exp.channel_id("scala", "test_channel") == "WyJzY2FsYSIsInRlc3RfY2hhbm5lbCIsMCwwXQ=="
    assert exp.channel_id("scala", "café") == "WyJzY2FsYSIsImNhZlx1MDBlOSIsMCwwXQ=="
    # system before consumer
    assert exp.channel_id("o", "n", system=True) != exp.channel_id("o", "n", consumer=True)


def test_binary_framing_matches_the_spec() -> None:
    assert eio.encode_payload(["3"]) == b"\x00\x01\xff3"
    assert eio.encode_payload(["3"], binary=False) == b"1:3"
    assert eio.decode_payload(b"\x00\x01\xff3\x00\x02\xff40") == ["3", "40"]
    assert eio.decode_payload(b"1:32:40") == ["3", "40"]


@given(st.lists(st.text(min_size=1, max_size=40), max_size=6), st.booleans())
def test_framing_round_trips(packets: list[str], binary: bool) -> None:
    assert eio.decode_payload(eio.encode_payload(packets, binary=binary)) == packets


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x05\xff12",
        b"\x00\x0a\xffx",
        b"\x00\xff",
        b"\x02\x01\xff3",
        b"x:3",
        b"5:12",
        b"\x00\x01",
    ],
)
def test_malformed_payloads_raise_protocol_error(body: bytes) -> None:
    with pytest.raises(ProtocolError, match=r"Engine\.IO payload"):
        eio.decode_payload(body)


def test_socketio_packets() -> None:
    assert eio.encode_event("subscribe", ["id"]) == '42["subscribe",["id"]]'
    packet = eio.decode_socketio('42["broadcast",{"id":"1"}]')
    assert packet == eio.SocketIOPacket("event", "broadcast", ({"id": "1"},))
    assert eio.decode_socketio("40") == eio.SocketIOPacket("connect")
    assert eio.decode_socketio("40/admin") is None
    for bad in ("42{oops", '42{"a":1}', "42[1]", "x"):
        with pytest.raises(ProtocolError):
            eio.decode_socketio(bad)
    with pytest.raises(ProtocolError, match="sid"):
        eio.decode_open('0{"upgrades":[]}')
