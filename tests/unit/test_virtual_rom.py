"""The virtual ROM's protocol, frame by frame: what esptool relies on, and what a ROM refuses."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest
from esptool.targets import CHIP_DEFS

from esp_hil.virtual import slip
from esp_hil.virtual.flashstore import FlashStore
from esp_hil.virtual.flashwrite import SECTOR, esp8266_rom_erase_sectors
from esp_hil.virtual.rom import CMD, RomBootloader, esptool_stubs


class Wire:
    """The host end: sends requests, collects the responses the ROM emits."""

    def __init__(self, chip: str, flash: FlashStore):
        self.out = bytearray()
        self.boots: list[str] = []
        self.rom = RomBootloader(chip, flash, self.out.extend, boot=self.boots.append)

    def request(self, op: str, data: bytes = b"", chk: int = 0) -> list[tuple[int, int, bytes]]:
        self.out.clear()
        self.rom.feed(slip.encode(struct.pack("<BBHI", 0, CMD[op], len(data), chk) + data))
        return [(f[1], struct.unpack_from("<I", f, 4)[0], f[8:]) for f in slip.Decoder().feed(bytes(self.out))]


def _checksum(data: bytes) -> int:
    value = 0xEF
    for b in data:
        value ^= b
    return value


@pytest.fixture
def flash(tmp_path):
    return FlashStore(tmp_path / "flash.bin", size=1024 * 1024)


def test_slip_round_trip_and_noise_between_frames():
    packet = bytes([0xC0, 0xDB, 1, 2, 0xDB, 0xDC])
    decoder = slip.Decoder()
    assert decoder.feed(b"garbage" + slip.encode(packet) + b"\x00\xff" + slip.encode(b"two")) == [packet, b"two"]
    assert decoder.feed(b"\xc0ab\xdb\x01cd\xc0") == []  # a bad escape drops the frame


def test_sync_is_answered_eight_times_with_a_rom_value(flash):
    wire = Wire("esp32", flash)
    answers = wire.request("SYNC", b"\x07\x07\x12\x20" + 32 * b"\x55")
    assert len(answers) == 8 and all(value != 0 for _, value, _ in answers)


@pytest.mark.parametrize("chip, status_len", [("esp32", 4), ("esp8266", 2)])
def test_unknown_command_gets_the_roms_invalid_message_status(flash, chip, status_len):
    wire = Wire(chip, flash)
    ((op, _, body),) = wire.request("ERASE_FLASH")  # a stub command: the ROM does not have it
    assert op == CMD["ERASE_FLASH"] and len(body) == status_len and body[:2] == b"\x01\x05"


def test_chip_magic_and_mac_read_as_esptool_expects(flash):
    wire = Wire("esp8266", flash)
    ((_, magic, _),) = wire.request("READ_REG", struct.pack("<I", 0x40001000))
    assert magic == CHIP_DEFS["esp8266"].MAGIC_VALUE


def test_a_bad_checksum_is_refused_and_nothing_written(flash):
    wire = Wire("esp32", flash)
    wire.request("FLASH_BEGIN", struct.pack("<IIII", SECTOR, 1, 0x400, 0))
    block = b"\x00" * 0x400
    ((_, _, body),) = wire.request("FLASH_DATA", struct.pack("<IIII", len(block), 0, 0, 0) + block, chk=0x12)
    assert body[:2] == b"\x01\x07"
    assert flash.read(0, 16) == b"\xff" * 16


def test_compressed_write_then_md5_in_rom_hex(flash):
    wire = Wire("esp32", flash)
    data = bytes(range(256)) * 16
    packed = zlib.compress(data, 9)
    wire.request("FLASH_DEFL_BEGIN", struct.pack("<IIII", SECTOR, 1, 0x400, 0x2000))
    ((_, _, body),) = wire.request("FLASH_DEFL_DATA", struct.pack("<IIII", len(packed), 0, 0, 0) + packed,
                                   chk=_checksum(packed))
    assert body == b"\0\0\0\0"
    ((_, _, body),) = wire.request("SPI_FLASH_MD5", struct.pack("<IIII", 0x2000, len(data), 0, 0))
    assert body[:32] == hashlib.md5(data).hexdigest().encode()
    assert flash.last_written == (0x2000, len(data))


def test_flash_end_with_run_flag_boots_the_flash(flash):
    wire = Wire("esp8266", flash)
    wire.request("FLASH_BEGIN", struct.pack("<IIII", 0, 0, 0x400, 0))
    wire.request("FLASH_END", struct.pack("<I", 1))
    assert wire.boots == ["flash"]


def test_a_jump_into_ram_starts_the_stub_only_for_esptools_stub(flash):
    start, text, entry = esptool_stubs("esp32")[-1]
    for upload, expect in ((text, b"OHAI"), (bytes(len(text)), None)):
        wire = Wire("esp32", flash)
        wire.request("MEM_BEGIN", struct.pack("<IIII", len(upload), 1, len(upload), start))
        wire.request("MEM_DATA", struct.pack("<IIII", len(upload), 0, 0, 0) + upload, chk=_checksum(upload))
        wire.out.clear()
        wire.rom.feed(slip.encode(struct.pack("<BBHI", 0, CMD["MEM_END"], 8, 0) + struct.pack("<II", 0, entry)))
        frames = slip.Decoder().feed(bytes(wire.out))
        assert (frames[-1] if expect else None) == expect and wire.rom.stub == bool(expect)


@pytest.mark.parametrize("offset", [0, 0x1000, 0x3000, 0xF000, 0x10000, 0x2F000])
@pytest.mark.parametrize("size", [1, 0x1000, 0x1001, 0x5000, 0x12345, 0x40000])
def test_esptools_erase_size_compensates_the_esp8266_rom_bug(offset, size):
    rom = CHIP_DEFS["esp8266"]
    asked = rom.get_erase_size(rom, offset, size)  # class attributes only: the class stands in for self
    assert esp8266_rom_erase_sectors(offset, asked) * SECTOR >= size


def test_an_uncompressed_write_remembers_the_image_not_its_padding(flash):
    wire = Wire("esp32", flash)
    image = bytes(range(200)) * 5  # 1000 bytes; esptool pads the block to 0x400 with 0xFF
    block = image + b"\xff" * (0x400 - len(image))
    wire.request("FLASH_BEGIN", struct.pack("<IIII", len(image), 1, 0x400, 0x1000))
    wire.request("FLASH_DATA", struct.pack("<IIII", len(block), 0, 0, 0) + block, chk=_checksum(block))
    assert flash.last_written == (0x1000, len(image))
    assert flash.read(0x1000, len(image)) == image
