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
  and without --force, each a fresh process) on both chips.

The virtual line moves bytes at the baud rate, as a board's UART does; what a virtual
board does not have is flash erase time, which makes a real write slower still.

Goals (issue 17): harness / esptool <= 1.10; harness / wire <= 1.3 for both images;
write / skip >= 10 on both chips.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
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
ROM_BAUD = 115200


def _payloads() -> dict[str, bytes]:
    rng = random.Random(0)
    random_kib = lambda: rng.randbytes(1024)  # noqa: E731
    half = b"".join(random_kib() + bytes([n % 256]) * 1024 for n in range(MIB // 2048))
    return {"incompressible": b"MicroPython v1.24.1 bench " + rng.randbytes(MIB - 4096),
            "compressible": b"MicroPython v1.24.1 bench " + half[:MIB - 4096]}


def _esptool_write(url: str, baud: int, offset: int, data: bytes, counted: list[Counting] | None = None) -> None:
    """esptool's API doing what the Flasher does for a write, on a port the harness's way."""
    port = open_port(url, ROM_BAUD)
    if counted is not None:
        port = Counting(port)
        counted.append(port)
    try:
        esp = cmds.run_stub(cmds.detect_chip(port, ROM_BAUD, "default-reset"))
        esp.change_baud(baud)
        cmds.attach_flash(esp)
        cmds.write_flash(esp, [(offset, data)], compress=True, no_progress=True)
        cmds.reset_chip(esp, "hard-reset")
    finally:
        port.close()


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
        try:
            contenders = {}
            for kind in ("incompressible", "compressible"):
                _path, fw, data = images["esp32", kind]
                contenders[f"harness {kind}"] = lambda fw=fw, data=data: timed(
                    lambda: Flasher(spec32).flash(fw, data, force=True))
                contenders[f"esptool {kind}"] = lambda fw=fw, data=data: timed(
                    lambda: _esptool_write(spec32.url, spec32.flash_baud, fw.offset, data))
            for spec in (spec32, spec8266):
                path = images[spec.chip, "incompressible"][0]
                contenders[f"write command {spec.chip}"] = lambda spec=spec, path=path: timed(
                    lambda: _hil_flash(spec.url, spec.chip, path, force=True))
                contenders[f"skip command {spec.chip}"] = lambda spec=spec, path=path: timed(
                    lambda: _hil_flash(spec.url, spec.chip, path, force=False))
            figures = interleaved(contenders, ROUNDS, progress=lambda line: print(line, flush=True))
            wire = {}
            for kind in ("incompressible", "compressible"):
                _path, fw, data = images["esp32", kind]
                counted: list[Counting] = []
                _esptool_write(spec32.url, spec32.flash_baud, fw.offset, data, counted)
                wire[kind] = counted[0].wire
        finally:
            rack.close()
    m = {name: median(values) for name, values in figures.items()}
    print(f"\n1 MiB on a virtual ESP32 at {spec32.flash_baud} baud, median of {ROUNDS} interleaved rounds:")
    for name, values in figures.items():
        print(spread(name, values))
    for kind in ("incompressible", "compressible"):
        print(ratio(f"{kind}: harness / esptool", m[f"harness {kind}"], m[f"esptool {kind}"], Goal(at_most=1.10)))
        print(ratio(f"{kind}: harness / wire", m[f"harness {kind}"], wire[kind], Goal(at_most=1.3)))
        print(ratio(f"{kind}: esptool / wire", m[f"esptool {kind}"], wire[kind], REFERENCE))
    print(ratio("compressible / incompressible, harness", m["harness compressible"], m["harness incompressible"],
                Goal(at_most=1.0)))
    for chip in ("esp32", "esp8266"):
        print(ratio(f"{chip}: write / skip as whole commands", m[f"write command {chip}"], m[f"skip command {chip}"],
                    Goal(at_least=10)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
