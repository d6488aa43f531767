"""SLIP framing as the ESP ROM serial protocol uses it (RFC 1055, both ends delimited)."""

from __future__ import annotations

END, ESC, ESC_END, ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD


def encode(packet: bytes) -> bytes:
    return b"\xc0" + packet.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"


class Decoder:
    """Turns a byte stream into frames; bytes outside a frame are line noise and dropped.

    A frame with a bad escape is dropped whole, as the ROM drops it: the host
    times out and retries, which is what a corrupted line looks like to it.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._in_frame = False
        self._escape = False
        self._broken = False

    def feed(self, data: bytes) -> list[bytes]:
        frames: list[bytes] = []
        for b in data:
            if b == END:
                if self._in_frame and self._buf:
                    if not self._broken:
                        frames.append(bytes(self._buf))
                    self._reset(in_frame=False)
                else:
                    self._reset(in_frame=True)
            elif not self._in_frame:
                continue
            elif self._escape:
                self._escape = False
                if b == ESC_END:
                    self._buf.append(END)
                elif b == ESC_ESC:
                    self._buf.append(ESC)
                else:
                    self._broken = True
            elif b == ESC:
                self._escape = True
            else:
                self._buf.append(b)
        return frames

    def _reset(self, in_frame: bool) -> None:
        self._buf.clear()
        self._in_frame = in_frame
        self._escape = False
        self._broken = False
