"""``ferrolink exp`` commands against the embedded sandbox."""

from __future__ import annotations

import json

import pytest

from ferrolink.cli import main

pytestmark = pytest.mark.usefixtures("exp_clean")


def test_devices_lists_the_seeded_players(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exp", "--sandbox", "devices", "subtype=scala:device:player"]) == 0
    out, err = capsys.readouterr()
    assert "Lobby Player" in out and "Spare Player" in out and "(2 of 2)" in err


def test_broadcast_prints_the_responses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exp", "--sandbox", "broadcast", "news", "hi", '{"a": 1}', "--timeout", "0"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_bad_input_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exp", "--sandbox", "devices", "no-equals-sign"]) == 2
    assert (
        "ferrolink exp: error: filter 'no-equals-sign' is not KEY=VALUE" in capsys.readouterr().err
    )
    assert main(["exp", "--sandbox", "broadcast", "c", "n", "{not json"]) == 2
    assert "ferrolink exp: error: the payload is not JSON" in capsys.readouterr().err
    assert main(["exp", "devices"]) == 2
    assert "--host" in capsys.readouterr().err
