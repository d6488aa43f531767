"""`hil boards [--probe]`: what the inventory holds, and what each board says right now."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from urllib.parse import urlparse

from esp_hil import inventory, places
from esp_hil.capabilities import KNOWN
from esp_hil.errors import HilError
from esp_hil.inventory import CHIPS, BoardSpec
from esp_hil.lease import Lease, holder_of
from esp_hil.port import PortKind


def add_boards(p: argparse.ArgumentParser) -> None:
    p.add_argument("--boards", type=Path, default=places.rack(),
                   help="inventory TOML (default: %(default)s)")
    p.add_argument("--probe", action="store_true",
                   help="open each free, reachable board and ask its firmware what it is and can do")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    inv = inventory.load(args.boards)
    if not inv.boards:
        print(f"no boards in {args.boards} (a [[board]] table per board: see boards/rack-example.toml)")
        return 0
    header = ["id", "chip", "port", "reachable", "held by"]
    if args.probe:
        header += ["chip detected", "firmware", "capabilities"]
        from esptool.logger import log

        log.set_verbosity("silent")  # esptool's connect chatter would break the table
    rows = [header]
    for spec in inv.boards:
        rows.append(_row(spec, args.probe))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def _row(spec: BoardSpec, probe: bool) -> list[str]:
    if spec.unstarted:
        return [spec.id, spec.chip, "(virtual, started on demand)", "-", "-"] + (["-"] * 3 if probe else [])
    reachable = _reachable(spec.url)
    holder = holder_of(spec.url)
    held = holder.short if holder else "-"
    row = [spec.id, spec.chip, spec.url, "yes" if reachable else "no", held]
    if probe:
        row += _probe(spec) if reachable and not holder else ["-"] * 3
    return row


def _reachable(url: str) -> bool:
    """Without opening the port: a device path exists, or the rack host accepts TCP."""
    kind = PortKind.of(url)
    if kind is PortKind.DEVICE:
        return Path(url).exists()
    parsed = urlparse(url)
    if kind in (PortKind.RFC2217, PortKind.SOCKET) and parsed.hostname:
        try:
            with socket.create_connection((parsed.hostname, parsed.port), timeout=2):
                return True
        except OSError:
            return False
    return False


def _probe(spec: BoardSpec) -> list[str]:
    """The chip its ROM reports, then what its firmware says; under the board's lease."""
    from esp_hil.flash import detect_chip

    try:
        with Lease.acquire(spec.id, wait=0, key=spec.url):
            detected = detect_chip(spec)
            if detected in CHIPS and detected != spec.chip:
                detected += f" (the inventory says {spec.chip}!)"
            return [detected, *_ask_firmware(spec)]
    except HilError as exc:  # taken by a run between the table's check and now
        return ["-", str(exc).splitlines()[0][:60], "-"]


def _ask_firmware(spec: BoardSpec) -> list[str]:
    from esp_hil.board import Board

    try:
        board = Board.open(spec)
    except HilError as exc:
        return [f"no REPL ({str(exc).splitlines()[0][:40]})", "-"]
    try:
        caps = board.capabilities
        have = [name for name in KNOWN if not caps.lacks(name)]
        return [f"{caps.platform} MicroPython {caps.version}", ",".join(have) or "-"]
    except HilError as exc:
        return [f"no answer ({str(exc).splitlines()[0][:40]})", "-"]
    finally:
        board.close()
