"""Flashing 1 MiB on virtual boards: the harness against esptool and the wire, and skip against write.

Like with like, in interleaved rounds (bench/rounds.py):
- the harness's Flasher (checks, write, confirming reset) against esptool's own API
  doing the same write (detect, stub, same baud, compressed write, hard reset) on a
  port opened the same way (esp_hil.transport.serial.open_port, where a timeout stays
  local), for an incompressible image and a compressible one (half of it compresses,
  as a firmware does);
- both against the wire: the bytes esptool's write moves each way, each at the baud the
  line had (bench/wire.py);
- skip against write as whole commands (`hil flash --port URL --chip CHIP IMAGE`, with
  and without --force, each a fresh process) on both chips;
- what a user gains from the harness's default flash baud: the Flasher writing 128 KiB at
  it and at the ROM's 115200, where esptool's command line stays unless told otherwise.

The virtual line moves bytes at the baud rate, as a board's UART does; what a virtual
board does not have is flash erase time, which makes a real write slower still.

Goals (issue 17): harness / esptool <= 1.10; harness / wire <= 1.3 for both images;
write / skip >= 10 on both chips. The baud's gain is quoted for reference.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from esptool import cmds
from esptool.logger import log

from rounds import REFERENCE, Goal, interleaved, median, ratio, spread, timed
from wire import Counting

from esp_hil.firmware import Catalog
from esp_hil.flash import Flasher
from esp_hil.transport.serial import open_port
from esp_hil.virtual.rack import VirtualRack, specs_for
from esp_hil.virtual.testimage import build

ROUNDS = 3
MIB = 1 << 20
GAIN_SIZE = 128 * 1024  # the baud's gain: at 115200 a 1 MiB write alone takes 90 s a round
ROM_BAUD = 115200


def _payloads() -> dict[str, bytes]:
    rng = random.Random(0)
    random_kib = lambda: rng.randbytes(1024)  # noqa: E731
    half = b"".join(random_kib() + bytes([n % 256]) * 1024 for n in range(MIB // 2048))
    return {"incompressible": b"MicroPython v1.24.1 bench " + rng.randbytes(MIB - 4096),
            "compressible": b"MicroPython v1.24.1 bench " + half[:MIB - 4096],
            "small": b"MicroPython v1.24.1 bench " + rng.randbytes(GAIN_SIZE - 4096)}


def _esptool_write(url: str, baud: int, offset: int, data: bytes, wire: list[float]) -> float:
    """esptool's API doing what the Flasher does for a write, on a port the harness's way; its wire time too."""
    start = time.perf_counter()
    port = Counting(open_port(url, ROM_BAUD))
    try:
        esp = cmds.run_stub(cmds.detect_chip(port, ROM_BAUD, "default-reset"))
        esp.change_baud(baud)
        cmds.attach_flash(esp)
        cmds.write_flash(esp, [(offset, data)], compress=True, no_progress=True)
        cmds.reset_chip(esp, "hard-reset")
    finally:
        port.close()
    wire.append(port.wire)
    return time.perf_counter() - start


def _gain(baud: int) -> str:
    return f"harness {GAIN_SIZE // 1024} KiB at {baud}"


def _hil_flash(url: str, chip: str, image: Path, force: bool) -> None:
    subprocess.run([sys.executable, "-m", "esp_hil.cli", "flash", "--port", url, "--chip", chip, str(image),
                    *(["--force"] if force else [])], check=True, capture_output=True)


def main() -> int:
    log.set_verbosity("silent")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        catalog = Catalog(folder / "firmware" / "manifest.toml")
        images: dict[str, tuple] = {}
        for chip in ("esp32", "esp8266"):
            for kind, payload in _payloads().items():
                path = folder / f"{chip}-{kind}.bin"
                path.write_bytes(build(chip, payload))
                catalog.add(path, f"{chip}-{kind}")
                images[chip, kind] = (path, *catalog.checked(f"{chip}-{kind}"))
        rack = VirtualRack([*specs_for("esp32", 1), *specs_for("esp8266", 1)], workdir=folder / "rack")
        spec32, spec8266 = rack.start().boards
        wire: dict[str, list[float]] = {"incompressible": [], "compressible": []}
        try:
            contenders = {}
            for kind in ("incompressible", "compressible"):
                _path, fw, data = images["esp32", kind]
                contenders[f"harness {kind}"] = lambda fw=fw, data=data: timed(
                    lambda: Flasher(spec32).flash(fw, data, force=True))
                contenders[f"esptool {kind}"] = lambda fw=fw, data=data, kind=kind: _esptool_write(
                    spec32.url, spec32.flash_baud, fw.offset, data, wire[kind])
            for spec in (spec32, spec8266):
                path = images[spec.chip, "incompressible"][0]
                contenders[f"write command {spec.chip}"] = lambda spec=spec, path=path: timed(
                    lambda: _hil_flash(spec.url, spec.chip, path, force=True))
                contenders[f"skip command {spec.chip}"] = lambda spec=spec, path=path: timed(
                    lambda: _hil_flash(spec.url, spec.chip, path, force=False))
            _path, fw, data = images["esp32", "small"]
            for baud in (spec32.flash_baud, ROM_BAUD):
                contenders[_gain(baud)] = lambda baud=baud, fw=fw, data=data: timed(
                    lambda: Flasher(replace(spec32, flash_baud=baud)).flash(fw, data, force=True))
            figures = interleaved(contenders, ROUNDS, progress=lambda line: print(line, flush=True))
        finally:
            rack.close()
    wire_time = {kind: median(values) for kind, values in wire.items()}
    m = {name: median(values) for name, values in figures.items()}
    print(f"\n1 MiB on a virtual ESP32 at {spec32.flash_baud} baud, median of {ROUNDS} interleaved rounds:")
    for name, values in figures.items():
        print(spread(name, values))
    for kind in ("incompressible", "compressible"):
        print(ratio(f"{kind}: harness / esptool", m[f"harness {kind}"], m[f"esptool {kind}"], Goal(at_most=1.10)))
        print(ratio(f"{kind}: harness / wire", m[f"harness {kind}"], wire_time[kind], Goal(at_most=1.3)))
        print(ratio(f"{kind}: esptool / wire", m[f"esptool {kind}"], wire_time[kind], REFERENCE))
    print(ratio("compressible / incompressible, harness", m["harness compressible"], m["harness incompressible"],
                Goal(at_most=1.0)))
    for chip in ("esp32", "esp8266"):
        print(ratio(f"{chip}: write / skip as whole commands", m[f"write command {chip}"], m[f"skip command {chip}"],
                    Goal(at_least=10)))
    print(ratio(f"what the default baud gains a user, {GAIN_SIZE // 1024} KiB: {ROM_BAUD} / {spec32.flash_baud}",
                m[_gain(ROM_BAUD)], m[_gain(spec32.flash_baud)], REFERENCE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
