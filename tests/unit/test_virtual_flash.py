"""The virtual board's flash and boot check: valid images boot and are named, others do not."""

from __future__ import annotations

import hashlib

import pytest

from esp_hil.virtual.boot import boot_from_flash
from esp_hil.virtual.flashstore import FlashStore
from esp_hil.firmware import OFFSETS
from esp_hil.virtual.testimage import build

CHIPS = ["esp32", "esp8266"]


@pytest.fixture
def flash(tmp_path):
    return FlashStore(tmp_path / "flash.bin", size=1024 * 1024)


@pytest.mark.parametrize("chip", CHIPS)
def test_erased_flash_does_not_boot_and_prints_what_a_chip_prints(flash, chip):
    result = boot_from_flash(chip, flash)
    assert not result.ok and result.image_sha256 is None
    assert (b"invalid header: 0xffffffff" if chip == "esp32" else b"ets_main.c") in result.log


@pytest.mark.parametrize("chip", CHIPS)
def test_valid_image_boots_and_the_log_names_its_sha256(flash, chip):
    image = build(chip, b"hello")
    flash.write(OFFSETS[chip], image)
    flash.remember_written(OFFSETS[chip], len(image))
    result = boot_from_flash(chip, flash)
    sha = hashlib.sha256(image).hexdigest()
    assert result.ok and result.image_sha256 == sha
    assert f"virtual-board: image sha256={sha} offset=0x{OFFSETS[chip]:x} size={len(image)}".encode() in result.log


@pytest.mark.parametrize("chip", CHIPS)
def test_corrupt_segment_data_does_not_boot(flash, chip):
    image = bytearray(build(chip, b"payload bytes here"))
    image[len(image) // 2] ^= 0x55  # inside the segment data, which the checksum covers
    flash.write(OFFSETS[chip], bytes(image))
    assert not boot_from_flash(chip, flash).ok


def test_image_for_the_other_chip_does_not_boot(flash):
    flash.write(OFFSETS["esp32"], build("esp8266"))
    assert not boot_from_flash("esp32", flash).ok


def test_flash_persists_and_erases(tmp_path):
    path = tmp_path / "flash.bin"
    FlashStore(path, size=4096).write(100, b"abc")
    again = FlashStore(path, size=4096)
    assert again.read(100, 3) == b"abc"
    assert again.md5(100, 3) == hashlib.md5(b"abc").hexdigest()
    again.erase_all()
    assert again.read(100, 3) == b"\xff\xff\xff" and again.blank()
    with pytest.raises(ValueError):
        again.read(4095, 2)
