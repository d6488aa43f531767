"""dupterm: a stream that raises is detached by the firmware, which says so; the UART REPL lives on.

Guards the extmod/os_dupterm.c change: a dupterm stream whose write() or
readinto() raises (like a socket whose peer went away) would keep raising on
every byte of console output, so the firmware detaches it, prints
`dupterm: Exception in write() method, deactivating: ...` (or read(), or
`dupterm: EOF received, deactivating`) on the remaining outputs, and closes it.
A stream that handles its own errors stays attached.

Slot 0 is used on every port: ESP8266 keeps its UART REPL in slot 1 and reads
dupterm input only after os.dupterm_notify(); ESP32 has one slot and polls input
while its REPL waits for a character (here: sys.stdin.read(1) in device code).
Messages are checked by their documented prefix; the exception text after it is
printed the way sys.print_exception would, with a traceback when it came from
Python code, so the test does not pin it.
"""

from __future__ import annotations

import pytest

from tests.hil.device import CONNECT, GO

pytestmark = pytest.mark.needs("dupterm")

STREAMS = """
import io, os, sys, errno
class Stream(io.IOBase):
    def __init__(self):
        self.written = bytearray()
    def readinto(self, buf):
        return None      # no input yet: not an error
    def write(self, buf):
        self.written += buf
        return len(buf)
    def ioctl(self, req, arg):
        return 0
class WriteRaises(Stream):
    def write(self, buf):
        raise OSError(errno.ECONNRESET)
class ReadRaises(Stream):
    def readinto(self, buf):
        raise OSError(errno.EIO)
class ReadEOF(Stream):
    def readinto(self, buf):
        return 0
class HandlesOwnErrors(Stream):
    failed = False
    def write(self, buf):
        try:
            if not self.failed:
                self.failed = True
                raise OSError(errno.EIO)
            self.written += buf
        except OSError:
            pass
        return len(buf)
def poll_input():
    if hasattr(os, 'dupterm_notify'):
        os.dupterm_notify(None)   # ESP8266 reads dupterm input only when notified
    print('WAITING')
    sys.stdin.read(1)             # ESP32 polls dupterm input while the REPL reads a char
"""

WRITE_MSG = "dupterm: Exception in write() method, deactivating: "
READ_MSG = "dupterm: Exception in read() method, deactivating: "
EOF_MSG = "dupterm: EOF received, deactivating"


def _assert_repl_alive(board) -> None:
    assert board.exec("print(6 * 7)") == "42\n"


def test_stream_whose_write_raises_is_detached(board):
    """write() raises: detached, the message on the UART, the slot empty, the REPL fine."""
    out = board.exec(STREAMS + "os.dupterm(WriteRaises(), 0)\nprint('ATTACHED')\nprint('SLOT', os.dupterm(None, 0))\n")
    assert WRITE_MSG in out
    assert "SLOT None" in out
    _assert_repl_alive(board)


@pytest.mark.parametrize("stream, message", [("ReadRaises", READ_MSG), ("ReadEOF", EOF_MSG)])
def test_stream_whose_read_fails_is_detached(board, stream, message):
    """readinto() raises, or returns 0 (EOF): detached with its message, the REPL fine."""
    job = board.start(STREAMS + f"os.dupterm({stream}(), 0)\npoll_input()\nprint('SLOT', os.dupterm(None, 0))\n")
    job.wait_for("WAITING")
    job.send(GO)
    out = job.result()
    assert message in out
    assert "SLOT None" in out
    _assert_repl_alive(board)


def test_stream_that_handles_its_own_errors_stays_attached(board):
    """A stream that catches its own error keeps its slot and keeps receiving output."""
    code = STREAMS + ("s = HandlesOwnErrors()\nos.dupterm(s, 0)\nprint('first')\nprint('second')\n"
                      "prev = os.dupterm(None, 0)\nprint('SAME', prev is s, b'second' in s.written)\n")
    out = board.exec(code)
    assert "SAME True True" in out
    assert "deactivating" not in out


# The socket as WebREPL gives it to os.dupterm: non-blocking (on a blocking one the firmware's
# dupterm read waits forever). Then the board waits until it sees the host's RST itself: a
# go-ahead over the UART could overtake the RST on its way over Wi-Fi. The host sends no data,
# so the socket turning readable is the RST (ESP32's select reports it as readable only).
SOCKET_UNTIL_RESET = """
import select, time
sock.setblocking(False)
p = select.poll()
p.register(sock, select.POLLIN)
os.dupterm(sock, 0)
print('ATTACHED')
start = time.ticks_ms()
reset = False
while not reset and time.ticks_diff(time.ticks_ms(), start) < 10000:
    reset = any(ev & (select.POLLIN | select.POLLERR | select.POLLHUP) for _, ev in p.poll(100))
for i in range(5):
    print('line', i)  # the first write after the RST detaches the socket: its message splits this line
print('SLOT', os.dupterm(None, 0))
print('RESET SEEN', reset)
"""


@pytest.mark.needs("socket")
def test_socket_whose_peer_went_away_is_detached(net_board, peer):
    """A connected socket as dupterm: the peer resets it; the board detaches it instead of raising forever."""
    listener = peer.listen(net_board.host_ip)
    code = STREAMS + CONNECT.format(host=net_board.host_ip, port=listener.port) + SOCKET_UNTIL_RESET
    job = net_board.start(code)
    conn = listener.accept()
    job.wait_for("ATTACHED")
    conn.abort()  # RST: every later write (and read) on the board's socket fails
    out = job.result(timeout=20)
    assert "RESET SEEN True" in out, "the board never saw the host's RST"
    assert any(m in out for m in (WRITE_MSG, READ_MSG, EOF_MSG)), out
    assert "SLOT None" in out
    assert out.count("deactivating") == 1, "the firmware must detach once, not report on every write"
    _assert_repl_alive(net_board)
