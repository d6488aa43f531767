"""recv with MSG_PEEK: peeking leaves the data where it is, for the next recv.

MicroPython's multi_net/tcp_recv_peek.py, as a behaviour test. Guards modlwip.c's
peek path, which must copy out of the queued pbuf without consuming it, so a peek
followed by a recv (or a second peek) sees the same bytes. Bare-metal lwIP returns
at most one segment per recv, peeking included: each send here is one short segment.
"""

from __future__ import annotations

from esp_hil.device import GO, LISTEN, WAIT_GO, printed_lines

SERVER = LISTEN + """
c, _ = s.accept()
c.settimeout(5)
print('ACCEPTED')
print('PEEK', repr(c.recv(8, socket.MSG_PEEK)))
print('RECV', repr(c.recv(8)))
c.send(b'1234567890')
print('SENT')
""" + WAIT_GO + """
print('PEEK', repr(c.recv(5, socket.MSG_PEEK)))
print('PEEK', repr(c.recv(5, socket.MSG_PEEK)))
print('RECV', repr(c.recv(8)))
c.close()
s.close()
"""


def test_peek_then_recv_sees_the_same_bytes(net_board, peer, board_port):
    """A peek returns the queued bytes and leaves them; the next recv (or peek) gets them again."""
    job = net_board.start(SERVER.format(port=board_port))
    job.wait_for("LISTENING")
    conn = peer.connect(net_board.ip, board_port)
    job.wait_for("ACCEPTED")  # data sent before accept() is test_accept's concern, not the peek's
    conn.send(b"abcdefgh")
    job.wait_for("SENT")
    assert conn.recv_exactly(10) == b"1234567890"
    conn.send(b"klmnopqr")
    job.send(GO)
    assert conn.recv(timeout=10) == b""  # the board closed after its reads
    lines = printed_lines(job.result(timeout=15))
    assert lines == ["LISTENING", "ACCEPTED", "PEEK b'abcdefgh'", "RECV b'abcdefgh'", "SENT",
                     "PEEK b'klmno'", "PEEK b'klmno'", "RECV b'klmnopqr'"]
