"""`hil virtual`: serve virtual boards until SIGINT/SIGTERM/SIGHUP, like a rack host.

Each start first removes what racks killed earlier left in the temp folder (`leftovers`).
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from esp_hil import inventory
from esp_hil.inventory import to_toml
from esp_hil.virtual import faults, leftovers, lifetime
from esp_hil.virtual.faults import FAULTS
from esp_hil.virtual.rack import VirtualRack, specs_for
from esp_hil.virtual.source.build import add_options as build_options
from esp_hil.virtual.source.build import recipe_from


def add_virtual(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chip", choices=("esp32", "esp8266", "esp32s3"), default="esp32",
                   help="the chip each board answers as, to esptool and to the harness; esp32s3 is a native-USB "
                        "board on a by-id path that re-enumerates on reset (default: %(default)s)")
    p.add_argument("--count", type=int, default=1, help="how many boards to serve (default: %(default)s)")
    p.add_argument("--network", choices=("host", "netns"), default="host",
                   help="host: share this host's stack (loopback); netns: a namespace and veth of its own (root) "
                        "(default: %(default)s)")
    p.add_argument("--inventory", type=Path, help="start the virtual boards of this inventory instead")
    p.add_argument("--inventory-out", type=Path, help="write a boards TOML for the served boards")
    p.add_argument("--blank", action="store_true", help="leave a new board's flash erased (no firmware: it does not boot)")
    p.add_argument("--pty", action="store_true",
                   help="also serve each board on a pty (printed after its URL), for tools that open device "
                        "paths: MicroPython's pyboard.py, run-tests.py, run-multitests.py")
    p.add_argument("--workdir", type=Path, help="keep board state (flash, filesystem) here instead of a temp folder")
    build_options(p.add_argument, "--")
    p.add_argument("--parent-fd", type=int, metavar="FD",
                   help="a pipe from the process that started this one: when it closes, stop as on SIGTERM")
    p.set_defaults(func=run)


def add_fault(f: argparse.ArgumentParser) -> None:
    f.add_argument("url", help="the board's rfc2217:// URL")
    f.add_argument("fault", choices=FAULTS, help="what to do to the board: %(choices)s")
    f.add_argument("arg", nargs="?", type=float, default=0,
                   help="vanish: seconds (default 2); noise: bytes (default 64); slow, romlimit: a baud "
                        "(default: the board's own again)")
    f.set_defaults(func=fault)


def run(args: argparse.Namespace) -> int:
    stop, orphaned = threading.Event(), threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    if args.parent_fd is not None:
        lifetime.on_parent_exit(args.parent_fd, lambda: (orphaned.set(), stop.set()))
    leftovers.sweep()
    if args.inventory:
        specs = [b for b in inventory.load(args.inventory).boards if b.virtual]
    else:
        specs = specs_for(args.chip, args.count, args.network)
    source = recipe_from(args.micropython_src, args.micropython_revert, args.micropython_sanitize)
    rack = VirtualRack(specs, workdir=args.workdir, blank=args.blank, source=source, pty=args.pty)
    try:
        live = rack.start()
        if args.inventory_out:
            tmp = args.inventory_out.with_suffix(".tmp")
            tmp.write_text(to_toml(live))
            tmp.replace(args.inventory_out)  # appears whole: readers may poll for it
        for board in live.boards:
            print(" ".join(filter(None, (board.id, board.url, board.pty))), flush=True)
        stop.wait()
    finally:
        rack.close()
        if args.inventory_out:
            args.inventory_out.unlink(missing_ok=True)
        if orphaned.is_set():
            leftovers.sweep()  # the process that started us is gone: its folder for us is a leftover now
    return 0


def fault(args: argparse.Namespace) -> int:
    faults.send(args.url, args.fault, args.arg)
    print(f"{args.fault} applied to {args.url}")
    return 0
