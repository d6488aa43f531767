"""Plain, unmodified mpremote against a virtual board: it cannot tell it from a board."""

from __future__ import annotations

import subprocess
import sys


def _mpremote(url: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mpremote", "connect", url, *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_exec(spec):
    assert _mpremote(spec.url, "exec", "print(6 * 7)").strip() == "42"


def test_fs_cp_and_ls(spec, tmp_path, vboard):
    local = tmp_path / "hello.py"
    local.write_text("print('hello from a file')\n")
    _mpremote(spec.url, "fs", "cp", str(local), ":hello.py")
    assert (vboard.sandbox / "hello.py").read_text() == local.read_text()
    assert "hello.py" in _mpremote(spec.url, "fs", "ls")
    assert _mpremote(spec.url, "exec", "import hello").strip() == "hello from a file"


def test_soft_reset_at_the_friendly_repl(spec):
    """Ctrl-D at the friendly REPL: `MPY: soft reboot` and a fresh friendly prompt."""
    import serial

    port = serial.serial_for_url(spec.url, baudrate=115200, timeout=0.2)  # pyserial defaults to 9600
    try:
        port.write(b"\r\x03\x02")  # interrupt, friendly REPL
        _read_until(port, b">>> ")
        port.write(b"x = 5\r")
        _read_until(port, b">>> ")
        port.write(b"\x04")
        seen = _read_until(port, b">>> ")
        assert b"MPY: soft reboot\r\n" in seen
        port.write(b"print('x' in globals())\r")
        assert b"False" in _read_until(port, b">>> ")
    finally:
        port.close()


def _read_until(port, ending: bytes, limit: float = 10.0) -> bytes:
    import time

    data = b""
    deadline = time.monotonic() + limit
    while not data.endswith(ending) and time.monotonic() < deadline:
        data += port.read(1024)
    assert data.endswith(ending), data
    return data
