"""A rack of virtual boards on this machine: what `hil virtual` serves.

It plays the part of a rack host: it starts boards, prints where they are, writes an
inventory for them, and cleans up every process and folder when told to stop.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from esp_hil.errors import HilError
from esp_hil.inventory import BoardSpec, Inventory, Network
from esp_hil.virtual.board import VirtualBoard
from esp_hil.virtual.faults import FaultControl
from esp_hil.virtual.source.build import Recipe
from esp_hil.virtual.source.build import build as build_firmware
from esp_hil.virtual.leftovers import owned_tempdir
from esp_hil.virtual.testimage import build
from esp_hil.virtual.interpreter import find_micropython


class VirtualRack:
    """Virtual boards for the given specs; `close()` leaves nothing behind."""

    def __init__(self, specs: list[BoardSpec], workdir: Path | None = None, blank: bool = False,
                 source: Recipe | None = None, pty: bool = False):
        """`source`: run boards built from a MicroPython tree (lwIP on a TAP, on Wi-Fi) instead of the PyPI port.

        `pty`: each board's UART on a pty too, for tools that open device paths (upstream's pyboard.py).
        """
        self._source = source
        self._pty = pty
        self._own_workdir = workdir is None
        self.workdir = owned_tempdir("virtual") if workdir is None else workdir
        self.specs = specs
        self._blank = blank
        self.boards: list[VirtualBoard] = []
        self._controls: list[FaultControl] = []

    def start(self) -> Inventory:
        binary = self._binary()
        try:
            for spec in self.specs:
                board = VirtualBoard(spec.id, spec.chip, self.workdir / spec.id, binary, network=self._network(spec),
                                     pty=self._pty, port_server=spec.port_server)
                self.boards.append(board)
                if board.flash.blank() and not self._blank:
                    board.install(factory_image(spec.chip, binary))
                board.start()
                control = FaultControl(board)
                self._controls.append(control)
                control.start()
        except BaseException:
            self.close()
            raise
        return self.inventory()

    def _binary(self) -> str:
        if self._source is None:
            return find_micropython()
        firmware = build_firmware(self._source, progress=lambda line: print(line, file=sys.stderr, flush=True))
        return str(firmware.binary)

    def _network(self, spec: BoardSpec) -> Network:
        """Source-built boards are on Wi-Fi (lwIP on a TAP, joined to the rack's access point: esp_hil.virtual.radio);
        the PyPI port uses this host's stack or a veth namespace."""
        if self._source is not None:
            return Network.WIFI
        return Network.NETNS if spec.network == Network.NETNS else Network.HOST

    def inventory(self) -> Inventory:
        """The specs with their live URLs filled in."""
        live = [replace(spec, port=str(board.usb.path) if board.usb else board.url, virtual=True,
                        reset=board.usb.personality.reset if board.usb else spec.reset,  # a USB board: its by-id path
                        address=board.address, network=board.network,
                        peer_sockets=board.peer_sockets, pty=board.pty.path if board.pty else "")
                for spec, board in zip(self.specs, self.boards)]
        return Inventory(source="virtual rack", boards=live)

    def board(self, board_id: str) -> VirtualBoard:
        return next(b for b in self.boards if b.id == board_id)

    def close(self) -> None:
        for control in self._controls:
            control.close()
        self._controls.clear()
        for board in self.boards:
            board.close()
        self.boards.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def factory_image(chip: str, binary: str) -> bytes:
    """What a new virtual board's flash holds, as boards come from the factory with a firmware.

    A real image, whose banner names the MicroPython the board runs, as a release's does:
    read back with esptool, it is an image `hil firmware add` takes (docs/flashing.md).
    """
    banner = f"MicroPython v{unix_port_version(binary)}; esp-hil virtual board with {chip.upper()} (the unix port)"
    return build(chip, banner.encode())


@functools.cache
def unix_port_version(binary: str) -> str:
    """The version the unix port says it is (sys.implementation), e.g. 1.29.0-preview."""
    code = ("import sys; v = sys.implementation.version; "
            "print('.'.join(map(str, v[:3])) + ''.join('-' + p for p in v[3:] if p))")
    done = subprocess.run([binary, "-c", code], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    if done.returncode or not done.stdout.strip():
        raise HilError(f"the unix port {binary} did not run: {(done.stderr.strip().splitlines() or ['no output'])[-1]}",
                       hint="check it runs: BINARY -c 'print(1)'")
    return done.stdout.strip()


def specs_for(chip: str, count: int, network: str = "host") -> list[BoardSpec]:
    """`count` virtual boards of one chip, named like a rack would name them."""
    return [BoardSpec(id=f"virtual-{chip}-{n}", chip=chip, virtual=True, network=network) for n in range(1, count + 1)]


