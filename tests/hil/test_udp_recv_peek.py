"""UDP recv with MSG_PEEK: a peeked datagram stays queued, its source address too.

MicroPython's multi_net/udp_recv_peek.py, as a behaviour test with a host UDP peer.
Guards modlwip.c's UDP peek, which must leave the pbuf (and the address it came
from) in place: a peek then a recvfrom see the same datagram from the same sender.
"""

from __future__ import annotations

from esp_hil.device import GO, WAIT_GO, printed_lines

SERVER = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(socket.getaddrinfo('0.0.0.0', {port})[0][-1])
s.settimeout(5)
print('READY')
data, peeked_from = s.recvfrom(8, socket.MSG_PEEK)
print('PEEK', repr(data))
data, came_from = s.recvfrom(8)
print('RECV', repr(data), peeked_from == came_from)
print('SENT', s.sendto(b'1234567890', came_from))
""" + WAIT_GO + """
print('PEEK', repr(s.recv(5, socket.MSG_PEEK)))
print('PEEK', repr(s.recv(5, socket.MSG_PEEK)))
s.close()
"""


def test_peeked_datagram_is_received_again_from_the_same_sender(net_board, peer, board_port):
    """recvfrom with MSG_PEEK, then without: the same datagram and address; a peek never consumes it."""
    job = net_board.start(SERVER.format(port=board_port))
    job.wait_for("READY")
    udp = peer.udp(net_board.host_ip)
    udp.sendto(b"abcdefgh", (net_board.ip, board_port))
    job.wait_for("SENT")
    assert udp.recvfrom()[0] == b"1234567890"
    udp.sendto(b"klmnopqr", (net_board.ip, board_port))
    job.send(GO)
    lines = printed_lines(job.result(timeout=15))
    assert lines == ["READY", "PEEK b'abcdefgh'", "RECV b'abcdefgh' True", "SENT 10",
                     "PEEK b'klmno'", "PEEK b'klmno'"]
