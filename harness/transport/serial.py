"""The serial transport: mpremote's SerialTransport, with every byte recorded.

mpremote does the raw REPL, raw-paste and file transfer; we only put a recording
proxy between it and the pyserial object (as mpremote itself does for its mount
feature), so the transcript sees every byte each way.
"""

from __future__ import annotations

from typing import Any

from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from esp_hil.errors import HilError
from esp_hil.transcript import RX, TX, Transcript

# Bounds mpremote's blocking reads (raw-paste window): a board answers in ms. It is also
# esptool's default command timeout, which matters when esptool drives this port: over
# RFC 2217 every timeout change renegotiates the line settings (50 ms polls in pyserial's
# client), and esptool changes it around each command whose timeout differs.
READ_TIMEOUT = 3.0

# pyserial applies every assignment of these to the port, even of the value it has.
LINE_SETTINGS = frozenset({"baudrate", "bytesize", "parity", "stopbits", "timeout", "write_timeout",
                           "inter_byte_timeout", "xonxoff", "rtscts", "dsrdtr", "dtr", "rts"})


class SettledPort:
    """A pyserial object on which assigning a line setting the value it already has sends nothing.

    Over RFC 2217 each assignment is a negotiation with the rack host (pyserial's
    client polls for the acknowledgement every 50 ms, so about 100 ms a setting),
    and esptool assigns the baud rate and timeouts the port already has: twice on
    connecting, and on every block of a ROM flash read. A board's skip-the-write
    check is mostly such waits.
    """

    def __init__(self, port: Any):
        object.__setattr__(self, "_port", port)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in LINE_SETTINGS and getattr(self._port, name) == value:
            return
        setattr(self._port, name, value)


class RecordingSerial:
    """A pyserial object whose reads and writes are copied into a transcript."""

    def __init__(self, port: Any, transcript: Transcript):
        self._port = port
        self._transcript = transcript
        self._pushback = b""

    def read(self, size: int = 1) -> bytes:
        if self._pushback:
            data, self._pushback = self._pushback[:size], self._pushback[size:]
            return data
        data = self._port.read(size)
        self._transcript.add(RX, data)
        return data

    @property
    def unrecorded(self) -> Any:
        """The pyserial object itself, for esptool: its binary SLIP traffic stays out of the transcript."""
        return self._port

    def unread(self, data: bytes) -> None:
        """Give back bytes read past a boundary (already in the transcript)."""
        self._pushback = data + self._pushback

    @property
    def in_waiting(self) -> int:
        return len(self._pushback) + self._port.in_waiting

    def inWaiting(self) -> int:  # noqa: N802 - the name mpremote calls
        return self.in_waiting

    def write(self, data: bytes) -> int | None:
        self._transcript.add(TX, bytes(data))
        return self._port.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._port, name, value)


def open_serial(url: str, baud: int, transcript: Transcript, board_id: str) -> SerialTransport:
    """Open a board's port by pyserial URL (by-id path, rfc2217://, socket://)."""
    try:
        # A read timeout bounds mpremote's blocking reads, so a dead board cannot hang us.
        transport = SerialTransport(url, baudrate=baud, timeout=READ_TIMEOUT)
    except (TransportError, OSError, ValueError) as exc:
        raise HilError(f"cannot open {url}: {exc}", board=board_id,
                       hint="check the board is attached or its rack host is up, the port in the inventory, "
                            "and that no other program (a terminal, another run) holds the port") from None
    transport.serial = RecordingSerial(SettledPort(transport.serial), transcript)
    return transport
