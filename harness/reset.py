"""Reset methods: how the host restarts a board, one object per way a board is wired.

The inventory names one per board (``reset = "classic"``); `parse` turns it into its
object once, and the flasher, the board session and the recovery ladder ask that
object instead of comparing names. The gestures follow esptool's ``reset.py`` and
MicroPython's ``shared/tinyusb/mp_usbd_cdc.c`` (pyserial: ``dtr = True`` asserts the
line, which drives it low):

==========  ==================  =============================================================
name        chips               wiring
==========  ==================  =============================================================
classic     every chip          a USB-UART bridge with the auto-reset circuit: RTS drives EN,
                                DTR drives GPIO0, both inverted (esptool's ``HardReset``)
usb-jtag    ESP32-C3, ESP32-C6  the chip's USB-Serial/JTAG peripheral: RTS resets the chip,
                                esptool holds it longer; the USB device drops off the bus
                                and comes back (a by-id path vanishes for a moment)
usb-cdc     ESP32-S2, ESP32-S3  MicroPython's TinyUSB CDC: no EN line. The only line gesture
                                is (RTS on, DTR off) then (DTR on, RTS off): into the ROM
                                bootloader. A reset is ``machine.reset()`` at the REPL, or,
                                after flashing, esptool's own (a watchdog reset over USB-OTG);
                                the port re-enumerates either way
none        every chip          no reset wiring: a person (or a relay) presses RESET
==========  ==================  =============================================================

Where hardware differs from the virtual board: the virtual ESP32 and ESP8266 model the
classic circuit (``esp_hil.virtual.circuit``) with an RC delay on EN; the virtual
ESP32-S3 models usb-cdc (``esp_hil.virtual.usbport``: its by-id path vanishes on a chip
reset and returns to a new pty), but nothing models usb-jtag's line gestures (a pty has
no modem lines) or a native-USB ROM's download mode. A rack owner should check, per board:

- classic: that ``hil boards --probe`` answers (a bridge without the auto-reset
  transistors resets nothing; one with always-on hardware flow control, such as
  esptool names for the CP2102C, may pull EN low when the port closes, which esptool
  works around and this harness does not);
- usb-jtag: that the port is the chip's own (``/dev/serial/by-id/usb-Espressif_USB_JTAG_serial_debug_unit_*``)
  and comes back under the same by-id path after a reset (a hub that renumbers does not);
- usb-cdc: that ``port`` is MicroPython's CDC device and ``download_port`` the ROM's
  (``esp_hil.romport``). Run ``mpremote connect PORT exec "import machine;
  machine.bootloader()"``, then ``ls /dev/serial/by-id/``: the new entry is the download
  port (an S3's ``usb-Espressif_USB_JTAG_serial_debug_unit_*``); ``esptool --port THAT
  --before no-reset --after hard-reset chip-id`` answers and brings the CDC path back;
- none: that someone is there when a test needs a reset.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import ClassVar, Protocol

from esp_hil.errors import HilError


class ResetLines(Protocol):
    """What a reset gesture needs of a port: the modem lines, and bytes to the REPL."""

    dtr: bool
    rts: bool

    def write(self, data: bytes) -> int | None: ...


class ResetMethod(ABC):
    """One way of restarting a board; stateless, one instance per method (`METHODS`)."""

    name: ClassVar[str]
    chips: ClassVar[tuple[str, ...]] = ()  # the chips that have this wiring; (): every chip
    connect_mode: ClassVar[str]  # esptool's --before: how it puts the chip into its bootloader
    wired: ClassVar[bool] = True  # the host can reset the board; else a person taps RESET
    re_enumerates: ClassVar[bool] = False  # the USB device drops off the bus during a reset and comes back
    esptool_resets_after_flash: ClassVar[bool] = False  # esptool knows how to leave its loader (USB chips)

    @abstractmethod
    def hard_reset(self, port: ResetLines, board_id: str) -> None:
        """Restart the firmware from `port`; the boot log (if any) follows on it."""

    def fits(self, chip: str) -> bool:
        return not self.chips or chip in self.chips

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<reset {self.name}>"


class Classic(ResetMethod):
    """The auto-reset circuit: RTS asserted with DTR released holds EN low (GPIO0 high: boot from flash)."""

    name = "classic"
    connect_mode = "default-reset"

    def hard_reset(self, port: ResetLines, board_id: str) -> None:
        port.dtr = False
        port.rts = True
        time.sleep(0.1)
        port.rts = False


class NativeUsb(ResetMethod, ABC):
    """The chip's own USB: the device drops off the bus on reset, and esptool resets it after flashing."""

    re_enumerates = True
    esptool_resets_after_flash = True


