"""`hil --help` answers every question: each command says what it does, each option what it does and
defaults to, and a listing with nothing in it says so."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from esp_hil.cli import build_parser, main
from esp_hil.results import ResultsStore


def _parsers(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def _unset(default: object) -> bool:
    """No default worth showing: nothing, off, an empty list (identity: 0 is a default to show, unlike False)."""
    return default is None or default is False or default == [] or default is argparse.SUPPRESS


def test_every_command_says_what_it_does():
    silent = [path for path, parser in _parsers(build_parser(), "hil") if not parser.description]
    assert not silent, "no description (their --help says only usage): " + ", ".join(silent)


def test_every_option_has_help_and_shows_its_default():
    missing = []
    for path, parser in _parsers(build_parser(), "hil"):
        for action in parser._actions:
            if isinstance(action, (argparse._SubParsersAction, argparse._HelpAction)):
                continue
            name = "/".join(action.option_strings) or action.dest
            if not action.help:
                missing.append(f"{path} {name}: no help")
            elif not _unset(action.default) and "default" not in action.help:
                missing.append(f"{path} {name}: default {action.default!r} not shown")
            elif "%(default)s" in action.help and str(action.default) not in parser.format_help().replace("\n", " "):
                missing.append(f"{path} {name}: default {action.default!r} not in --help")
    assert not missing, "\n".join(missing)


def test_empty_listings_say_they_are_empty(tmp_path, capsys):
    inventory = tmp_path / "empty.toml"
    inventory.write_text("# no boards yet\n")
    with ResultsStore(tmp_path / "results.sqlite"):
        pass
    for argv, says in (
        (["boards", "--boards", str(inventory)], f"no boards in {inventory}"),
        (["firmware", "list", "--manifest", str(tmp_path / "firmware" / "manifest.toml")], "no images in"),
        (["results", "list", "--db", str(tmp_path / "results.sqlite")], "no runs in"),
        (["results", "list", "--db", str(tmp_path / "results.sqlite"), "--suite", "tests/hil"], "for suite 'tests/hil'"),
    ):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert says in out and out.count("\n") == 1, f"hil {' '.join(argv)}:\n{out}"
