"""One virtual board: reset circuit, ROM bootloader, run mode, behind an RFC 2217 port."""

from __future__ import annotations

import logging
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import Callable

from esp_hil.virtual.baudmismatch import resample
from esp_hil.virtual.boot import ROM_BAUD, boot_from_flash
from esp_hil.virtual.circuit import BOOTLOADER, EN_RC_SETTLE, FLASH, STOCK_EN_RC_SETTLE, ResetCircuit, Strap
from esp_hil.virtual.flashstore import FlashStore
from esp_hil.virtual.flashwrite import SECTOR
from esp_hil.inventory import Network, PortServer
from esp_hil.virtual.interpreter import Launch
from esp_hil.virtual.netns import NETWORK_MODULE, Netns
from esp_hil.virtual.ptyport import PtyPort
from esp_hil.virtual.radio import Radio
from esp_hil.virtual.rom import RomBootloader
from esp_hil.virtual.runmode import RunMode
from esp_hil.virtual.server import Rfc2217Server
from esp_hil.virtual.tapnet import BOARD_IP, TapNetwork
from esp_hil.virtual.usbport import PERSONALITIES, UsbDevice, firmware_modules, usb_serial
from esp_hil.firmware import OFFSETS

log = logging.getLogger(__name__)

FLASH_SIZE = 4 * 1024 * 1024
UART_BAUD = 115200  # MicroPython's REPL UART, and the ROM's boot log, on both chips


class ChipState(StrEnum):
    """What the chip is doing, and so where the bytes a host sends it go."""
    OFF = "off"        # held in reset: they fall on the floor
    ROM = "rom"        # the ROM's download mode: to the bootloader
    RUN = "run"        # the firmware runs: to the interpreter
    HALTED = "halted"  # the ROM found no valid image: nobody reads them


class VirtualLine:
    """The serial line as pyserial's PortManager sees it: settings, modem lines, bytes in."""

    bytesize = 8
    parity = "N"
    stopbits = 1
    xonxoff = False
    rtscts = False
    break_condition = False
    cts = dsr = ri = cd = False

    def __init__(self, board: "VirtualBoard"):
        self._board = board
        self._baudrate = 115200
        self._dtr = False
        self._rts = False

    @property
    def baudrate(self) -> int:
        return self._baudrate

    @baudrate.setter
    def baudrate(self, value: int) -> None:
        self._baudrate = value
        self._board.line_speed(value)

    @property
    def dtr(self) -> bool:
        return self._dtr

    @dtr.setter
    def dtr(self, value: bool) -> None:
        self._dtr = value
        self._board.circuit.set_lines(dtr=value)

    @property
    def rts(self) -> bool:
        return self._rts

    @rts.setter
    def rts(self, value: bool) -> None:
        self._rts = value
        self._board.circuit.set_lines(rts=value)

    def set_lines(self, dtr: bool, rts: bool) -> None:
        self._dtr, self._rts = dtr, rts
        self._board.circuit.set_lines(dtr=dtr, rts=rts)

    def write(self, data: bytes) -> None:
        self._board.receive(data)

    def reset_input_buffer(self) -> None:
        pass

    def reset_output_buffer(self) -> None:
        pass


