"""WebREPL: reads only what input is available, writes all of its output.

Guards extmod/modwebrepl.c (and the websocket layer under it): WebREPL is a dupterm
stream, polled for input by the REPL that also serves the UART. A read that waited
for a whole websocket frame would stall the UART REPL for as long as a client holds
back the rest of a frame; a write that gave up when the socket's send buffer was full
would silently drop output. So a partial frame must not stall the UART REPL, and a
print larger than the socket's buffer (2920 bytes on the ESP8266's lwIP) must reach
the client whole. File transfer and the password check ride on the same session.

ESP8266 reads WebREPL input when its socket callback notifies dupterm; ESP32 polls it
while the REPL waits for a character. Both are exercised by the same steps.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from websockets.frames import Frame, Opcode

from esp_hil.device import GO, printed_lines
from esp_hil.errors import HilError

pytestmark = pytest.mark.needs("webrepl")


def _split_frame(payload: bytes) -> bytes:
    """A masked client text frame, as bytes, so the test can send it in pieces."""
    return Frame(Opcode.TEXT, payload).serialize(mask=True, extensions=[])


def test_a_partial_frame_does_not_stall_the_uart_repl(board, webrepl):
    """Only part of a frame has arrived: the firmware must take what is there and move on."""
    frame = _split_frame(b"\n\n")  # newlines: harmless wherever they land in the raw REPL's input
    board.interrupt()  # resync the UART session after the WebREPL session's login
    webrepl.transport.serial.send_raw(frame[:1])  # half a header
    assert board.exec("print(6 * 7)", timeout=5) == "42\n", "UART REPL stalled on half a websocket header"
    webrepl.transport.serial.send_raw(frame[1:-1])  # the header, the mask and one byte of payload
    assert board.exec("print(6 * 8)", timeout=5) == "48\n", "UART REPL stalled on a frame missing its payload"
    webrepl.transport.serial.send_raw(frame[-1:])
    webrepl.interrupt()  # resync the WebREPL session after the UART's traffic
    assert webrepl.exec("print(7 * 6)") == "42\n", "the WebREPL session did not survive the split frame"


def test_output_larger_than_the_send_buffer_arrives_whole(webrepl):
    """One print of 6000 bytes and 400 lines after it: every byte, in order, over WebREPL.

    A board writes the same 36.8 kB to its UART at 115200 baud too, so it needs about
    3.2 s; 20 s is six times that. On firmware that drops output the end of the
    program is lost with it, and the test fails when the 20 s are up.
    """
    out = webrepl.exec("print('y' * 6000)\nfor i in range(400):\n    print('%04d' % i, 'x' * 70)\n", timeout=20)
    lines = out.split("\n")
    assert lines[0] == "y" * 6000, f"the 6000-byte print arrived as {len(lines[0])} bytes"
    expected = [f"{i:04d} {'x' * 70}" for i in range(400)]
    missing = [line for line in expected if line not in lines[1:401]]
    assert lines[1:401] == expected, f"{len(missing)} of 400 lines lost or damaged, first: {missing[:1]}"


def test_file_put_and_get_round_trip_with_sha256(board, webrepl):
    """WebREPL's binary put and get: the board hashes what it stored, the host what it got back."""
    data = random.Random(8266).randbytes(20 * 1024)
    name = "hil_webrepl.bin"
    webrepl.write_file(name, data)
    board.interrupt()
    digest = board.exec(
        "import hashlib, binascii\nh = hashlib.sha256()\n"
        f"with open({name!r}, 'rb') as f:\n"
        "    while True:\n        b = f.read(1024)\n        if not b:\n            break\n        h.update(b)\n"
        "print(binascii.hexlify(h.digest()).decode())\n")
    assert digest.strip() == hashlib.sha256(data).hexdigest(), "the board stored other bytes than were put"
    webrepl.interrupt()
    try:
        assert webrepl.read_file(name) == data, "get returned other bytes than the board holds"
    finally:
        webrepl.exec(f"import os\nos.remove({name!r})")


def test_closing_the_session_does_not_interrupt_a_running_program(board, webrepl_server):
    """Our close reaches the board as EOF only: a program waiting for input runs on.

    The board hands a close frame's payload to its REPL; a status of 1000 (`\\x03\\xe8`)
    would arrive as Ctrl-C and raise KeyboardInterrupt in the program.
    """
    session = webrepl_server.connect()
    board.interrupt()  # resync the UART session after the WebREPL session's login
    job = board.start("import sys\nprint('WAITING')\nprint('GOT', repr(sys.stdin.read(1)))\n")
    job.wait_for("WAITING")
    session.close()
    job.wait_for("dupterm: EOF received, deactivating")  # the board saw the session end
    assert not job.stdout_ended, f"our close interrupted the program: {job.output!r}"
    job.send(GO)
    assert printed_lines(job.result()) == ["WAITING", "dupterm: EOF received, deactivating", "GOT 'g'"]


def test_a_name_of_63_bytes_is_transferred_and_64_refused(board, webrepl):
    """63 bytes is the longest name the board can read back from its 64-byte field (it needs a NUL)."""
    name = "n" * 59 + ".bin"
    webrepl.write_file(name, b"63")
    try:
        assert webrepl.read_file(name) == b"63"
        with pytest.raises(HilError, match="at most 63 bytes"):
            webrepl.write_file(name + "x", b"64")
        assert webrepl.exec("print(6 * 7)") == "42\n", "the session did not survive the refusal"
    finally:
        webrepl.exec(f"import os\nos.remove({name!r})")


def test_wrong_password_is_refused_and_the_right_one_still_works(webrepl_server):
    wrong = "not-it-42"
    assert wrong != webrepl_server.password
    with pytest.raises(HilError, match="refused the password"):
        webrepl_server.connect(password=wrong)
    session = webrepl_server.connect()
    try:
        assert session.exec("print(6 * 7)") == "42\n"
    finally:
        session.close()
