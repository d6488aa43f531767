"""The serial transport: mpremote's SerialTransport on a port we open, with every byte recorded.

mpremote does the raw REPL, raw-paste and file transfer; we only put a recording
proxy between it and the pyserial object (as mpremote itself does for its mount
feature), so the transcript sees every byte each way. Two things we do ourselves,
because they cost round trips: the port object for `rfc2217://` URLs keeps timeouts
local (`Rfc2217Port`), and waiting for a reply blocks on the port until a byte or
the deadline comes, where mpremote sleeps 10 ms whenever no byte is waiting.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterable
from typing import Any, Callable

import serial
import serial.rfc2217
from mpremote.transport_serial import SerialTransport

from esp_hil.errors import HilError
from esp_hil.port import PortKind
from esp_hil.transcript import RX, TX, Transcript
from esp_hil.transport.waits import READ_TIMEOUT, Deadlines

# How long a closing port waits for the rack host to drop the connection: pyserial's fixed pause.
SERVER_LETS_GO = 0.3


class Rfc2217Port(serial.rfc2217.Serial):
    """pyserial's RFC 2217 client that sends the remote only what changes its line.

    pyserial renegotiates every line setting with the rack host whenever any setting
    is assigned, the timeouts included, though a timeout is this side's business;
    each negotiation waits for the acknowledgement in 50 ms polls. esptool changes
    the timeout around every command whose timeout differs from the last (SYNC, each
    block of a ROM flash read, each block it writes), and assigns the baud rate and
    DTR/RTS values the line already has. Here a timeout is only stored, and a baud
    rate, framing or modem line is sent when it differs from what the remote has, and
    the answer is awaited in 1 ms polls. A write timeout, which pyserial's client
    refuses (esptool sets one on every loader, then clears it), is refused without
    forgetting what the line has.
    """

    def open(self) -> None:
        self._remote_line: tuple[Any, ...] | None = None
        self._remote_lines: dict[str, bool] = {}
        super().open()

    def _reconfigure_port(self) -> None:
        if self._write_timeout is not None:  # esptool sets one on every loader, then clears it when refused
            raise NotImplementedError("write_timeout is currently not supported")  # pyserial's refusal, no round trip
        line = (self._baudrate, self._bytesize, self._parity, self._stopbits, self._rtscts, self._xonxoff)
        if line == self._remote_line:
            return
        self._remote_line = None  # unknown until the remote acknowledges
        if self._rtscts or self._xonxoff or self._ignore_set_control_answer:
            super()._reconfigure_port()  # pyserial's own negotiation, in 50 ms polls
        else:
            self._negotiate_line()
        self._remote_line = line

    def _negotiate_line(self) -> None:
        """The line settings, then no flow control: each sent, then awaited in 1 ms polls, not pyserial's 50 ms."""
        settings = self._rfc2217_port_settings
        settings["baudrate"].set(struct.pack("!I", self._baudrate))
        settings["datasize"].set(struct.pack("!B", self._bytesize))
        settings["parity"].set(struct.pack("!B", serial.rfc2217.RFC2217_PARITY_MAP[self._parity]))
        settings["stopsize"].set(struct.pack("!B", serial.rfc2217.RFC2217_STOPBIT_MAP[self._stopbits]))
        self._await(settings.values(), "the line settings")
        control = self._rfc2217_options["control"]
        control.set(serial.rfc2217.SET_CONTROL_USE_NO_FLOW_CONTROL)
        self._await([control], "no flow control")

    def _await(self, items: Iterable[Any], what: str) -> None:
        """Wait for the remote's answers in 1 ms polls (pyserial polls every 50 ms)."""
        items = list(items)
        deadline = time.monotonic() + self._network_timeout
        while not all(item.is_ready() for item in items):  # is_ready raises when the remote refuses
            if time.monotonic() > deadline:
                raise serial.SerialException(f"the rack host did not acknowledge {what}")
            time.sleep(0.001)

    def _update_dtr_state(self) -> None:
        self._send_line("dtr", self._dtr_state, super()._update_dtr_state)

    def _update_rts_state(self) -> None:
        self._send_line("rts", self._rts_state, super()._update_rts_state)

    def rfc2217_send_purge(self, value: bytes) -> None:
        """Purge a buffer of the remote (twice on every open), waiting for its answer, not 50 ms polls.

        (DTR/RTS changes keep pyserial's pace: the virtual reset circuit models esptool's
        reset over RFC 2217 at that pace.)
        """
        item = self._rfc2217_options["purge"]
        item.set(value)
        self._await([item], "the purge")

    def close(self) -> None:
        """Close once the rack host has let go, instead of pyserial's fixed 0.3 s pause after closing.

        pyserial pauses so that a quick reconnect finds the server ready for it. Here we
        half-close and wait for the server's own close (its FIN ends the reader thread):
        then it is ready, at once for ser2net or a virtual board. A server that keeps the
        connection open costs the pause, as before.
        """
        thread, sock = self._thread, self._socket
        if thread is not None and sock is not None and thread.is_alive():
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            thread.join(SERVER_LETS_GO)
            if not thread.is_alive():
                self._thread = None  # the server let go: nothing to wait for in pyserial's close
        super().close()

    def _send_line(self, name: str, state: bool, send: Callable[[], None]) -> None:
        if self._remote_lines.get(name) == state:
            return
        self._remote_lines.pop(name, None)
        send()
        self._remote_lines[name] = state


def open_port(url: str, baud: int) -> serial.SerialBase:
    """The pyserial object for a board's URL, open: `Rfc2217Port` for rfc2217://, pyserial's own otherwise."""
    if PortKind.of(url) is PortKind.RFC2217:
        port = Rfc2217Port(None, baudrate=baud, timeout=READ_TIMEOUT)
        port.port = url
        port.open()
        return port
    return serial.serial_for_url(url, baudrate=baud, timeout=READ_TIMEOUT, exclusive=True)


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


class PortTransport(Deadlines, SerialTransport):
    """mpremote's SerialTransport on a port we opened, whose waits end when the byte comes.

    mpremote's `read_until` sleeps 10 ms whenever no byte is waiting, which is most of
    an exec round trip on a board that answers in 2 ms; this one blocks on the port
    with the deadline as its timeout, and honours `within`'s deadline (`Deadlines`).
    """

    def __init__(self, port: RecordingSerial, device: str):  # what SerialTransport.__init__ sets, port opened
        self.serial = port
        self.device_name = device
        self.in_raw_repl = False
        self.use_raw_paste = True
        self.mounted = False
        self.is_pty = self._is_pty_device(device)


def open_serial(url: str, baud: int, transcript: Transcript, board_id: str) -> PortTransport:
    """Open a board's port by pyserial URL (by-id path, rfc2217://, socket://)."""
    try:
        # A read timeout bounds mpremote's blocking reads, so a dead board cannot hang us.
        port = open_port(url, baud)
    except (OSError, ValueError) as exc:  # pyserial's SerialException is an OSError
        raise HilError(f"cannot open {url}: {exc}", board=board_id,
                       hint="check the board is attached or its rack host is up, the port in the inventory, "
                            "and that no other program (a terminal, another run) holds the port") from None
    return PortTransport(RecordingSerial(port, transcript), url)
