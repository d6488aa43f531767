"""A virtual board ends text lines with \\r\\n on the wire, as stdout_helpers.c does on a board.

Binary framings stay unchanged: mpremote mount's commands carry file bytes, and a
cooked \\n in them would break the transfer.
"""

from __future__ import annotations

import subprocess
import sys
import time

import serial


def _wire(url: str, line: bytes, until: bytes, timeout: float = 10) -> bytes:
    """What the board sends after `line` is typed at its friendly REPL, raw bytes."""
    port = serial.serial_for_url(url, baudrate=115200, timeout=0.2)
    try:
        port.write(b"\x03\x02")
        time.sleep(0.3)
        port.reset_input_buffer()
        port.write(line + b"\r")
        got, deadline = b"", time.monotonic() + timeout
        while until not in got and time.monotonic() < deadline:
            got += port.read(256)
        return got
    finally:
        port.close()


def test_print_ends_lines_with_crlf(spec):
    got = _wire(spec.url, b"print('one\\ntwo')", b"two\r\n>>> ")
    assert b"one\r\ntwo\r\n>>> " in got
    assert b"\n" not in got.replace(b"\r\n", b"")


def test_a_traceback_ends_lines_with_crlf(spec):
    got = _wire(spec.url, b"1/0", b"ZeroDivisionError")
    got += _wire(spec.url, b"", b">>> ")
    assert b"Traceback (most recent call last):\r\n" in got


def test_mpremote_mount_writes_binary_unchanged(spec, tmp_path):
    payload = "b'\\n\\r\\n\\x18\\x0a' * 7 + bytes(range(256))"
    code = f"f = open('out.bin', 'wb'); f.write({payload}); f.close(); print(len(open('out.bin', 'rb').read()))"
    done = subprocess.run([sys.executable, "-m", "mpremote", "connect", spec.url, "mount", str(tmp_path),
                           "exec", code], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    expected = b"\n\r\n\x18\x0a" * 7 + bytes(range(256))
    assert (tmp_path / "out.bin").read_bytes() == expected
    # mpremote's own "Local directory ... is mounted" line may come before or after the program's
    assert str(len(expected)).encode() in done.stdout.replace(b"\r\n", b"\n").splitlines()
