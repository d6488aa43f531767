"""The ESP ROM serial bootloader of a virtual board, and esptool's flasher stub on top of it.

What the real esptool sends over the board's RFC 2217 port after its DTR/RTS reset
lands here: SLIP frames carrying commands (see esptool's "Serial Protocol" docs).
Two personalities answer them, as on a chip:

- the ROM (ESP32: 4 status bytes, sync, registers, SPI attach/params, flash
  begin/data/end plain and compressed, MD5, slow read, change baud; ESP8266:
  only flash begin/data/end, RAM upload and registers, with its erase bug);
- the flasher stub, once esptool has uploaded it to RAM and jumped to it: 2 status
  bytes, plus erase flash/region and the fast streamed read.

What a virtual chip cannot do is answered as a ROM answers a command it does not
know (status 1, "invalid message"), and docs/virtual-rom.md lists it: it cannot
run code uploaded to RAM, so a jump into RAM starts the stub personality only when
what was uploaded is byte for byte one of the stubs esptool ships; anything else
leaves the chip silent, as a crashed chip is.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import struct
import threading
from pathlib import Path
from typing import Callable

import esptool

from esp_hil.virtual import slip
from esp_hil.virtual.chips import ChipRegisters
from esp_hil.virtual.circuit import BOOTLOADER, FLASH
from esp_hil.virtual.flashstore import FlashStore
from esp_hil.virtual.flashwrite import FlashWrite, WriteError, esp8266_rom_erase_sectors, SECTOR

CMD = {
    "FLASH_BEGIN": 0x02, "FLASH_DATA": 0x03, "FLASH_END": 0x04,
    "MEM_BEGIN": 0x05, "MEM_END": 0x06, "MEM_DATA": 0x07,
    "SYNC": 0x08, "WRITE_REG": 0x09, "READ_REG": 0x0A,
    "SPI_SET_PARAMS": 0x0B, "SPI_ATTACH": 0x0D, "READ_FLASH_SLOW": 0x0E, "CHANGE_BAUDRATE": 0x0F,
    "FLASH_DEFL_BEGIN": 0x10, "FLASH_DEFL_DATA": 0x11, "FLASH_DEFL_END": 0x12, "SPI_FLASH_MD5": 0x13,
    "ERASE_FLASH": 0xD0, "ERASE_REGION": 0xD1, "READ_FLASH": 0xD2, "RUN_USER_CODE": 0xD3,
}
_ROM_COMMON = {"FLASH_BEGIN", "FLASH_DATA", "FLASH_END", "MEM_BEGIN", "MEM_END", "MEM_DATA",
               "SYNC", "WRITE_REG", "READ_REG"}
_ESP32_ROM = _ROM_COMMON | {"SPI_SET_PARAMS", "SPI_ATTACH", "READ_FLASH_SLOW", "CHANGE_BAUDRATE",
                            "FLASH_DEFL_BEGIN", "FLASH_DEFL_DATA", "FLASH_DEFL_END", "SPI_FLASH_MD5"}
_STUB = (_ESP32_ROM - {"READ_FLASH_SLOW"}) | {"ERASE_FLASH", "ERASE_REGION", "READ_FLASH", "RUN_USER_CODE"}
SUPPORTED = {("esp32", False): _ESP32_ROM, ("esp8266", False): _ROM_COMMON,
             ("esp32", True): _STUB, ("esp8266", True): _STUB}

# Error codes: (ROM, stub). The ROM's come from esptool's docs; the stub's from its sources.
ERRORS = {
    "invalid": (0x05, 0xC0),      # bad length or parameters
    "unsupported": (0x05, 0xFF),  # a command this personality does not have
    "checksum": (0x07, 0xC1),
    "flash": (0x08, 0xC4),
    "inflate": (0x0B, 0xC7),
    "state": (0x05, 0xC6),        # data without a begin
}
SYNC_PAYLOAD = b"\x07\x07\x12\x20" + 32 * b"\x55"
ROM_SYNC_VALUE = 0x20120707  # non-zero: esptool takes a zero as "the stub is already running"
CHECKSUM_SEED = 0xEF

BANNER = {
    "esp32": b"ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x3 "
             b"(DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\nwaiting for download\r\n",
    # at 74880 baud, as the ESP8266's boot log (esp_hil.virtual.boot.ROM_BAUD)
    "esp8266": b"\r\n ets Jan  8 2013,rst cause:2, boot mode:(1,7)\r\n\r\n",
}


class CommandError(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@functools.cache
def esptool_stubs(chip: str) -> tuple[tuple[int, bytes, int], ...]:
    """(text_start, text, entry) of each flasher stub this esptool ships for `chip`."""
    folder = Path(esptool.__file__).parent / "targets" / "stub_flasher"
    stubs = []
    for path in sorted(folder.glob(f"*/{chip}.json")):
        stub = json.loads(path.read_text())
        stubs.append((stub["text_start"], base64.b64decode(stub["text"]), stub["entry"]))
    return tuple(stubs)


class RomBootloader:
    """One boot into download mode; a reset makes a new one."""

    def __init__(self, chip: str, flash: FlashStore, emit: Callable[[bytes], None],
                 boot: Callable[[str], None] = lambda mode: None, line_baud: int = 115200):
        self.chip = chip
        self.flash = flash
        self.regs = ChipRegisters(chip, seed=str(flash.path))
        self.stub = False
        self.line_baud = line_baud
        self.max_reliable_baud: int | None = None  # fault: the link fails above this baud
        self._emit = emit
        self._boot = boot
        self._decoder = slip.Decoder()
        self._write: FlashWrite | None = None
        self._ram: dict[int, bytearray] = {}
        self._ram_at: int | None = None
        self._reader: _FlashReader | None = None
        self._lock = threading.Lock()
        self._closed = False

    def banner(self) -> bytes:
        return BANNER[self.chip]

    def set_baudrate(self, baud: int) -> None:
        """The host moved its end of the line."""
        self.line_baud = baud

    def close(self) -> None:
        self._closed = True
        if self._reader:
            self._reader.stop()

    def feed(self, data: bytes) -> None:
        if not self._link_ok():
            return  # bytes at the wrong (or an unreliable) baud arrive as garbage: no frame survives
        for frame in self._decoder.feed(data):
            with self._lock:
                if self._closed:
                    return
                if self._reader and len(frame) == 4:  # commands are 8 bytes or more: this acks a read
                    self._reader.ack(frame)
                    continue
                self._handle(frame)

    # -- framing -------------------------------------------------------------

    def _link_ok(self) -> bool:
        baud = self.regs.baud
        return self.line_baud == baud and (self.max_reliable_baud is None or baud <= self.max_reliable_baud)

    def _send(self, packet: bytes) -> None:
        if self._link_ok() and not self._closed:
            self._emit(slip.encode(packet))

    def _respond(self, op: int, value: int = 0, payload: bytes = b"", error: str | None = None) -> None:
        status = bytes([1, ERRORS[error][self.stub]]) if error else b"\0\0"
        if self.chip != "esp8266" and not self.stub:
            status += b"\0\0"  # ROMs after the ESP8266 send two more (reserved) status bytes
        body = payload + status
        self._send(struct.pack("<BBHI", 1, op, len(body), value) + body)

    def _handle(self, frame: bytes) -> None:
        if len(frame) < 8 or frame[0] != 0:
            return  # not a request: the ROM ignores it
        op, size, chk = struct.unpack_from("<BHI", frame, 1)
        data = frame[8:]
        name = next((n for n, code in CMD.items() if code == op), None)
        if name is None or name not in SUPPORTED[(self.chip, self.stub)]:
            self._respond(op, error="unsupported")
            return
        if size != len(data):
            self._respond(op, error="invalid")
            return
        handler = getattr(self, f"_cmd_{name.lower()}")
        try:
            result = handler(data, chk)
        except CommandError as exc:
            self._respond(op, error=exc.kind)
            return
        except WriteError as exc:
            self._write = None
            self._respond(op, error=exc.kind)
            return
        except (struct.error, ValueError):
            self._respond(op, error="invalid")
            return
        if result is None:
            return  # the command answered (or left) by itself
        value, payload = result
        self._respond(op, value, payload)

    # -- commands: link and registers ---------------------------------------

    def _cmd_sync(self, data: bytes, _chk: int):
        if data != SYNC_PAYLOAD:
            raise CommandError("invalid")
        value = 0 if self.stub else ROM_SYNC_VALUE
        for _ in range(8):  # the ROM answers a sync eight times; esptool reads them all
            self._respond(CMD["SYNC"], value)
        return None

    def _cmd_read_reg(self, data: bytes, _chk: int):
        (addr,) = struct.unpack("<I", data)
        return self.regs.read(addr), b""

    def _cmd_write_reg(self, data: bytes, _chk: int):
        if not data or len(data) % 16:
            raise CommandError("invalid")
        for addr, value, mask, _delay_us in struct.iter_unpack("<IIII", data):
            self.regs.write(addr, value, mask)
        return 0, b""

    def _cmd_change_baudrate(self, data: bytes, _chk: int):
        new, _old = struct.unpack("<II", data)
        if new <= 0:
            raise CommandError("invalid")
        self._respond(CMD["CHANGE_BAUDRATE"])  # answered at the old baud, then the UART moves
        self.regs.baud = new
        return None

    def _cmd_spi_attach(self, data: bytes, _chk: int):
        if len(data) != (4 if self.stub else 8):
            raise CommandError("invalid")
        return 0, b""

    def _cmd_spi_set_params(self, data: bytes, _chk: int):
        _id, total, _block, _sector, _page, _mask = struct.unpack("<IIIIII", data)
        if total > self.flash.size:
            raise CommandError("invalid")  # a flash larger than the chip has is not there
        return 0, b""

    # -- commands: RAM upload and the stub -----------------------------------

    def _cmd_mem_begin(self, data: bytes, _chk: int):
        _size, _blocks, _block_size, offset = struct.unpack("<IIII", data)
        self._ram[offset] = bytearray()
        self._ram_at = offset
        return 0, b""

    def _cmd_mem_data(self, data: bytes, chk: int):
        if self._ram_at is None:
            raise CommandError("state")
        block = self._block(data, chk)
        self._ram[self._ram_at] += block
        return 0, b""

    def _cmd_mem_end(self, data: bytes, _chk: int):
        no_entry, entry = struct.unpack("<II", data)
        self._respond(CMD["MEM_END"])
        if no_entry:
            return None
        if not self.stub and self._is_esptool_stub(entry):
            self.stub = True
            self._send(b"OHAI")  # the stub's greeting
        else:
            self._closed = True  # code a virtual chip cannot run: it goes silent, as a crashed chip does
        return None

    def _is_esptool_stub(self, entry: int) -> bool:
        return any(self._ram.get(start) == text and start <= entry < start + len(text)
                   for start, text, stub_entry in esptool_stubs(self.chip) if entry == stub_entry)

    def _cmd_run_user_code(self, _data: bytes, _chk: int):
        self._leave(FLASH)
        return None

    # -- commands: flash -------------------------------------------------------

    def _cmd_flash_begin(self, data: bytes, _chk: int):
        return self._begin(data, compressed=False)

    def _cmd_flash_defl_begin(self, data: bytes, _chk: int):
        return self._begin(data, compressed=True)

    def _begin(self, data: bytes, compressed: bool):
        if len(data) not in ((16, 20) if self.stub else (16,)):
            raise CommandError("invalid")
        size, blocks, block_size, offset = struct.unpack_from("<IIII", data)
        if offset + size > self.flash.size:
            raise CommandError("invalid")
        write = FlashWrite(self.flash, offset, blocks, block_size, compressed)
        if self.chip == "esp8266" and not self.stub:
            write.erase(offset, esp8266_rom_erase_sectors(offset, size) * SECTOR)
        else:
            write.erase(offset, size)  # the stub erases as it writes; the end result is the same
            if not compressed:
                write.image_size = size  # blocks are padded with 0xFF; this is the image's own length
        self._write = write
        return 0, b""

    def _cmd_flash_data(self, data: bytes, chk: int):
        return self._data(data, chk)

    def _cmd_flash_defl_data(self, data: bytes, chk: int):
        return self._data(data, chk)

    def _data(self, data: bytes, chk: int):
        if self._write is None:
            raise CommandError("state")
        (seq,) = struct.unpack_from("<I", data, 4)
        block = self._block(data, chk)
        self._write.data(seq, block)
        if self._write.complete and self._write.written:
            self.flash.remember_written(self._write.offset, self._write.image_length)
        return 0, b""

    def _block(self, data: bytes, chk: int) -> bytes:
        length = struct.unpack_from("<I", data)[0]
        block = data[16:]
        if len(block) != length:
            raise CommandError("invalid")
        checksum = CHECKSUM_SEED
        for b in block:
            checksum ^= b
        if checksum != chk:
            raise CommandError("checksum")
        return block

    def _cmd_flash_end(self, data: bytes, _chk: int):
        return self._end(data, "FLASH_END")

    def _cmd_flash_defl_end(self, data: bytes, _chk: int):
        return self._end(data, "FLASH_DEFL_END")

    def _end(self, data: bytes, name: str):
        (stay,) = struct.unpack("<I", data)
        self._write = None
        self._respond(CMD[name])
        if not stay:
            self._leave(BOOTLOADER)  # a software reset: the boot straps are latched, back to download mode
        elif not self.stub:
            self._leave(FLASH)  # the ROM "runs user code": it boots the flash
        return None

    def _leave(self, mode: str) -> None:
        self._closed = True
        self._boot(mode)

    def _cmd_spi_flash_md5(self, data: bytes, _chk: int):
        addr, size, _, _ = struct.unpack("<IIII", data)
        digest = hashlib.md5(self._read(addr, size)).digest()
        return 0, digest if self.stub else digest.hex().encode()

    def _cmd_read_flash_slow(self, data: bytes, _chk: int):
        addr, size = struct.unpack("<II", data)
        if size > 64:
            raise CommandError("invalid")
        return 0, self._read(addr, size).ljust(64, b"\0")  # the ROM always sends its 64-byte buffer

    def _cmd_erase_flash(self, _data: bytes, _chk: int):
        self.flash.erase_all()
        return 0, b""

    def _cmd_erase_region(self, data: bytes, _chk: int):
        offset, size = struct.unpack("<II", data)
        if offset % SECTOR or size % SECTOR or offset + size > self.flash.size:
            raise CommandError("invalid")
        self.flash.erase(offset, size)
        return 0, b""

    def _cmd_read_flash(self, data: bytes, _chk: int):
        offset, length, packet, in_flight = struct.unpack("<IIII", data)
        self._read(offset, length)  # range check before answering
        if packet == 0 or in_flight == 0:
            raise CommandError("invalid")
        self._respond(CMD["READ_FLASH"])
        self._reader = _FlashReader(self.flash, self._send, offset, length, packet, in_flight)
        self._reader.start()
        return None

    def _read(self, addr: int, size: int) -> bytes:
        if addr + size > self.flash.size:
            raise CommandError("flash")
        return self.flash.read(addr, size)


class _FlashReader:
    """The stub's streamed read: packets out, at most `in_flight` unacknowledged, then the MD5."""

    ACK_TIMEOUT = 10.0

    def __init__(self, flash: FlashStore, send: Callable[[bytes], None], offset: int, length: int,
                 packet: int, in_flight: int):
        self._flash, self._send = flash, send
        self._offset, self._length, self._packet, self._window = offset, length, packet, packet * in_flight
        self._acked = 0
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="virtual-rom-read", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def ack(self, frame: bytes) -> None:
        with self._cond:
            self._acked = max(self._acked, struct.unpack("<I", frame)[0])
            self._cond.notify_all()

    def _run(self) -> None:
        sent = 0
        while sent < self._length:
            if not self._wait(lambda: sent - self._acked < self._window):
                return
            chunk = self._flash.read(self._offset + sent, min(self._packet, self._length - sent))
            self._send(chunk)
            sent += len(chunk)
        if self._wait(lambda: self._acked >= self._length):
            self._send(hashlib.md5(self._flash.read(self._offset, self._length)).digest())

    def _wait(self, ready: Callable[[], bool]) -> bool:
        with self._cond:
            ok = self._cond.wait_for(lambda: ready() or self._stopped, timeout=self.ACK_TIMEOUT)
            return bool(ok) and not self._stopped
