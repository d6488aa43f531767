"""`hil firmware add|list` and `hil flash`: the catalog and the flasher from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from esp_hil import inventory, places
from esp_hil.errors import HilError
from esp_hil.firmware import Catalog, describe
from esp_hil.flash import Flasher


def add_firmware(fw: argparse.ArgumentParser) -> None:
    fw_sub = fw.add_subparsers(dest="firmware_command", required=True)
    text = "record an image: chip from its header, size, SHA-256, version"
    add = fw_sub.add_parser("add", help=text, description=text)
    add.add_argument("file", type=Path, help="the image (.bin), copied beside the catalog when it is elsewhere")
    add.add_argument("--name", help="the name runs use (--hil-firmware NAME) (default: the file name without .bin)")
    _manifest_option(add)
    add.set_defaults(func=firmware_add)
    ls = fw_sub.add_parser("list", help="the images of the catalog", description="the images of the catalog")
    _manifest_option(ls)
    ls.set_defaults(func=firmware_list)


def add_flash(fl: argparse.ArgumentParser) -> None:
    fl.add_argument("image", nargs="?", type=Path, help="an image file (bench use, with --port and --chip)")
    fl.add_argument("--board", help="a board of the inventory")
    fl.add_argument("--boards", type=Path, default=places.rack(),
                    help="the inventory that names --board (default: %(default)s)")
    fl.add_argument("--firmware", help="an image of the catalog")
    _manifest_option(fl)
    fl.add_argument("--port", help="bench: the board's pyserial URL or by-id path")
    fl.add_argument("--chip", help=f"bench: the board's chip ({', '.join(inventory.CHIPS)})")
    fl.add_argument("--offset", type=lambda text: int(text, 0), help="bench: flash offset (default: the chip's)")
    fl.add_argument("--force", action="store_true", help="write even when the board already holds the image")
    fl.add_argument("--erase", action="store_true", help="erase the whole flash first")
    fl.add_argument("-v", "--verbose", action="store_true", help="show each step, and esptool's own output")
    fl.set_defaults(func=flash)


def _manifest_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", type=Path, default=places.manifest(), help="the firmware catalog (default: %(default)s)")


def firmware_add(args: argparse.Namespace) -> int:
    fw = Catalog(args.manifest).add(args.file, args.name)
    print(f"added {fw.name}: {fw.chip}, {fw.size} bytes at 0x{fw.offset:x}, {fw.version or 'no version string'}, "
          f"sha256 {fw.sha256}")
    return 0


def firmware_list(args: argparse.Namespace) -> int:
    images = Catalog(args.manifest).images.values()
    if not images:
        print(f"no images in {args.manifest} (add one with `hil firmware add FILE`)")
    for fw in images:
        print(f"{fw.name}  {fw.chip}  {fw.version or '-'}  {fw.size}  {fw.sha256[:16]}")
    return 0


def flash(args: argparse.Namespace) -> int:
    if args.port:
        if not (args.chip and args.image):
            raise HilError("bench flashing needs --port, --chip and an IMAGE", hint="e.g. hil flash --port /dev/ttyUSB0 --chip esp32 fw.bin")
        spec = inventory.bench(args.port, args.chip).boards[0]
        fw = describe(args.image)
        if args.offset is not None:
            fw = type(fw)(**{**fw.__dict__, "offset": args.offset})
        data = args.image.read_bytes()
    else:
        if not (args.board and args.firmware):
            raise HilError("say which board and which firmware", hint="hil flash --board ID --firmware NAME")
        spec = inventory.load(args.boards).get(args.board)
        fw, data = Catalog(args.manifest).checked(args.firmware)
    outcome = Flasher(spec, print if args.verbose else None).flash(fw, data, force=args.force, erase=args.erase)
    print(outcome.line())
    return 0
