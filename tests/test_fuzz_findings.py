"""What the adversarial campaign found in the Python decoders, each pinned as a typed error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ferrolink import cli, dsync
from ferrolink.errors import ProtocolError
from ferrolink.exp import eio
from ferrolink.myqtthub import client as myqtthub_client


@pytest.mark.parametrize(
    "packet",
    ["42" + "[" * 5000 + "]" * 5000, "42[" + '{"a":' * 3000 + "1" + "}" * 3000 + "]"],
)
def test_socketio_nesting_too_deep_is_a_protocol_error(packet: str) -> None:
    with pytest.raises(ProtocolError, match="nested too deeply"):
        eio.decode_socketio(packet)


def test_engineio_open_nesting_too_deep_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="not JSON"):
        eio.decode_open("0" + "[" * 5000 + "]" * 5000)


@pytest.mark.parametrize("body", ["²:x", "٣:abc", "1²:x", "\U0001d7d9:x"])
def test_non_ascii_length_digits_are_a_protocol_error(body: str) -> None:
    with pytest.raises(ProtocolError, match="bad length prefix"):
        eio.decode_payload(body.encode())


def _endpoint(fields: list[Any]) -> dict[str, Any]:
    return {
        "entity_name": "product",
        "treekey": "p",
        "endpoint_url": "https://example.com/p",
        "entity_token": "t",
        "fields": fields,
    }


@pytest.mark.parametrize("functions", [5, True, 1.5, "abc", {"a": 1}])
def test_functions_of_the_wrong_type_name_the_field(functions: Any) -> None:
    good = {"treekey": "p.id", "type": "number", "name": "id"}
    bad = {"treekey": "p.x", "type": "text", "name": "x", "functions": functions}
    layout = {"data_layout": [_endpoint([good, {**good, "type": "object", "fields": [bad]}])]}
    with pytest.raises(dsync.ValidationException) as caught:
        dsync.DataLayout.from_dict(layout)
    assert "data_layout[0].fields[1].fields[0].functions must be a list" in str(caught.value)


def _chain(depth: int) -> dict[str, Any]:
    field: dict[str, Any] = {"treekey": "p.x", "type": "text", "name": "x"}
    for _ in range(depth):
        field = {"treekey": "p.x", "type": "object", "name": "x", "fields": [field]}
    return field


def test_fields_nested_too_deep_are_a_layout_error_naming_where() -> None:
    with pytest.raises(dsync.ValidationException, match="nest deeper than 32 levels") as caught:
        dsync.DataLayout.from_dict({"data_layout": [_endpoint([_chain(400)])]})
    assert str(caught.value).startswith("data_layout[0].fields[0].fields[0].fields[0]")
    # The platform-side rules report the same document as a problem instead of recursing.
    problems = dsync.layout_problems({"data_layout": [_endpoint([_chain(400)])]})
    assert any("nest deeper than 32 levels" in p for p in problems)
    # Within the limit, nesting still works.
    dsync.DataLayout.from_dict({"data_layout": [_endpoint([_chain(30)])]})


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"data_layout": [_endpoint([_chain(400)])]}),
        json.dumps({"data_layout": [_endpoint([{"treekey": "p.a", "functions": 5}])]}),
    ],
    ids=["json-100000-deep", "fields-400-deep", "functions-int"],
)
def test_cli_validate_prints_one_line_and_fails(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "layout.json"
    path.write_text(text)
    code = cli.main(["dsync", "layout", str(path), "--validate"])
    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("ferrolink dsync: "), err


def test_a_myqtthub_reply_nested_too_deep_is_text_like_any_other_non_json() -> None:
    body = b"[" * 100_000
    assert myqtthub_client._parse(body) == body.decode()
