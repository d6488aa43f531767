"""no stale data: several sockets at once, each gets only its own bytes.

Guards the modlwip.c change that removed global state shared between sockets
(a receive buffer/offset that one socket could leave behind for another) and the
fix for stale data returned after a read. The board reads a few bytes from each
socket in turn, never a whole message, so a position that one socket's read leaves
behind would show up in the next socket's bytes.
"""

from __future__ import annotations

from tests.hil.device import ERRNO_NAME, GO, WAIT_GO

SOCKETS = 3
ROUNDS = 4
CHUNK = 3  # not a divisor of a message's length: reads end mid-message

BOARD = ERRNO_NAME + """
import socket
addr = socket.getaddrinfo({host!r}, {port})[0][-1]
socks = []
for i in range({n}):
    s = socket.socket()
    s.connect(addr)
    s.send(bytes([48 + i]))  # tell the host which socket this is
    socks.append(s)
print('CONNECTED')
""" + WAIT_GO + """
def read_exactly(s, n):
    s.settimeout(5)
    data = b''
    while len(data) < n:
        d = s.recv(n - len(data))
        if not d:
            break
        data += d
    return data
got = [b''] * len(socks)
try:
    while any(len(g) < {each} for g in got):  # a few bytes from each in turn: any state shared between them shows
        for i, s in enumerate(socks):
            if len(got[i]) < {each}:
                got[i] += read_exactly(s, min({chunk}, {each} - len(got[i])))
except OSError as e:
    print('STUCK', errno_name(e))  # a socket's bytes went elsewhere: what each got says where
for i, g in enumerate(got):
    print('SOCK', i, g.decode())
for i, s in enumerate(socks):
    s.setblocking(False)
    try:
        print('LEFT', i, repr(s.recv(64)))
    except OSError as e:
        print('LEFT', i, errno_name(e))
socks[0].close()
fresh = socket.socket()
fresh.connect(addr)
fresh.send(b'N')
print('FRESH')
""" + WAIT_GO + """
print('NEW', read_exactly(fresh, 3).decode())
fresh.setblocking(False)
try:
    print('NEWLEFT', repr(fresh.recv(64)))
except OSError as e:
    print('NEWLEFT', errno_name(e))
for s in socks[1:] + [fresh]:
    s.close()
"""


def _message(sock: int, rnd: int) -> bytes:
    return f"[{sock}.{rnd}]".encode()


def test_each_socket_gets_only_its_own_bytes(net_board, peer):
    """Interleaved sends to three sockets: each reads its own bytes in order, nothing left over."""
    listener = peer.listen(net_board.host_ip)
    each = len(_message(0, 0)) * ROUNDS
    job = net_board.start(BOARD.format(host=net_board.host_ip, port=listener.port, n=SOCKETS, each=each, chunk=CHUNK))
    conns = {}
    for _ in range(SOCKETS):
        conn = listener.accept()
        conns[int(conn.recv_exactly(1))] = conn
    job.wait_for("CONNECTED")
    for rnd in range(ROUNDS):
        for sock in range(SOCKETS):
            conns[sock].send(_message(sock, rnd))
    job.send(GO)
    job.wait_for("FRESH", timeout=30)  # the board has read its sockets (or says why not) and connected again
    fresh = listener.accept()
    assert fresh.recv_exactly(1) == b"N"
    fresh.send(b"new")
    job.send(GO)
    lines = job.result(timeout=20).splitlines()

    for sock in range(SOCKETS):
        expected = b"".join(_message(sock, rnd) for rnd in range(ROUNDS)).decode()
        assert f"SOCK {sock} {expected}" in lines
        assert f"LEFT {sock} EAGAIN" in lines, f"socket {sock} returned stale data after its own bytes"
    assert "NEW new" in lines, "a socket opened after another closed got someone else's bytes"
    assert "NEWLEFT EAGAIN" in lines
