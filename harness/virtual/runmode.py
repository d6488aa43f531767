"""Run mode: MicroPython up and answering, with a board's soft reset.

The unix port exits where a board soft-resets (Ctrl-D on an empty line, Ctrl-D
with an empty raw-REPL buffer, `sys.exit()`); this class restarts it, prints
`MPY: soft reboot` as a board does, and brings it back into the raw REPL when it
was there, so a serial client sees a board's soft reset. Input that arrives
while the interpreter restarts is held and delivered once it is up, as a UART
FIFO would. Death by `HARD_RESET_SIGNAL` is the firmware's `machine.reset()`
(the unix port has none; `esp_hil.virtual.usbport` gives the board one): the
board is told to reset the chip.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Callable

from esp_hil.virtual import mainpy
from esp_hil.virtual.interpreter import CTRL_C, Interpreter, Launch
from esp_hil.virtual.mainpy import MainScript
from esp_hil.virtual.lineends import BoardLineEnds

SOFT_REBOOT = b"MPY: soft reboot\r\n"
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
FRIENDLY_BANNER = b'Type "help()" for more information.'
FRIENDLY_PROMPT = b">>> "
HARD_RESET_SIGNAL = signal.SIGUSR1  # what the interpreter dies of when machine.reset() runs


class RunMode:
    """Owns the interpreter process of one board; output goes to `emit`."""

    def __init__(self, launch: Launch, cwd: Path, emit: Callable[[bytes], None], on_crash: Callable[[int], None],
                 on_reset: Callable[[], None] | None = None):
        """`on_reset`: the firmware asked for a chip reset (`HARD_RESET_SIGNAL`); None: that is a crash."""
        self._launch = launch
        self._cwd = cwd
        self._emit = emit
        self._on_crash = on_crash
        self._on_reset = on_reset
        self._lock = threading.RLock()
        self._interp: Interpreter | None = None
        self._raw = False
        self._tail = b""
        self._held: list[bytes] = []
        self._boot_stage: str | None = None
        self._boot_buffer = b""
        self._line_ends = BoardLineEnds()
        self._main: MainScript | None = None

    @property
    def running(self) -> bool:
        return self._interp is not None

    @property
    def pid(self) -> int | None:
        return self._interp.pid if self._interp else None

    def start(self, *, raw: bool = False) -> None:
        """Start a fresh interpreter; with `raw`, re-enter the raw REPL silently."""
        with self._lock:
            self._raw = raw
            self._boot_stage = "banner" if raw else None
            self._boot_buffer = b""
            self._tail = b""
            self._line_ends = BoardLineEnds()
            self._interp = Interpreter(self._launch, self._cwd, self._output, self._exited)
            # a firmware runs main.py before its friendly REPL, not on a soft reset in the raw REPL
            self._main = MainScript(self._interp.write) if not raw and mainpy.wanted(self._cwd) else None
            if not raw and not self._main:
                self._release_held()

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for chunk in held:
            self._interp.write(chunk)

    def stop(self) -> None:
        with self._lock:
            interp, self._interp = self._interp, None
            self._held = []
        if interp is not None:
            interp.stop()

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._main and self._main.running and CTRL_C in data:
                self._interp.write(CTRL_C)  # the UART's interrupt character reaches main.py at once
                data = data.replace(CTRL_C, b"")
            if self._interp is None or self._boot_stage or self._main:
                self._held.append(data)
                return
            self._interp.write(data)

    def signal(self, signum: int) -> None:
        with self._lock:
            if self._interp is not None:
                self._interp.signal(signum)

    def _output(self, data: bytes) -> None:
        with self._lock:
            if not self._launch.board_line_ends:
                data = self._line_ends.feed(data)
            if self._boot_stage:
                data = self._finish_raw_boot(data)
                if not data:
                    return
            if self._main:
                data = self._main.feed(data)
                if self._main.done:
                    self._main = None
                    self._release_held()
                if not data:
                    return
            self._track_mode(data)
        self._emit(data)

    def _finish_raw_boot(self, data: bytes) -> bytes:
        """Swallow the new interpreter's friendly banner, enter raw mode, then pass on."""
        self._boot_buffer += data
        if self._boot_stage == "banner":
            if FRIENDLY_PROMPT not in self._boot_buffer:
                return b""
            self._boot_stage, self._boot_buffer = "raw", b""
            self._interp.write(b"\x01")
            return b""
        if RAW_BANNER not in self._boot_buffer:
            return b""
        rest = self._boot_buffer[self._boot_buffer.index(RAW_BANNER):]
        self._boot_stage, self._boot_buffer = None, b""
        held, self._held = self._held, []
        for chunk in held:
            self._interp.write(chunk)
        return rest

    def _track_mode(self, data: bytes) -> None:
        window = self._tail + data
        raw_at = window.rfind(RAW_BANNER)
        friendly_at = window.rfind(FRIENDLY_BANNER)
        if raw_at != friendly_at:
            self._raw = raw_at > friendly_at
        self._tail = window[-64:]

    def _exited(self, code: int) -> None:
        with self._lock:
            if self._interp is None:
                return
            self._interp = None
            raw = self._raw
        if code == -HARD_RESET_SIGNAL and self._on_reset is not None:
            self._on_reset()
            return
        if code < 0 and code != -signal.SIGTERM:
            self._on_crash(code)
            return
        self._emit(SOFT_REBOOT)
        self.start(raw=raw)
