"""Rfc2217Port: what does not change the remote line is not sent to it; waits end when a byte comes.

The remote is pyserial's own RFC 2217 server side (esp_hil.virtual.server, as a rack
host's ser2net would answer) over a line that records every setting it is given.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from esp_hil.transcript import Transcript
from esp_hil.transport.serial import RecordingSerial, open_port
from esp_hil.transport.waits import read_within
from esp_hil.virtual.server import Rfc2217Server


class RecordingLine:
    """A line that keeps every setting the server applies to it, in order."""

    def __init__(self) -> None:
        object.__setattr__(self, "applied", [])
        object.__setattr__(self, "received", bytearray())
        for name, value in {"baudrate": 115200, "bytesize": 8, "parity": "N", "stopbits": 1, "dtr": False,
                            "rts": False, "xonxoff": False, "rtscts": False, "cts": False, "dsr": False, "ri": False,
                            "cd": False}.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        self.applied.append(name)
        object.__setattr__(self, name, value)

    def write(self, data: bytes) -> None:
        self.received.extend(data)

    def reset_input_buffer(self) -> None:
        pass

    def reset_output_buffer(self) -> None:
        pass


@pytest.fixture
def line() -> Iterator[RecordingLine]:
    yield RecordingLine()


@pytest.fixture
def server(line) -> Iterator[Rfc2217Server]:
    served = Rfc2217Server(line, "unit")
    served.start()
    yield served
    served.close()


@pytest.fixture
def port(server, line):
    opened = open_port(server.url, 115200)
    yield opened
    opened.close()


def _settled(line: RecordingLine, port) -> list[str]:
    """What the line was given, once the port has had its answers (a DTR change waits for its own)."""
    port.dtr = not port.dtr
    applied = line.applied[:-1]
    line.applied.clear()
    return applied


def test_timeouts_and_settings_the_line_has_are_not_sent(line, port):
    line.applied.clear()
    for seconds in (0.001, 0.1, 3.0, None, 10):
        port.timeout = seconds
    port.write_timeout = None
    port.baudrate = 115200
    port.dtr = port.dtr
    port.rts = port.rts
    assert _settled(line, port) == []


def test_a_setting_that_changes_the_line_reaches_it(line, port):
    line.applied.clear()
    port.baudrate = 460800
    port.rts = not port.rts
    assert {"baudrate", "rts"} <= set(_settled(line, port))
    assert (line.baudrate, line.rts) == (460800, port.rts)


def test_a_write_timeout_is_refused_as_pyserial_refuses_it(port):
    with pytest.raises(NotImplementedError):
        port.write_timeout = 1.0


def test_a_wait_ends_when_the_byte_comes_not_at_its_deadline(server, port):
    recording = RecordingSerial(port, Transcript("unit"))
    assert read_within(recording, 1, 0.05) == b""
    server.send(b"abc")
    start = time.monotonic()
    assert read_within(recording, 10, 5.0) in (b"a", b"ab", b"abc")
    assert time.monotonic() - start < 2.5  # far inside the deadline: the byte ended the wait
    assert port.timeout == 3.0  # the port's own timeout is back


def test_a_closed_port_can_be_opened_again_at_once(server, line):
    """Closing waits for the server to let go (it serves one client at a time), so a reopen is served."""
    for _ in range(3):
        port = open_port(server.url, 115200)
        port.dtr = not port.dtr
        port.close()
    line.applied.clear()
    port = open_port(server.url, 115200)
    try:
        assert "dtr" in line.applied  # the server took this client's settings
    finally:
        port.close()


def test_a_refused_write_timeout_and_its_undoing_send_nothing(line, port):
    """esptool's loader sets a write timeout on every port it is given and clears it when refused."""
    line.applied.clear()
    with pytest.raises(NotImplementedError):
        port.write_timeout = 1.0
    port.write_timeout = None
    assert _settled(line, port) == []
