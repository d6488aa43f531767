"""The classic ESP auto-reset circuit, as the host's DTR/RTS lines drive it.

Two transistors cross-couple the lines: RTS asserted (and DTR not) pulls EN low,
holding the chip in reset; DTR asserted (and RTS not) pulls GPIO0 low, selecting
the ROM bootloader. Both asserted, or neither, leaves both high, which is why
opening a port (pyserial asserts both) does not reset the board.

EN has an RC delay on real boards: the chip leaves reset a while after EN is
released, and samples GPIO0 then. esptool's reset sequence relies on it (it
releases EN a moment before it pulls GPIO0 low), so the model samples GPIO0
`settle` seconds after EN goes high.

How long that is decides whether esptool's reset works across RFC 2217. pyserial's
RFC 2217 client waits for the server's acknowledgement of each line change by
polling every 50 ms, so GPIO0 goes low 50 ms or more after EN is released and
stays low for 150 ms (esptool's second variant: 650 ms). A DevKit with 10 kOhm and
1 uF on EN leaves reset after about 14 ms and misses it: that is esptool issue
383, and why a rack host that flashes its boards runs esp_rfc2217_server. The
virtual board models a board with the common fix for a flaky auto-reset, 10 uF on
EN: tau = 100 ms, out of reset at ~0.75 VDD after about 140 ms, inside the window.

A board behind esptool's `esp_rfc2217_server` needs no such fix: the server replays
the reset on the rack host with esptool's local timing (GPIO0 low for 50 ms after EN
is released), which a stock DevKit catches and a 10 uF board misses (the server's
`--r0` option adds 0.5 s for such boards). So a virtual board served that way models
the stock board (`STOCK_EN_RC_SETTLE`).
"""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import Callable


class Strap(StrEnum):
    """What GPIO0 said as the chip came out of reset: where it boots."""
    BOOTLOADER = "bootloader"  # GPIO0 low: the ROM's download mode
    FLASH = "flash"            # GPIO0 high: the image in flash


BOOTLOADER, FLASH = Strap.BOOTLOADER, Strap.FLASH
EN_RC_SETTLE = 0.14  # seconds from EN released to the chip out of reset (10 kOhm, 10 uF)
STOCK_EN_RC_SETTLE = 0.014  # the same for a stock DevKit (10 kOhm, 1 uF)


class ResetCircuit:
    """Turns DTR/RTS changes into `on_reset()` (EN low) and `on_boot(mode)` (EN released)."""

    def __init__(self, on_reset: Callable[[], None], on_boot: Callable[[str], None], settle: float = EN_RC_SETTLE):
        self._on_reset = on_reset
        self._on_boot = on_boot
        self._settle = settle
        self._dtr = False
        self._rts = False
        self._in_reset = False
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    @property
    def en_low(self) -> bool:
        return self._rts and not self._dtr

    @property
    def io0_low(self) -> bool:
        return self._dtr and not self._rts

    def set_lines(self, *, dtr: bool | None = None, rts: bool | None = None) -> None:
        with self._lock:
            if dtr is not None:
                self._dtr = dtr
            if rts is not None:
                self._rts = rts
            if self.en_low and not self._in_reset:
                self._in_reset = True
                self._cancel()
                fire_reset = True
            else:
                fire_reset = False
            if not self.en_low and self._in_reset:
                self._in_reset = False
                self._timer = threading.Timer(self._settle, self._sample)
                self._timer.daemon = True
                self._timer.start()
        if fire_reset:
            self._on_reset()

    def _sample(self) -> None:
        with self._lock:
            if self._in_reset:
                return
            mode = BOOTLOADER if self.io0_low else FLASH
            self._timer = None
        self._on_boot(mode)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        with self._lock:
            self._cancel()
