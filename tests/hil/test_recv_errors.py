"""recv on sockets that cannot have data: an error, never stale bytes from elsewhere.

Part of the modlwip.c "no global state, no stale data" change: a listening or
never-connected socket must raise ENOTCONN rather than return another socket's data.
"""

from __future__ import annotations

from tests.hil.device import ERRNO_NAME

CODE = ERRNO_NAME + """
import socket
s = socket.socket()
try:
    s.recv(10)
    print('UNCONNECTED data')
except OSError as e:
    print('UNCONNECTED', errno_name(e))
s.close()
"""


def test_recv_on_never_connected_socket_raises_enotconn(net_board):
    """recv on a socket that never connected raises ENOTCONN."""
    assert net_board.exec(CODE).strip() == "UNCONNECTED ENOTCONN"
