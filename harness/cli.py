"""The `hil` command: one subcommand per concern, each module registers its own."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from esp_hil.errors import HilError


def build_parser() -> argparse.ArgumentParser:
    from esp_hil import boards_cli, flash_cli, labgrid_cli, virtual_cli
    from esp_hil.report import cli as report_cli
    from esp_hil.virtual.source import mutations_cli

    parser = argparse.ArgumentParser(prog="hil", description="esp-hil: MicroPython boards in the loop")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (virtual_cli, boards_cli, flash_cli, labgrid_cli, report_cli, mutations_cli):
        module.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except HilError as exc:
        print(f"hil: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
