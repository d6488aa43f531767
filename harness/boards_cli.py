"""`hil boards`: what the inventory holds."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import inventory


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("boards", help="list the boards of an inventory")
    p.add_argument("--boards", type=Path, default=inventory.DEFAULT_INVENTORY, help="inventory TOML")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    inv = inventory.load(args.boards)
    rows = [("id", "chip", "port", "reset", "network", "tags")]
    for b in inv.boards:
        rows.append((b.id, b.chip, b.port or ("(virtual)" if b.virtual else ""), b.reset, b.network, ",".join(b.tags)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0
