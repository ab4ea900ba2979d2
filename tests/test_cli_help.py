"""Every ``ferrolink`` help text: complete, plain text, and naming what each command reads."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from ferrolink.cli import build_parser


def walk(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from walk(child)


def find(*path: str) -> argparse.ArgumentParser:
    prog = " ".join(("ferrolink", *path))
    return next(p for p in walk(build_parser()) if p.prog == prog)


def test_every_option_has_help_and_no_rest_markup() -> None:
    parsers = list(walk(build_parser()))
    assert len(parsers) >= 14
    for parser in parsers:
        text = parser.format_help()
        for markup in ("``", ":class:", ":meth:", ":attr:", ":data:"):
            assert markup not in text, (parser.prog, markup)
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{parser.prog}: {action.dest} has no help"


@pytest.mark.parametrize(
    ("path", "variables"),
    [
        (("hexonet",), ["FERROLINK_HEXONET_USER", "FERROLINK_HEXONET_PASSWORD"]),
        (("exp",), ["EXP_PASSWORD", "EXP_SECRET", "EXP_API_KEY"]),
        (("idigi", "push"), ["IDIGI_PASSWORD"]),
        (("myqtthub", "publish"), ["MYQTTHUB_PASSWORD"]),
        (("myqtthub", "pull"), ["MYQTTHUB_PASSWORD"]),
        (("dsync", "create"), ["DSYNC_AUTH_TOKEN"]),
        (("dsync", "delete"), ["DSYNC_AUTH_TOKEN"]),
        (("sandbox",), []),
    ],
)
def test_help_lists_the_environment_variables_read(
    path: tuple[str, ...], variables: list[str]
) -> None:
    text = find(*path).format_help()
    assert "environment variables:" in text
    for variable in [*variables, "FERROLINK_SANDBOX_STATE"]:
        assert f"\n  {variable}" in text, (path, variable)


def test_myqtthub_help_shows_the_url_default_and_explains_clean_sessions() -> None:
    text = " ".join(find("myqtthub", "pull").format_help().split())
    assert "(default https://node02.myqtthub.com)" in text
    assert "--no-clean-session" in text and "later invocation finds nothing" in text
