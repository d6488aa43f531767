"""The `hil` command: one table of subcommands, each group's options and code in a module of its own.

`hil --help` and `hil X` import only what X needs (its module, imported when X is
chosen): building the whole parser would import esptool, pyserial and mpremote for a
command that needs none of them. Errors meant for a person (`HilError`, with its
hint) are printed here, once, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from esp_hil.errors import HilError


class Command(NamedTuple):
    module: str  # esp_hil.cli.<module>: its `add_<command>(parser)` adds the options and sets `func`
    help: str


COMMANDS: dict[str, Command] = {
    "virtual": Command("virtual", "serve virtual boards on rfc2217://127.0.0.1:PORT"),
    "fault": Command("virtual", "inject a fault into a virtual board served by `hil virtual`"),
    "boards": Command("boards", "list the boards of an inventory: reachable, running, held by whom"),
    "firmware": Command("flash", "the firmware catalog (firmware/manifest.toml of the project folder, git-ignored)"),
    "flash": Command("flash", "flash a board: --board ID --firmware NAME, or --port URL --chip CHIP IMAGE"),
    "labgrid": Command("labgrid", "labgrid places: release a crashed run's place, show who holds one"),
    "report": Command("report", "compare a run with a baseline: regressions first (HTML, Markdown or JSON)"),
    "results": Command("report", "manage results databases (merge those of several rack hosts)"),
    "mutations": Command("mutations", "revert each fix the suite guards, in a board built from source, "
                                      "and show that its test fails"),
}


def build_parser(commands: Iterable[str] = COMMANDS) -> argparse.ArgumentParser:
    """The `hil` parser; only `commands` get their options (and have their modules imported)."""
    parser = argparse.ArgumentParser(prog="hil", description="esp-hil: MicroPython boards in the loop")
    sub = parser.add_subparsers(dest="command", required=True)
    loaded = set(commands)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        if name in loaded:
            module = importlib.import_module(f"{__name__}.{command.module}")
            getattr(module, f"add_{name}")(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)  # `hil` itself has no options but -h
    args = build_parser([chosen] if chosen in COMMANDS else []).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except HilError as exc:
        print(f"hil: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
