"""Flashing a 1 MiB image on a virtual board: the harness against plain esptool, and the skip path.

Each round flashes the same image onto the same virtual board three ways, in one
process: the plain esptool CLI (the baseline the issue names), esptool's Python API
called the way its CLI calls it (to show where a difference comes from), and the
harness's Flasher (checks, MD5 skip test, write, confirmation reset). Then the
harness again with the image already there: the skip path.

Targets: harness / esptool CLI <= 1.10; skip path >= 10x faster than a full write.
The virtual line moves bytes at the baud rate, as a board's UART does, so the write
takes wire time (1 MiB at 460800 baud: about 23 s); what a virtual board does not
have is flash erase time, which makes a real full write slower still.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from esptool import cmds

from esp_hil.firmware import Catalog
from esp_hil.flash import Flasher
from esp_hil.virtual.rack import VirtualRack, specs_for
from esp_hil.virtual.testimage import build

ROUNDS = 2
MIB = 1 << 20


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        image = folder / "big.bin"
        payload = b"MicroPython v1.24.1 bench " + random.Random(0).randbytes(MIB - 4096)  # incompressible
        image.write_bytes(build("esp32", payload))
        catalog = Catalog(folder / "firmware" / "manifest.toml")
        catalog.add(image, "bench")
        fw, data = catalog.checked("bench")
        rack = VirtualRack(specs_for("esp32", 1), workdir=folder / "rack")
        spec = rack.start().boards[0]
        quiet = lambda _text: None  # noqa: E731
        times: dict[str, list[float]] = {"cli": [], "api": [], "harness": [], "skip": []}
        try:
            for n in range(ROUNDS):
                times["cli"].append(_timed(lambda: subprocess.run(
                    [sys.executable, "-m", "esptool", "--port", spec.url, "--baud", str(spec.flash_baud),
                     "write-flash", hex(fw.offset), str(image)], check=True, capture_output=True)))
                times["api"].append(_timed(lambda: _esptool_api(spec.url, spec.flash_baud, fw.offset, data)))
                times["harness"].append(_timed(lambda: Flasher(spec, progress=quiet).flash(fw, data, force=True)))
                times["skip"].append(_timed(lambda: Flasher(spec, progress=quiet).flash(fw, data)))
                print(f"round {n + 1}/{ROUNDS}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
                      flush=True)
        finally:
            rack.close()
    cli, api, ours, skip = (statistics.median(times[k]) for k in ("cli", "api", "harness", "skip"))
    print(f"1 MiB write: harness {ours:.2f} s, esptool CLI {cli:.2f} s: ratio {ours / cli:.2f} (target <= 1.10)")
    print(f"             esptool API as its CLI calls it {api:.2f} s: ratio {ours / api:.2f}")
    print(f"skip path:   {skip:.2f} s against a full write {ours:.2f} s: {ours / skip:.1f}x faster (target >= 10x)")
    return 0


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _esptool_api(url: str, baud: int, offset: int, data: bytes) -> None:
    esp = cmds.run_stub(cmds.detect_chip(url, 115200, "default-reset"))
    try:
        esp.change_baud(baud)
        cmds.attach_flash(esp)
        cmds.write_flash(esp, [(offset, data)], compress=True, no_progress=True)
        cmds.reset_chip(esp, "hard-reset")
    finally:
        esp._port.close()


if __name__ == "__main__":
    sys.exit(main())
