"""The classic ESP auto-reset circuit, as the host's DTR/RTS lines drive it.

Two transistors cross-couple the lines: RTS asserted (and DTR not) pulls EN low,
holding the chip in reset; DTR asserted (and RTS not) pulls GPIO0 low, selecting
the ROM bootloader. Both asserted, or neither, leaves both high, which is why
opening a port (pyserial asserts both) does not reset the board.

EN has an RC delay on real boards: the chip leaves reset a little after EN is
released, and samples GPIO0 then. esptool's reset sequence relies on it (it
releases EN a moment before it pulls GPIO0 low), so the model samples GPIO0
`settle` seconds after EN goes high. Over a real RFC 2217 link the gaps between
line changes are 50-100 ms, which a real circuit can miss (esptool issue 383);
on loopback they are sub-millisecond, so a virtual board always catches it.
"""

from __future__ import annotations

import threading
from typing import Callable

BOOTLOADER = "bootloader"
FLASH = "flash"


class ResetCircuit:
    """Turns DTR/RTS changes into `on_reset()` (EN low) and `on_boot(mode)` (EN released)."""

    def __init__(self, on_reset: Callable[[], None], on_boot: Callable[[str], None], settle: float = 0.02):
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
