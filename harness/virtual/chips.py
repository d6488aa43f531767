"""What a virtual chip answers to register reads: its identity and a SPI flash controller.

The addresses come from esptool's own target classes, which document the chips'
memory maps; the values are those of a common part: an ESP32-D0WD-V3 (revision
v3.0, 40 MHz crystal) and an ESP8266EX (26 MHz crystal), each with a 4 MiB
Winbond W25Q32 flash. The MAC is derived from the board's flash file, so it is
stable for a board and differs between boards.

A register no one set reads as 0, as unused efuse words do on a fresh chip.
Writes are kept (masked, as the ROM's WRITE_REG does), and a write that starts
the SPI controller's user command runs it against the flash: enough for
esptool's `flash-id` and its status-register reads.
"""

from __future__ import annotations

import hashlib

from esptool.targets import CHIP_DEFS

SPI_CMD_USR = 1 << 18
SPI_USR_MISO = 1 << 28
# JEDEC ID of a Winbond W25Q32 (manufacturer 0xEF, type 0x40, capacity 0x16 = 4 MiB), as W0 holds it
FLASH_JEDEC_ID = 0x1640EF
SPIFLASH_RDID = 0x9F
OUI = {"esp32": bytes.fromhex("240ac4"), "esp8266": bytes.fromhex("18fe34")}  # Espressif's, as chips carry


class ChipRegisters:
    """The register file of one chip personality."""

    def __init__(self, chip: str, seed: str, rom_baud: int = 115200):
        self.chip = chip
        self.rom = CHIP_DEFS[chip]
        self.baud = rom_baud  # the UART's baud as the chip sets it (CHANGE_BAUDRATE moves it)
        self.mac = OUI[chip] + hashlib.sha256(seed.encode()).digest()[:3]
        self._regs: dict[int, int] = {self.rom.CHIP_DETECT_MAGIC_REG_ADDR: self.rom.MAGIC_VALUE}
        self._regs.update(self._identity())

    def read(self, addr: int) -> int:
        if addr == self.rom.UART_CLKDIV_REG:  # esptool estimates the crystal from it
            return round(self._xtal_hz() * self.rom.XTAL_CLK_DIVIDER / self.baud)
        return self._regs.get(addr, 0)

    def write(self, addr: int, value: int, mask: int = 0xFFFFFFFF) -> None:
        self._regs[addr] = (self._regs.get(addr, 0) & ~mask | value & mask) & 0xFFFFFFFF
        if addr == self.rom.SPI_REG_BASE and self._regs[addr] & SPI_CMD_USR:
            self._run_spi_user_command()

    def _xtal_hz(self) -> int:
        return 40_000_000 if self.chip == "esp32" else 26_000_000

    def _identity(self) -> dict[int, int]:
        m = self.mac
        if self.chip == "esp8266":
            # OTP MAC words: MAC1 bits 16-23 = 0 selects Espressif's OUI 18:FE:34
            return {self.rom.ESP_OTP_MAC0: m[5] << 24, self.rom.ESP_OTP_MAC1: m[3] << 8 | m[4]}
        efuse = self.rom.EFUSE_RD_REG_BASE
        return {
            efuse + 4 * 1: int.from_bytes(m[2:6], "big"),
            efuse + 4 * 2: int.from_bytes(m[0:2], "big"),  # CRC byte above it left 0
            efuse + 4 * 3: 1 << 15 | 1 << 9,              # rev bit 0; package 1: D0WD
            efuse + 4 * 4: 50,                            # CK8M calibration, see below
            efuse + 4 * 5: 1 << 20,                       # rev bit 1
            self.rom.APB_CTL_DATE_ADDR: 1 << 31,          # rev bit 2: revision v3.0
            # The ROM's crystal estimate (esptool scales CHANGE_BAUDRATE by it):
            # cali * 15625 * ck8m / 40 = 40 MHz exactly, so the baud asked is the baud set.
            self.rom.RTCCALICFG1: 2048 << self.rom.TIMERS_RTC_CALI_VALUE_S,
        }

    def _run_spi_user_command(self) -> None:
        base = self.rom.SPI_REG_BASE
        command = self._regs.get(base + self.rom.SPI_USR2_OFFS, 0) & 0xFFFF
        if self._regs.get(base + self.rom.SPI_USR_OFFS, 0) & SPI_USR_MISO:
            # RDID answers the flash's JEDEC ID; status registers read 0 (idle, unprotected)
            self._regs[base + self.rom.SPI_W0_OFFS] = FLASH_JEDEC_ID if command == SPIFLASH_RDID else 0
        self._regs[base] &= ~SPI_CMD_USR  # done at once: esptool polls for this bit to clear
