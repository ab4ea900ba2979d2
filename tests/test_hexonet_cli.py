"""``ferrolink hexonet`` and the HEXONET demo section, against the embedded sandbox."""

from __future__ import annotations

import io
import json

import pytest

import ferrolink.sandbox
from ferrolink._cli import progress
from ferrolink.cli import main
from ferrolink.demo import Report
from ferrolink.hexonet.demo import demo


def test_cli_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hexonet", "--sandbox", "COMMAND=QueryDomainList", "LIMIT=3", "WIDE=1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("200 Command completed successfully")
    assert "DOMAIN" in out and "RENEWALMODE" in out and "(3 of 2500 rows)" in out


def test_cli_all_pages_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "hexonet",
                "--sandbox",
                "COMMAND=QueryDomainList",
                "LIMIT=1000",
                "--all-pages",
                "--json",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["code"] == 200 and len(data["rows"]) == 2500
    assert "2500/2500" not in captured.err  # no progress bar: stderr is not a terminal


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_only_on_a_terminal() -> None:
    tty, pipe = Terminal(), io.StringIO()
    for done in (1000, 2000, 2500):
        progress(done, 2500, tty)
        progress(done, 2500, pipe)
    assert pipe.getvalue() == ""
    assert tty.getvalue().endswith("\r[" + "#" * 30 + "] 2500/2500\n")


def test_cli_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hexonet", "--sandbox", "LIMIT=3"]) == 2
    assert "missing COMMAND" in capsys.readouterr().err
    assert main(["hexonet", "--sandbox", "COMMAND=NoSuchCommand"]) == 1
    assert capsys.readouterr().out.startswith("500 Invalid command name")


def test_cli_credentials_from_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with ferrolink.sandbox.start(["hexonet"]) as sb:
        monkeypatch.setenv("FERROLINK_HEXONET_USER", "test.user")
        monkeypatch.setenv("FERROLINK_HEXONET_PASSWORD", "test.passw0rd")
        url = sb.url("hexonet", "https") + "/api/call.cgi"
        assert (
            main(["hexonet", "--url", url, "--ca-file", sb.ca_file, "COMMAND=StatusAccount"]) == 0
        )
        assert "USD" in capsys.readouterr().out
        monkeypatch.setenv("FERROLINK_HEXONET_PASSWORD", "wrong")
        assert (
            main(["hexonet", "--url", url, "--ca-file", sb.ca_file, "COMMAND=StatusAccount"]) == 1
        )
        assert "wrong" not in capsys.readouterr().out


def test_demo_section() -> None:
    out = io.StringIO()
    report = Report(out)
    with ferrolink.sandbox.start(["hexonet"]) as sb:
        demo(sb, report)
    assert report.steps == 6 and "logout" in out.getvalue()
