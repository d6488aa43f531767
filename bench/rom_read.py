"""esptool's ROM read (--no-stub read-flash) on a virtual ESP32 at 115200: our port against pyserial's.

pyserial's RFC 2217 client renegotiates the line with the rack host whenever the timeout
changes, and esptool's CLI opens its port without one, so each 64-byte READ_FLASH_SLOW
command sets a timeout and puts it back: two negotiations, ~200 ms, where the wire needs
~10 ms. The harness drives esptool on its own port object (esp_hil.transport.serial.
Rfc2217Port), on which a timeout stays local.

Like with like: the same esptool command line (`esptool.main`, given the connected
device) on each port, each opened as esptool's CLI opens it (no timeout), rounds
interleaved, on COMPARED bytes (pyserial's port needs minutes per 256 KiB). Then the
full 256 KiB through our port, its bytes checked, against the wire's limit.

Goal (issue 17): 256 KiB in well under 60 s; the ratios are for reference.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path

import esptool
import serial
from esptool import cmds

from rounds import REFERENCE, interleaved, median, ratio, spread, timed
from wire import Counting, seconds

from esp_hil.transport.serial import open_port
from esp_hil.virtual.rack import VirtualRack, specs_for

BAUD = 115200
OFFSET = 0x100000
FULL = 256 * 1024
COMPARED = 2 * 1024  # pyserial's port takes 28 s a round for it (48 s for 8 KiB)
ROUNDS = 3


def _read(url: str, ours: bool, size: int, out: Path, count: list[int] | None = None) -> None:
    port = open_port(url, BAUD) if ours else serial.serial_for_url(url)
    port.timeout = None  # as esptool's CLI opens it
    if count is not None:
        port = Counting(port)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # esptool's progress
            esp = cmds.detect_chip(port, BAUD, "default-reset")
            esptool.main(["--no-stub", "--after", "no-reset", "read-flash", hex(OFFSET), hex(size), str(out)], esp=esp)
    finally:
        if count is not None:
            count.append(port.moved)
        port.close()


def main() -> int:
    data = os.urandom(FULL)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rack = VirtualRack(specs_for("esp32", 1), workdir=folder / "rack")
        spec = rack.start().boards[0]
        rack.board(spec.id).flash.write(OFFSET, data)
        back = folder / "back.bin"
        try:
            figures = interleaved({
                "our port": lambda: timed(lambda: _read(spec.url, True, COMPARED, back)),
                "pyserial's": lambda: timed(lambda: _read(spec.url, False, COMPARED, back)),
            }, ROUNDS)
            assert back.read_bytes() == data[:COMPARED], "the bytes read are not the flash's"
            moved: list[int] = []
            full = timed(lambda: _read(spec.url, True, FULL, back, moved))
            assert back.read_bytes() == data, "the bytes read are not the flash's"
        finally:
            rack.close()
    print(f"esptool --no-stub read-flash on a virtual ESP32 at {BAUD} baud, {COMPARED // 1024} KiB, "
          f"median of {ROUNDS} interleaved rounds:")
    for name, values in figures.items():
        print(spread(name, values))
    print(ratio("our port / pyserial's", median(figures["our port"]), median(figures["pyserial's"]), REFERENCE))
    print(f"{FULL // 1024} KiB through our port, bytes checked: {full:.1f} s "
          f"({'OK' if full < 60 else 'NOT MET'}: goal under 60 s)")
    print(ratio(f"{FULL // 1024} KiB: our port / wire (connect included)", full, seconds(moved[0], BAUD), REFERENCE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
