"""``ferrolink dsync layout FILE.json --validate`` and ``ferrolink dsync token``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ferrolink import dsync
from ferrolink.cli import main

LAYOUT = {
    "data_layout": [
        {
            "entity_name": "product",
            "treekey": "product",
            "endpoint_url": "/entity/product",
            "entity_token": "source-1-product-b5503a0ae5f3bc01b6a2da68afd33305",
            # the blueprint's sparse form: null keys omitted
            "fields": [
                {"treekey": "product.sku", "type": "text", "name": "sku", "primary_key": True}
            ],
        }
    ]
}


def write(tmp_path: Path, data: object) -> str:
    path = tmp_path / "layout.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_valid_layout_is_printed_normalised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dsync", "layout", write(tmp_path, LAYOUT), "--validate"]) == 0
    out, err = capsys.readouterr()
    printed = json.loads(out)
    assert list(printed["data_layout"][0]["fields"][0]) == list(dsync.Field.KEYS)
    assert "valid: 1 entities" in err


def test_envelope_in_and_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    envelope = {"status": 200, "message": "OK", "detail": {}, "data": LAYOUT}
    assert main(["dsync", "layout", write(tmp_path, envelope), "--envelope"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert list(printed) == ["status", "message", "detail", "data"]


def test_problems_are_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = json.loads(json.dumps(LAYOUT))
    bad["data_layout"][0]["fields"][0].update(primary_key=False, treekey="order.sku")
    path = write(tmp_path, bad)
    assert main(["dsync", "layout", path, "--validate"]) == 1
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert "must start with 'product.'" in err and "no field is marked primary_key" in err
    assert main(["dsync", "layout", path]) == 0  # without --validate it just prints


@pytest.mark.parametrize(
    "content, code, message",
    [
        ("{not json", 2, "cannot read"),
        (json.dumps({"layout": []}), 1, '"data_layout" list'),
        (
            json.dumps({"data_layout": [{"fields": [{"treekey": "a.b", "name": "b"}]}]}),
            1,
            "Treekey is required for this endpoint",
        ),
    ],
)
def test_unreadable_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, code: int, message: str
) -> None:
    assert main(["dsync", "layout", write(tmp_path, content), "--validate"]) == code
    assert message in capsys.readouterr().err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dsync", "layout", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dsync", "token", "Big Product"]) == 0
    assert re.fullmatch(r"python-sdk-bigproduct-[0-9a-f]{32}\n", capsys.readouterr().out)
