"""main.py at boot, as ESP firmware runs it: before the friendly REPL, which waits until it ends.

After a hard reset, and after a soft reset in the friendly REPL (not in the raw REPL),
`ports/esp32/main.c` and `ports/esp8266/main.c` run boot.py, then main.py, then the
REPL. A main.py that loops never gives the prompt; Ctrl-C (the UART's interrupt
character) raises KeyboardInterrupt in it, its traceback is printed, and the friendly
REPL starts. Input other than Ctrl-C waits in the UART until then.

The unix port runs no main.py, so the board's run mode has the interpreter run it:
through the raw REPL, whose own framing (`OK`, the `\\x04` ends, its prompt) is taken
off, so the host sees what a board prints. What differs: the traceback names the file
(`File "main.py"`) but no frame of the firmware's own, and boot.py is not run.
"""

from __future__ import annotations

from enum import Enum, auto
from pathlib import Path
from typing import Callable

MAIN = "main.py"
RUN = b"exec(compile(open('main.py').read(), 'main.py', 'exec'))\x04"
_OUR_FRAME = b'  File "<stdin>", line 1, in <module>\r\n'  # the exec line above, not the board's
_RAW_READY = b"raw REPL; CTRL-B to exit\r\n>"


class Stage(Enum):
    BANNER = auto()   # the interpreter's own banner: swallowed, then Ctrl-A
    RAW = auto()      # the raw REPL's banner: swallowed, then main.py sent
    OK = auto()       # the raw REPL took it
    RUNNING = auto()  # main.py runs: its output goes to the host, Ctrl-C reaches it
    ERROR = auto()    # it ended: its traceback (if any) until the second end marker
    PROMPT = auto()   # the raw REPL's prompt: swallowed, then Ctrl-B (the friendly REPL's banner follows)
    DONE = auto()


def wanted(folder: Path) -> bool:
    return (folder / MAIN).is_file()


class MainScript:
    """One boot's main.py; `feed` takes the interpreter's output and returns what the host sees."""

    def __init__(self, write: Callable[[bytes], None]):
        self._write = write  # into the interpreter's stdin
        self.stage = Stage.BANNER
        self._buffer = b""

    @property
    def running(self) -> bool:
        return self.stage is Stage.RUNNING

    @property
    def done(self) -> bool:
        return self.stage is Stage.DONE

    def feed(self, data: bytes) -> bytes:
        self._buffer += data
        shown = b""
        while self.stage is not Stage.DONE:
            step = self._step()
            if step is None:
                break
            shown += step
        if self.stage is Stage.DONE:
            shown, self._buffer = shown + self._buffer, b""
        return shown

    def _upto(self, marker: bytes) -> bytes | None:
        """The buffer up to `marker` (taken off with it), or None while it has not come."""
        at = self._buffer.find(marker)
        if at < 0:
            return None
        head, self._buffer = self._buffer[:at], self._buffer[at + len(marker):]
        return head

    def _step(self) -> bytes | None:
        if self.stage is Stage.BANNER:
            return self._then(self._upto(b">>> "), Stage.RAW, b"\x01")
        if self.stage is Stage.RAW:
            return self._then(self._upto(_RAW_READY), Stage.OK, RUN)
        if self.stage is Stage.OK:
            return self._then(self._upto(b"OK"), Stage.RUNNING)
        if self.stage is Stage.RUNNING:
            out = self._upto(b"\x04")
            if out is None:
                out, self._buffer = self._buffer, b""
                return out or None
            self.stage = Stage.ERROR
            return out
        if self.stage is Stage.ERROR:
            error = self._upto(b"\x04")
            if error is None:
                return None
            self.stage = Stage.PROMPT
            return error.replace(_OUR_FRAME, b"")
        return self._then(self._upto(b">"), Stage.DONE, b"\x02")

    def _then(self, head: bytes | None, stage: Stage, send: bytes = b"") -> bytes | None:
        if head is None:
            return None
        self.stage = stage
        if send:
            self._write(send)
        return b""
