"""Every core error kind crosses into Python through the one bridge, as its own class."""

from __future__ import annotations

import pytest

from ferrolink import _core, errors
from ferrolink.idigi import codec
from ferrolink.myqtthub import topics

EXPECTED: dict[str, type[errors.FerrolinkError]] = {
    "invalid_argument": errors.InvalidArgumentError,
    "connect": errors.ConnectError,
    "timeout": errors.TimeoutError,
    "tls": errors.TLSError,
    "protocol": errors.ProtocolError,
    "authentication": errors.AuthenticationError,
    "bad_request": errors.ProtocolError,
}


def test_the_kinds_are_the_expected_ones() -> None:
    assert sorted(_core._error_kinds()) == sorted(EXPECTED)


@pytest.mark.parametrize(("kind", "cls"), EXPECTED.items())
def test_every_kind_raises_its_class_with_message_and_host(
    kind: str, cls: type[errors.FerrolinkError]
) -> None:
    with pytest.raises(errors.FerrolinkError) as info:
        _core._raise_kind(kind, "it broke", "example.com:443")
    assert type(info.value) is cls
    assert str(info.value) == "example.com:443: it broke"
    assert info.value.host == "example.com:443"


def test_no_host_means_none() -> None:
    with pytest.raises(errors.ConnectError) as info:
        _core._raise_kind("connect", "refused")
    assert str(info.value) == "refused" and info.value.host is None


def test_unknown_kind_is_an_invalid_argument() -> None:
    with pytest.raises(errors.InvalidArgumentError, match='no error kind named "nope"'):
        _core._raise_kind("nope", "x")


def test_real_paths_use_the_bridge() -> None:
    with pytest.raises(errors.AuthenticationError, match="signature"):
        _core.jwt_decode_hs256(_core.jwt_encode_hs256('{"a":1}', "k1"), "k2")
    with pytest.raises(errors.InvalidArgumentError, match="malformed JWT"):
        _core.jwt_decode_hs256("not-a-token", "k")
    with pytest.raises(errors.ProtocolError):
        _core.myqtthub_decode_pull(b"{not json")
    with pytest.raises(errors.InvalidArgumentError):
        _core.myqtthub_publish_body("t", "", b"x")
    with pytest.raises(errors.InvalidArgumentError, match="at least one host"):
        _core.generate_test_ca([])
    with pytest.raises(errors.InvalidArgumentError, match="timeout must be"):
        _core.HttpClient(total_timeout=-1.0)


def test_limits_come_from_the_core() -> None:
    assert codec.DEFAULT_MAX_FRAME_SIZE == _core.IDIGI_DEFAULT_MAX_FRAME_SIZE > 0
    assert codec.DEFAULT_MAX_PAYLOAD_SIZE == _core.IDIGI_DEFAULT_MAX_PAYLOAD_SIZE > 0
    assert codec.DEFAULT_MAX_INFLATED_PER_FEED == _core.IDIGI_DEFAULT_MAX_INFLATED_PER_FEED > 0
    assert topics.MAX_TOPIC_BYTES == _core.MYQTTHUB_MAX_TOPIC_BYTES == 65535
