"""Flashing virtual boards through their virtual ROM: with the harness, esptool's API and its CLI."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from esptool import cmds

from esp_hil.board import Board
from esp_hil.errors import HilError
from esp_hil.firmware import Catalog
from esp_hil.flash import Flasher
from esp_hil.virtual import faults
from esp_hil.virtual.rack import VirtualRack, specs_for
from esp_hil.firmware import OFFSETS
from esp_hil.virtual.testimage import build

CHIPS = ["esp32", "esp8266"]


@pytest.fixture(params=CHIPS)
def chip_rack(request, tmp_path):
    rack = VirtualRack(specs_for(request.param, 1), workdir=tmp_path / "rack", blank=True)
    spec = rack.start().boards[0]
    yield request.param, rack, spec
    rack.close()


def _firmware(folder: Path, chip: str, payload: bytes = b"MicroPython v1.24.1 on 2024-11-29"):
    path = folder / f"{chip}.bin"
    path.write_bytes(build(chip, payload + bytes(range(256)) * 64))
    catalog = Catalog(folder / "firmware" / "manifest.toml")
    catalog.add(path, f"{chip}-test")
    fw, data = catalog.checked(f"{chip}-test")
    return fw, data, path


def _esptool(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "esptool", *args], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"esptool {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def _esptool_on(spec):
    """esptool's API on the board's port, opened the way the harness opens it."""
    board = Board.connect(spec)
    return board, cmds.detect_chip(board.port.unrecorded, 115200, "default-reset")


def _read_back(spec, offset: int, length: int) -> bytes:
    board, esp = _esptool_on(spec)
    try:
        return cmds.run_stub(esp).read_flash(offset, length)
    finally:
        board.close()


def test_harness_flashes_a_blank_board_skips_when_identical_writes_another(chip_rack, tmp_path):
    chip, _rack, spec = chip_rack
    with pytest.raises(HilError, match="no firmware"):
        Board.open(spec)
    fw, data, _ = _firmware(tmp_path, chip)
    messages: list[str] = []
    first = Flasher(spec, progress=messages.append).flash(fw, data)
    assert first.written and first.running.startswith("MicroPython ")  # the board's own answer
    second = Flasher(spec, progress=messages.append).flash(fw, data)
    assert not second.written and second.running == first.running
    assert any("write skipped" in m for m in messages)
    (tmp_path / "other").mkdir()  # the check compares with what would be written: another image is
    other, other_data, _ = _firmware(tmp_path / "other", chip, b"MicroPython v1.24.0 on 2024-10-01")
    assert Flasher(spec).flash(other, other_data).written
    assert _read_back(spec, OFFSETS[chip], len(other_data)) == _as_flashed(chip, other_data)


def _as_flashed(chip: str, data: bytes) -> bytes:
    """An ESP8266 image's header names the flash the chip has (4 MiB: 0x4 in byte 3's high nibble), as
    MicroPython's deploy (esptool --flash_size=detect) writes it: the ESP8266 ROM reads the size from there."""
    return data[:3] + bytes([data[3] & 0x0F | 0x40]) + data[4:] if chip == "esp8266" else data


@pytest.mark.long
def test_plain_esptool_cli_on_both_chips(tmp_path):
    """The unmodified esptool command line, default reset and stub, against each personality.

    Each run pays pyserial's RFC 2217 negotiations (~100 ms a setting, hundreds a run),
    so the commands run side by side, each group on a board of its own; a board that
    verifies, reads or erases an image holds it as a factory-programmed board would.
    """
    lanes = [_cli_identity, _cli_flash_id, _cli_write, _cli_verify, _cli_read, _cli_erase]
    rack = VirtualRack([*specs_for("esp32", len(lanes)), *specs_for("esp8266", len(lanes))],
                       workdir=tmp_path / "rack", blank=True)
    specs = rack.start().boards
    try:
        work = []
        for chip in CHIPS:
            (tmp_path / chip).mkdir()
            fw, data, image = _firmware(tmp_path / chip, chip)
            boards = [(spec, rack.board(spec.id)) for spec in specs if spec.chip == chip]
            work += [(lane, spec, vboard, fw, data, image) for lane, (spec, vboard) in zip(lanes, boards)]
        with ThreadPoolExecutor(len(work)) as pool:
            for done in [pool.submit(*job) for job in work]:
                done.result()
    finally:
        rack.close()


def _cli_identity(spec, _vboard, _fw, _data, _image) -> None:
    ident = _esptool("--port", spec.url, "chip-id")
    assert ("Chip ID: 0x" in ident) if spec.chip == "esp8266" else ("MAC:" in ident)
    oui = "18:fe:34" if spec.chip == "esp8266" else "24:0a:c4"
    assert f"MAC:                {oui}:" in _esptool("--port", spec.url, "read-mac")


