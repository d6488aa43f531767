"""`hil --help` answers every question: each option says what it does and what it defaults to."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from esp_hil.cli import build_parser


def _actions(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield path, action


def test_every_option_has_help_and_shows_its_default():
    missing = []
    for path, action in _actions(build_parser(), "hil"):
        name = "/".join(action.option_strings) or action.dest
        if not action.help:
            missing.append(f"{path} {name}: no help")
        elif action.default not in (None, False, [], argparse.SUPPRESS) and "default" not in action.help:
            missing.append(f"{path} {name}: default {action.default!r} not shown")
    assert not missing, "\n".join(missing)
