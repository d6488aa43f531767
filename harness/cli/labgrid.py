"""`hil labgrid release|show PLACE`: for rack owners, a crashed run's place and who holds a place.

A labgrid place stays acquired after the run that took it dies (the coordinator does
not tie it to a connection); `release` gives it back unless a live run on this host holds it.
"""

from __future__ import annotations

import argparse


def add_labgrid(p: argparse.ArgumentParser) -> None:
    cmds = p.add_subparsers(dest="labgrid_command", required=True)
    for name, func, text in (
        ("release", run_release, "release a place a crashed run left acquired (not while a live run here holds it)"),
        ("show", run_show, "who holds a place, and its serial ports as esp-hil would open them"),
    ):
        c = cmds.add_parser(name, help=text, description=text)
        c.add_argument("place", metavar="PLACE", help="the place name (as in port = \"labgrid://PLACE\")")
        c.add_argument("--coordinator", metavar="HOST:PORT", default=None,
                       help="labgrid coordinator (default: $LG_COORDINATOR, else 127.0.0.1:20408)")
        c.set_defaults(func=func)


def run_release(args: argparse.Namespace) -> int:
    from esp_hil.labgrid import coordinator_address, release_stale

    former = release_stale(args.place, args.coordinator)
    where = coordinator_address(args.coordinator)
    if former is None:
        print(f"place {args.place} on {where} was not acquired; nothing to do")
    else:
        print(f"released place {args.place} on {where} (was held by {former})")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from esp_hil.labgrid import show

    info = show(args.place, args.coordinator)
    print(f"place {info.name} on {info.coordinator}")
    print(f"  held by: {info.holder or '-'}")
    if info.local_holder is not None:
        print(f"  live run on this host: {info.local_holder}")
    print("  serial ports:" if info.serial_ports else "  serial ports: none matched")
    for line in info.serial_ports:
        print(f"    {line}")
    return 0
