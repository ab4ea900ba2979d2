"""``ferrolink myqtthub publish`` / ``pull`` against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import ferrolink.sandbox
from ferrolink.cli import main


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["myqtthub"]) as running:
        yield running


def args(sb: ferrolink.sandbox.Sandbox, which: str) -> list[str]:
    c = sb.credentials("myqtthub")
    return [
        "--url",
        sb.url("myqtthub"),
        "--ca-file",
        sb.ca_file,
        "--client-id",
        c[which],
        "--user",
        c["user_name"],
    ]


def test_publish_then_pull(
    sb: ferrolink.sandbox.Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MYQTTHUB_PASSWORD", sb.credentials("myqtthub")["password"])
    # a durable session keeps the subscription and queue between the two CLI runs
    pull = [
        "myqtthub",
        "pull",
        *args(sb, "client_id_2"),
        "--no-clean-session",
        "--subscribe",
        "cli/#:1",
    ]
    assert main(pull) == 0
    assert capsys.readouterr().out == ""
    publish = [
        "myqtthub",
        "publish",
        *args(sb, "client_id"),
        "cli/t",
        "héllo",
        "--qos",
        "1",
    ]
    assert main(publish) == 0
    assert "published 6 bytes to cli/t" in capsys.readouterr().err
    assert main(pull) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {
        "topic": "cli/t",
        "payload": "héllo",
        "qos": 1,
        "retain": False,
        "dup": False,
    }


def test_wrong_password(
    sb: ferrolink.sandbox.Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MYQTTHUB_PASSWORD", "definitely-not-it")
    assert main(["myqtthub", "publish", *args(sb, "client_id"), "cli/t", "x"]) == 1
    err = capsys.readouterr().err
    assert "Service denied" in err and "definitely-not-it" not in err
    assert main(["myqtthub", "publish", *args(sb, "client_id"), "cli/#", "x"]) == 2
    assert "wildcards" in capsys.readouterr().err
