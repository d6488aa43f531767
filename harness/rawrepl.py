"""The raw REPL's framing, both ways: what a board sends is data, never control.

In: Ctrl-A to Ctrl-D are the raw REPL's commands wherever they stand (Ctrl-D ends
the code, Ctrl-C interrupts it), and UTF-8 cannot carry a lone surrogate. Code
holding one is refused before a byte is sent, not cut short on the board.

Out: after `OK` the board sends the program's output, `\\x04`, what the REPL prints
for an uncaught exception (if any), `\\x04`, then the prompt `>`, and waits. A program
(or line noise) may print `\\x04` too, so the split is the last `\\x04` followed by
nothing or by an exception's text, and the end is such a frame followed by silence:
with the two `\\x04` of a program that printed none it is certain at once; with more,
once nothing else came for `QUIET` seconds. mpremote's `follow()` takes the first
`\\x04` as the end of the output, and is fooled.

Out, too: a board that resets mid-program says so on a line of its own (the boot
banner, the ROM's reset cause, a panic's `Rebooting...`: a board's own lines, which a
virtual board whose interpreter dies prints too); `reset_line`
finds it, so a test ends at once instead of waiting out its timeout.
"""

from __future__ import annotations

import re

from esp_hil.errors import HilError

EOT = b"\x04"
END = b"\x04>"
QUIET = 0.2
_COMMANDS = {0x01: "Ctrl-A (enter raw REPL)", 0x02: "Ctrl-B (leave raw REPL)", 0x03: "Ctrl-C (interrupt)",
             0x04: "Ctrl-D (end of code)"}
_BLANK = bytes(range(0x21))
_EXCEPTION = re.compile(rb"(Traceback \(most recent call last\):\r?\n.*|[A-Z]\w*(: [^\n]*)?\r?\n)\Z", re.S)
SOFT_REBOOT = "MPY: soft reboot"  # the one reset line after which the chip (and its Wi-Fi) did not reset
_RESET = re.compile(rb"^(rst:0x[0-9a-f]+ \(.*|.*\bets \w{3} +\d+ \d{4},rst cause:.*"     # ESP32, ESP8266 ROM
                    rb"|MicroPython \S+ on \d{4}-\d\d-\d\d;.*"                           # the firmware's banner
                    rb"|Rebooting\.\.\.|" + re.escape(SOFT_REBOOT.encode()) + rb")$")   # a panic; sys.exit()


def encode(code: str, board_id: str) -> bytes:
    """The bytes to send for `code`; HilError, before anything is sent, when they cannot go as they are."""
    try:
        data = code.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise HilError(f"code cannot be sent: {code[exc.start]!r} on line {code.count(chr(10), 0, exc.start) + 1} "
                       "is a lone surrogate, which UTF-8 cannot carry", board=board_id,
                       hint="build the string from valid characters") from None
    bad = next((at for at, byte in enumerate(data) if byte in _COMMANDS), None)
    if bad is not None:
        line = data.count(b"\n", 0, bad) + 1
        raise HilError(f"code cannot be sent: a raw {chr(data[bad])!r} on line {line} is the raw REPL's "
                       f"{_COMMANDS[data[bad]]}", board=board_id,
                       hint=f"write it as an escape inside a string literal: '\\x{data[bad]:02x}'")
    return data


def ending(received: bytes) -> tuple[bytes, bytes] | None:
    """(output, traceback) when `received`, all the board sent after `OK`, ends as a finished program does.

    The split is the last `\\x04` followed by nothing or by what the REPL prints for an
    uncaught exception: a `\\x04` in the output or in the exception's message is text.
    """
    if not received.endswith(END):
        return None
    body = received[:-len(END)]
    at = len(body)
    while (at := body.rfind(EOT, 0, at)) >= 0:
        if at == len(body) - 1 or _EXCEPTION.match(body, at + 1):
            return body[:at], body[at + 1:]
    return None


def certain(received: bytes) -> bool:
    """An ending with no other `\\x04` in it: nothing the program printed can pass for it."""
    return received.count(EOT) == 2


def reset_line(data: bytes) -> str | None:
    """The first whole line of `data` that says the board reset, as text."""
    for line in data.split(b"\n")[:-1]:
        line = line.strip(_BLANK)  # the raw REPL's own \x04 may stand before it
        if _RESET.match(line):
            return line.decode("utf-8", "replace")
    return None