def _cli_flash_id(spec, _vboard, _fw, _data, _image) -> None:
    flash = _esptool("--port", spec.url, "flash-id")
    assert "Manufacturer: ef" in flash and "Detected flash size: 4MB" in flash


def _cli_write(spec, _vboard, fw, data, image) -> None:
    assert "Hash of data verified" in _esptool("--port", spec.url, "write-flash", hex(fw.offset), str(image))
    # the harness sees it is there; on an ESP8266 it writes the detected flash size, which plain esptool kept
    assert Flasher(spec, progress=lambda _: None).flash(fw, data).written == (spec.chip == "esp8266")


def _cli_verify(spec, vboard, fw, data, image) -> None:
    vboard.install(data)
    assert "Verification successful" in _esptool("--port", spec.url, "verify-flash", hex(fw.offset), str(image))


def _cli_read(spec, vboard, fw, data, image) -> None:
    vboard.install(data)
    back = image.with_name(f"back-{spec.id}.bin")
    _esptool("--port", spec.url, "read-flash", hex(fw.offset), str(len(data)), str(back))
    assert back.read_bytes() == data


def _cli_erase(spec, vboard, _fw, data, _image) -> None:
    vboard.install(data)
    _esptool("--port", spec.url, "erase-flash")
    with pytest.raises(HilError, match="no firmware"):
        Board.open(spec)


def test_rom_without_the_stub_writes_over_old_data(chip_rack, tmp_path):
    """The ROM's own write path (ESP8266: its erase bug and esptool's compensation; ESP32: inflate, MD5)."""
    chip, _rack, spec = chip_rack
    offset = OFFSETS[chip] + 0x3000  # not at a 64 KiB block start: the ESP8266 bug matters here
    old = bytes(range(256)) * 96
    new = bytes(reversed(range(256))) * 80
    for data in (old, new):
        board, esp = _esptool_on(spec)
        try:
            cmds.attach_flash(esp)
            cmds.write_flash(esp, [(offset, data)], compress=chip == "esp32", no_compress=chip == "esp8266",
                              no_progress=True)
            if chip == "esp32":
                assert esp.flash_md5sum(offset, len(data)) == hashlib.md5(data).hexdigest()
        finally:
            board.close()
    assert _read_back(spec, offset, len(new)) == new


def test_wrong_chip_is_refused_before_writing(chip_rack, tmp_path):
    chip, rack, spec = chip_rack
    other = "esp8266" if chip == "esp32" else "esp32"
    fw, data, _ = _firmware(tmp_path, other)
    with pytest.raises(HilError, match=f"is for {other}, the inventory says this board is {chip}"):
        Flasher(spec).flash(fw, data)
    liar = replace(spec, chip=other)  # the inventory is wrong about the board
    with pytest.raises(HilError, match=f"the board is an {chip.upper()}"):
        Flasher(liar).flash(fw, data)
    assert rack.boards[0].flash.blank()  # nothing was written


def test_sync_failure_at_speed_is_retried_lower(chip_rack, tmp_path):
    chip, rack, spec = chip_rack
    fw, data, _ = _firmware(tmp_path, chip)
    faults.inject(rack.boards[0], "romlimit", 230400)  # the link cannot hold 460800
    messages: list[str] = []
    outcome = Flasher(spec, progress=messages.append).flash(fw, data)
    assert outcome.written and outcome.baud == 230400
    assert any("at 460800 baud failed" in m for m in messages)


def test_hil_flash_on_a_bench_port(tmp_path):
    rack = VirtualRack(specs_for("esp8266", 1), workdir=tmp_path / "rack", blank=True)
    spec = rack.start().boards[0]
    try:
        _, _, image = _firmware(tmp_path, "esp8266")
        for verbose in ([], ["-v"]):
            done = subprocess.run([sys.executable, "-m", "esp_hil.cli", "flash", "--port", spec.url, "--chip",
                                   "esp8266", str(image), "--force", *verbose], capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "flashed" in done.stdout and "running MicroPython" in done.stdout
            chatter = [line for line in (done.stdout + done.stderr).splitlines() if "Connecting" in line
                       or "VID/PID" in line or line.startswith("[")]  # esptool's, and the flasher's steps
            assert bool(chatter) == bool(verbose), done.stdout + done.stderr
            if not verbose:
                assert done.stdout.count("\n") == 1 and not done.stderr  # one line
    finally:
        rack.close()