class UsbJtag(NativeUsb):
    """USB-Serial/JTAG (C3, C6): the peripheral maps RTS to the chip reset, held 0.2 s as esptool does.

    The peripheral resets with the chip, so the port drops off USB while the reset is
    asserted: the release may meet a handle that is gone (Linux fails the modem-line
    ioctls of a hung-up tty with EIO), which is the reset taking effect, as esptool's
    reset loop takes it. The session then waits for the path to come back
    (`Board.hard_reset`) rather than reading the dead handle.
    """

    name = "usb-jtag"
    chips = ("esp32c3", "esp32c6")
    connect_mode = "usb-reset"

    def hard_reset(self, port: ResetLines, board_id: str) -> None:
        port.dtr = False
        port.rts = True
        time.sleep(0.2)
        try:
            port.rts = False
        except OSError:  # pyserial's SerialException is one
            pass  # the device left the bus: the chip is resetting


class UsbCdc(NativeUsb):
    """TinyUSB CDC (S2, S3 running MicroPython): no EN line, so the reset is asked of the firmware.

    Ctrl-C stops what runs, Ctrl-B leaves the raw REPL, and ``machine.reset()`` restarts
    the chip; the CDC device drops off USB and comes back. A board whose firmware no
    longer reads its REPL cannot be reset this way: only a power cycle (or BOOT and
    RESET by hand) brings it back. Entering the bootloader is the one line gesture
    (esptool's default reset makes it).
    """

    name = "usb-cdc"
    chips = ("esp32s2", "esp32s3")
    connect_mode = "default-reset"

    def hard_reset(self, port: ResetLines, board_id: str) -> None:
        self._at_repl(port, b"machine.reset()")

    def enter_download(self, port: ResetLines) -> None:
        """Into the ROM's download mode, which enumerates as another USB device (`esp_hil.romport`).

        ``machine.bootloader()`` sets the RTC's forced-download flag and restarts; on an S3
        it first hands the USB PHY to the USB-Serial/JTAG peripheral (``ports/esp32/modmachine.c``).
        """
        self._at_repl(port, b"machine.bootloader()")

    @staticmethod
    def _at_repl(port: ResetLines, call: bytes) -> None:
        port.write(b"\r\x03\x03\x02")  # stop what runs, leave the raw REPL
        time.sleep(0.1)  # the friendly REPL's banner goes by
        port.write(b"import machine; " + call + b"\r")


class NoReset(ResetMethod):
    """No reset wiring: only a person can restart the board."""

    name = "none"
    connect_mode = "no-reset"
    wired = False

    def hard_reset(self, port: ResetLines, board_id: str) -> None:
        raise HilError('this board has no reset wiring (reset = "none")', board=board_id,
                       hint='press RESET on the board, or wire a reset line and set reset = "classic"')


CLASSIC, USB_JTAG, USB_CDC, NONE = Classic(), UsbJtag(), UsbCdc(), NoReset()
METHODS: dict[str, ResetMethod] = {m.name: m for m in (CLASSIC, USB_JTAG, USB_CDC, NONE)}


def parse(value: object, chip: str, where: str) -> ResetMethod:
    """The inventory's ``reset`` string as its method; one error line naming `where` and the fix."""
    method = METHODS.get(value) if isinstance(value, str) else None
    if method is None:
        raise HilError(f"{where}: reset {value!r} is not one of {', '.join(METHODS)}",
                       hint=_suggest(chip))
    if not method.fits(chip):
        raise HilError(f"{where}: reset {value!r} does not exist on {chip} (only on {', '.join(method.chips)})",
                       hint=_suggest(chip))
    return method


def _suggest(chip: str) -> str:
    fits = " or ".join(f'"{m.name}"' for m in METHODS.values() if m.fits(chip))
    return f"for {chip} set reset = {fits}: classic for a USB-UART bridge, usb-jtag/usb-cdc for the chip's own USB"
