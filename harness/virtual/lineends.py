"""A board's line endings on the PyPI unix port's output: text `\\n` goes out as `\\r\\n`.

ESP32 and ESP8266 send text through `shared/runtime/stdout_helpers.c`, which
turns every `\\n` into `\\r\\n`; tools written against boards (upstream
`run-tests.py`, `run-multitests.py`) wait for `\\r\\n`. The unix port writes text
and `sys.stdout.buffer` bytes to the same descriptor, so they cannot be told
apart by the kernel; this filter tells them apart by the two binary framings
that go over a REPL and passes those unchanged, as a board's uncooked writes:

- mpremote's raw-paste answer `R\\x01` and the two bytes of its window size;
- mpremote mount's commands (`\\x18`, the command, its arguments), whose layout
  is fixed by mpremote's `fs_hook_code` (`RemoteCommand.wr_*`).

`\\r\\n` the port already sends (the REPL's own echo) stays as it is. What this
does not do, a board would: text that itself holds `\\r\\n` goes out as
`\\r\\r\\n` on a board and as `\\r\\n` here; other `sys.stdout.buffer` writes are
cooked here and left alone on a board.
"""

from __future__ import annotations

import enum
import re

MOUNT_COMMAND = 0x18
RAW_PASTE_ANSWER = b"R\x01"
_BARE_LF = re.compile(rb"(?<!\r)\n")


class Arg(enum.Enum):
    """One argument of a mount command, as `RemoteCommand` writes it."""

    S8 = 1
    S32 = 4
    BYTES = 0  # an s32 length, then that many bytes (wr_bytes, wr_str)


# mpremote transport_serial.py: fs_hook_cmds and what each board-side call writes after begin().
MOUNT_ARGS: dict[int, tuple[Arg, ...]] = {
    1: (Arg.BYTES,),                    # stat(path)
    2: (Arg.BYTES,),                    # ilistdir start(path)
    3: (),                              # ilistdir next
    4: (Arg.BYTES, Arg.BYTES),          # open(path, mode)
    5: (Arg.S8,),                       # close(fd)
    6: (Arg.S8, Arg.S32),               # read(fd, n)
    7: (Arg.S8,),                       # readline(fd)
    8: (Arg.S8, Arg.BYTES),             # write(fd, data)
    9: (Arg.S8, Arg.S32, Arg.S8),       # seek(fd, n, whence)
    10: (Arg.BYTES,),                   # remove(path)
    11: (Arg.BYTES, Arg.BYTES),         # rename(old, new)
    12: (Arg.BYTES,),                   # mkdir(path)
    13: (Arg.BYTES,),                   # rmdir(path)
}


class BoardLineEnds:
    """Feed it the port's output in any chunking; it returns what a board would have sent."""

    def __init__(self) -> None:
        self._after_cr = False        # the last text byte was \r
        self._after_r = False         # the last text byte was R (a raw-paste answer may follow)
        self._await_command = False   # \x18 seen: the next byte names the mount command
        self._args: list[Arg] = []    # the mount command's arguments still to come
        self._passing = 0             # bytes to pass unchanged before the next argument
        self._length: bytearray | None = None  # collecting a BYTES argument's length

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        at = 0
        while at < len(data):
            if self._in_binary:
                at = self._binary(data, at, out)
            else:
                at = self._text(data, at, out)
        return bytes(out)

    @property
    def _in_binary(self) -> bool:
        return self._await_command or self._passing > 0 or bool(self._args)

    def _text(self, data: bytes, at: int, out: bytearray) -> int:
        """Cook text up to the next binary framing; start that framing."""
        end = _next_framing(data, at, self._after_r)
        text = data[at:end]
        if text:
            if self._after_cr and text.startswith(b"\n"):
                out += b"\n"
                text = text[1:]
            out += _BARE_LF.sub(b"\r\n", text)
            self._after_cr = data[end - 1] == 0x0D
            self._after_r = data[end - 1] == ord("R")
        if end < len(data):
            out.append(data[end])
            if data[end] == MOUNT_COMMAND:
                self._await_command = True
            else:  # the \x01 of R\x01: its window size follows
                self._passing = 2
            self._after_cr = self._after_r = False
            end += 1
        return end

    def _binary(self, data: bytes, at: int, out: bytearray) -> int:
        if self._await_command:
            self._await_command = False
            self._args = list(MOUNT_ARGS.get(data[at], ()))
            out.append(data[at])
            return at + 1
        if self._passing == 0:
            arg = self._args.pop(0)
            self._passing = arg.value or Arg.S32.value
            self._length = bytearray() if arg is Arg.BYTES else None
        taken = data[at:at + self._passing]
        out += taken
        self._passing -= len(taken)
        if self._length is not None:
            self._length += taken
            if self._passing == 0:
                self._passing = max(0, int.from_bytes(self._length, "little", signed=True))
                self._length = None
        return at + len(taken)


def _next_framing(data: bytes, at: int, after_r: bool) -> int:
    """Where the next binary framing starts: a mount command, or the \\x01 of a raw-paste answer."""
    if after_r and data[at:at + 1] == b"\x01":
        return at
    ends = [i for i in (data.find(bytes([MOUNT_COMMAND]), at), data.find(RAW_PASTE_ANSWER, at)) if i >= 0]
    if not ends:
        return len(data)
    first = min(ends)
    return first + 1 if data[first] == ord("R") else first
