"""ferrolink_ffi.hexonet on its own (CPython and PyPy): the parser's grammar and the encoder."""

from __future__ import annotations

import pytest
from ferrolink_ffi import hexonet
from ferrolink_ffi.errors import InvalidArgumentError
from ffi_vectors import HEXONET_SPEC


def test_spec_example() -> None:
    assert hexonet.parse(HEXONET_SPEC) == {
        "CODE": "200",
        "DESCRIPTION": "Command completed successfully",
        "PROPERTY": {"DOMAIN": ["example.com", "example.net"], "TOTAL": ["2"]},
        "QUEUETIME": "0",
        "RUNTIME": "0.004",
    }


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("code = 200", {"CODE": "200"}),
        ("  code = 200", {"  CODE": "200"}),
        ("A = x = y", {"A": "x = y"}),
        ("=x", {}),
        ("CODE=200\r", {"CODE": "200\r"}),
        ("ß=1", {"SS": "1"}),
        ("PROPERTY=x", {}),
        ("", {}),
    ],
)
def test_line_grammar(line: str, expected: dict[str, str]) -> None:
    assert hexonet.parse(line) == expected


def test_duplicates_keep_first_position_last_value() -> None:
    parsed = hexonet.parse("CODE=1\r\nX=a\r\nCODE=2\r\nPROPERTY[a b][0]=1\r\nproperty[AB][0]=2")
    assert list(parsed) == ["CODE", "X", "PROPERTY"]
    assert parsed["CODE"] == "2" and parsed["PROPERTY"] == {"AB": ["1", "2"]}


def test_parse_rejects_non_str_and_keeps_lone_surrogates() -> None:
    with pytest.raises(TypeError, match="expects str"):
        hexonet.parse(b"CODE=200")  # type: ignore[arg-type]
    parsed = hexonet.parse("co\udc80de=\ud800\nproperty[\udfff x][0]=1")
    assert parsed == {"CO\udc80DE": "\ud800", "PROPERTY": {"\udfffX": ["1"]}}


def test_command_block_and_post_data_wire_vectors() -> None:
    block = hexonet.command_block([("AUTH", "gwrgwqg%&\\44t3*"), ("COMMAND", "ModifyDomain")])
    assert block == "AUTH=gwrgwqg%&\\44t3*\nCOMMAND=ModifyDomain"
    assert hexonet.post_data(block, entity="54cd") == (
        "s_entity=54cd&s_command=AUTH%3Dgwrgwqg%25%26%5C44t3%2A%0ACOMMAND%3DModifyDomain"
    )
    pairs = [("COMMAND", "CheckAuthentication"), ("PASSWORD", "test.passw0rd\r\n")]
    secured = hexonet.post_data(
        pairs, entity="54cd", login="test.user", pw="test.passw0rd", otp="", secured=True
    )
    assert secured == (
        "s_entity=54cd&s_login=test.user&s_pw=***&s_command=COMMAND%3DCheckAuthentication"
        "%0APASSWORD%3D%2A%2A%2A"
    )
    assert "passw0rd" not in secured
    assert hexonet.command_block([]) == ""


def test_encoder_bad_input() -> None:
    with pytest.raises(UnicodeEncodeError):
        hexonet.command_block([("A", "\udc80")])
    with pytest.raises((TypeError, AttributeError)):
        hexonet.post_data("X=1", entity=5)  # type: ignore[arg-type]
    assert issubclass(InvalidArgumentError, ValueError)
