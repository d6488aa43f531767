"""client RST: a peer that resets an open connection, with data the board has not read yet.

MicroPython's multi_net/tcp_client_rst.py, as a behaviour test: poll must report the
reset (POLLIN|POLLERR|POLLHUP) while data is still queued, recv must hand over that
data first and only then raise ECONNRESET, and a closed socket polls as POLLNVAL and
raises EBADF. Guards modlwip.c's error callback and its poll/recv on a pcb lwIP has
already freed.
"""

from __future__ import annotations

from esp_hil.device import ERRNO_NAME, GO, LISTEN, WAIT_GO, printed_lines

REQUEST = b"GET / HTTP/1.0\r\n\r\n"

# The board accepts, waits until the host has sent and reset, then reports what it sees.
SERVER = ERRNO_NAME + LISTEN + """
import select, time
BITS = (('IN', select.POLLIN), ('OUT', select.POLLOUT), ('ERR', select.POLLERR), ('HUP', select.POLLHUP), ('NVAL', 32))
def masks(p):
    return ' '.join('|'.join(n for n, b in BITS if ev & b) or '0' for _, ev in p.poll(1000)) or 'none'
def recv(label):
    try:
        print(label, repr(c.recv(10)), masks(p))
    except OSError as e:
        print(label, errno_name(e), masks(p))
c, _ = s.accept()
c.setblocking(False)
p = select.poll()
p.register(c, select.POLLIN)
print('ACCEPTED')
""" + WAIT_GO + """
for _ in range(10):
    if (select.POLLIN | select.POLLERR | select.POLLHUP) in [ev for _, ev in p.poll(1000)]:
        break
    time.sleep(0.1)
print('RESET', masks(p))
for _ in range({reads}):
    recv('RECV')
c.close()
print('CLOSED', masks(p))
recv('AFTER')
s.close()
"""


def _reset_with_data(net_board, peer, board_port: int, reads: int) -> list[str]:
    job = net_board.start(SERVER.format(port=board_port, reads=reads))
    job.wait_for("LISTENING")
    conn = peer.connect(net_board.ip, board_port)
    job.wait_for("ACCEPTED")
    conn.send(REQUEST)
    conn.abort()  # RST, the request still unread on the board
    job.send(GO)
    return printed_lines(job.result(timeout=30))[2:]  # after LISTENING, ACCEPTED


def test_poll_reports_reset_then_nval_after_close(net_board, peer, board_port):
    """With unread data and a RST, poll gives IN|ERR|HUP; once closed, NVAL, and recv raises EBADF."""
    lines = _reset_with_data(net_board, peer, board_port, reads=0)
    assert lines == ["RESET IN|ERR|HUP", "CLOSED NVAL", "AFTER EBADF NVAL"]


def test_data_queued_before_reset_is_delivered_then_econnreset(net_board, peer, board_port):
    """recv hands over the queued request first, then raises ECONNRESET, then gives b'' (IN|HUP)."""
    lines = _reset_with_data(net_board, peer, board_port, reads=5)
    assert lines == [
        "RESET IN|ERR|HUP",
        "RECV b'GET / HTTP' IN|ERR|HUP",
        "RECV b'/1.0\\r\\n\\r\\n' IN|ERR|HUP",
        "RECV ECONNRESET IN|HUP",
        "RECV b'' IN|HUP",
        "RECV b'' IN|HUP",
        "CLOSED NVAL",
        "AFTER EBADF NVAL",
    ]