class VirtualBoard:
    """A board on `rfc2217://127.0.0.1:PORT`; its state lives in `workdir`."""

    def __init__(self, board_id: str, chip: str, workdir: Path, binary: str, tcp_port: int = 0,
                 network: Network = Network.HOST, pty: bool = False, port_server: PortServer = PortServer.SER2NET):
        """`pty`: serve the UART on a pty too (`self.pty.path`), for tools that open device paths.

        `port_server`: what the rack host serves the port with; behind esptool's server the
        board is a stock one (`esp_hil.virtual.circuit`)."""
        self.id = board_id
        self.chip = chip
        self.workdir = workdir
        self.sandbox = workdir / "fs"
        self.sandbox.mkdir(parents=True, exist_ok=True)
        self.flash = FlashStore(workdir / "flash.bin", size=FLASH_SIZE)
        self.mode = ChipState.OFF
        self.slow_baud: int | None = None  # fault: a line slowed to this baud
        self.rom_max_baud: int | None = None  # fault: the bootloader's link fails above this baud
        self._lock = threading.RLock()
        self._rom = None
        self._taps: list[Callable[[bytes], None]] = []
        stock = port_server is PortServer.ESP_RFC2217_SERVER
        self.circuit = ResetCircuit(on_reset=self._hold_in_reset, on_boot=self._boot,
                                    settle=STOCK_EN_RC_SETTLE if stock else EN_RC_SETTLE)
        self.line = VirtualLine(self)
        self.server = Rfc2217Server(self.line, board_id, tcp_port=tcp_port, mode=port_server)
        self.pty = PtyPort(lambda data: self.receive(data, baud=UART_BAUD)) if pty else None
        usb = PERSONALITIES.get(chip)  # a chip whose firmware talks over its own USB: that is its port
        self.usb = UsbDevice(workdir.parent / "by-id", usb, usb_serial(str(self.flash.path)),
                             lambda data: self.receive(data, baud=UART_BAUD)) if usb else None
        self.network = network
        self.netns = Netns.create(board_id) if network == Network.NETNS else None
        # built from source: lwIP on a TAP, whose link is the radio of a Wi-Fi station (esp_hil.virtual.radio)
        self.tap = TapNetwork.start(board_id, workdir) if network == Network.WIFI else None
        self.radio = Radio(chip, workdir / "radio") if self.tap else None
        self.run = RunMode(self._launch(binary), self.sandbox, self.emit, self._crashed,
                           on_reset=(lambda: self._boot(FLASH)) if self.usb else None)

    def _launch(self, binary: str) -> Launch:
        # a USB board is reset by machine.reset(), which the unix port lacks
        builtins = (str(firmware_modules(self.workdir / "builtins")),) if self.usb else ()
        if self.netns:
            return Launch(binary, prefix=tuple(self.netns.prefix()), builtins=(str(NETWORK_MODULE), *builtins))
        if self.tap:
            return Launch(binary, env={**self.tap.env(), **self.radio.env()}, pass_fds=(self.tap.tap_fd,),
                          board_line_ends=True, builtins=builtins)
        return Launch(binary, builtins=builtins)

    @property
    def address(self) -> str:
        """The board's IP as host peers reach it."""
        if self.netns:
            return self.netns.board_ip
        return BOARD_IP if self.tap else "127.0.0.1"

    @property
    def peer_sockets(self) -> str:
        """Where host peers make their sockets: the TAP namespace's broker, or this host ("")."""
        return str(self.tap.socket_path) if self.tap else ""

    @property
    def url(self) -> str:
        return self.server.url

    def install(self, image: bytes) -> None:
        """Put an image at the chip's boot offset, as a factory-programmed board comes."""
        offset = OFFSETS[self.chip]
        self.flash.write(offset, image)
        self.flash.remember_written(offset, len(image))

    def start(self) -> None:
        """Power on: the chip boots from flash, then the port opens for clients."""
        self._boot("flash")
        self.server.start()
        if self.usb:
            self.usb.wait_attached()  # served once its USB device is up, as a board plugged in a while ago

    def close(self) -> None:
        self.circuit.close()
        self.server.close()
        if self.pty:
            self.pty.close()
        if self.usb:
            self.usb.close()
        self.run.stop()
        if self.netns:
            self.netns.delete()
        if self.tap:
            self.tap.close()

    def emit(self, data: bytes, baud: int = UART_BAUD) -> None:
        """Bytes the chip writes on its UART at `baud` (the firmware's 115200): garbage on a port set otherwise."""
        self._send(resample(data, baud, self.line.baudrate))
        if self.pty:
            self.pty.send(resample(data, baud, UART_BAUD))
        if self.usb:
            self.usb.send(data)
        for tap in list(self._taps):
            tap(data)

    def _send(self, data: bytes) -> None:
        """Bytes onto the line as the host's port reads them, at the line's pace (10 bits a byte)."""
        self._pace(data, self.slow_baud)
        self.server.send(data)

    def add_tap(self, callback: Callable[[bytes], None]) -> Callable[[], None]:
        """Copy the board's output to `callback` too (a dupterm stream: WebREPL); returns remove."""
        self._taps.append(callback)

        def remove() -> None:
            if callback in self._taps:
                self._taps.remove(callback)
        return remove

    def _pace(self, data: bytes, baud: int | None = None) -> None:
        """A UART moves 10 bits a byte at its baud: a 1 MiB image takes as long as on a board."""
        time.sleep(len(data) * 10 / (baud or self.line.baudrate))

    def receive(self, data: bytes, baud: int | None = None) -> None:
        """Bytes the host wrote to the board's UART at `baud` (the line's), arriving at that pace."""
        baud = baud or self.line.baudrate
        self._pace(data, baud)
        with self._lock:
            mode, rom = self.mode, self._rom
        if mode is ChipState.RUN:
            self.run.write(resample(data, baud, UART_BAUD))
        elif mode is ChipState.ROM and rom is not None:
            rom.feed(data)
        # in reset, halted or off: the bytes fall on the floor, as on a chip

    def line_speed(self, baud: int) -> None:
        with self._lock:
            rom = self._rom
        if rom is not None:
            rom.set_baudrate(baud)

    def brownout(self) -> None:
        """The supply dipped during a flash write: the image's first sector is lost and the chip resets."""
        self.flash.erase(OFFSETS[self.chip], SECTOR)
        self._boot(FLASH)

    def _hold_in_reset(self) -> None:
        with self._lock:
            self.mode = ChipState.OFF
            self._leave_rom()
        if self.usb:
            self.usb.detach()  # the chip resets, and its USB device with it
        self.run.stop()
        self._radio_off()

    def _leave_rom(self) -> None:
        if self._rom is not None:
            self._rom.close()
            self._rom = None

    def _boot(self, mode: Strap) -> None:
        if self.usb:
            self.usb.detach()  # the chip resets, and its USB device with it (outside the lock its input takes)
        with self._lock:
            self.run.stop()
            self._radio_off()
            if mode is BOOTLOADER:
                self._leave_rom()
                if self.usb:  # its ROM enumerates as another USB device, which is not modelled
                    self.mode = ChipState.ROM
                    return
                self._rom = RomBootloader(self.chip, self.flash, self._send, boot=self._boot,
                                          line_baud=self.line.baudrate)
                self._rom.max_reliable_baud = self.rom_max_baud
                self.mode = ChipState.ROM
                self.emit(self._rom.banner(), baud=ROM_BAUD[self.chip])  # the ROM's UART, at the ROM's baud
                return
            self._leave_rom()
            result = boot_from_flash(self.chip, self.flash)
            self.emit(result.rom, baud=ROM_BAUD[self.chip])
            self.emit(result.firmware)
            if not result.ok:
                self.mode = ChipState.HALTED
                return
            self.mode = ChipState.RUN
            self.run.start()
            if self.usb:
                self.usb.attach_later()  # the firmware starts TinyUSB; the host sees the device again

    def _radio_off(self) -> None:
        """A chip reset takes the Wi-Fi driver with it (a soft reset, RunMode's restart, does not)."""
        if self.radio:
            self.radio.chip_reset()

    def _crashed(self, code: int) -> None:
        """The interpreter died of a signal: a board would panic, say why, and print the panic handler's last line."""
        self.emit(f"\r\nvirtual-board: interpreter died (signal {-code})\r\nRebooting...\r\n".encode())
        self._boot("flash")
