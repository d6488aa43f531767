"""accept: data a client sends before the board calls accept() is delivered.

Guards the modlwip.c change where the accept callback installs a receive callback
that keeps the data: before it, lwIP discarded data that arrived on a freshly
accepted connection before `accept()` returned it to Python.
"""

from __future__ import annotations

import hashlib

from esp_hil.device import GO, LISTEN, WAIT_GO
from esp_hil.network import server_port

# The board listens, prints LISTENING, then waits for the go-ahead, which the host
# sends once the board's stack has acknowledged data on the new connection and the
# host has closed (or shut down) its side: both before accept() runs. Then the board
# reads to EOF and reports what it got.
SERVER = LISTEN + WAIT_GO + """
import hashlib, binascii
c, _ = s.accept()
c.settimeout(5)
data = b''
while True:
    d = c.recv(1024)
    if not d:
        break
    data += d
print('GOT', len(data), binascii.hexlify(hashlib.sha256(data).digest()).decode())
print('AFTER_EOF', repr(c.recv(16)))
c.close()
s.close()
"""


def _payload(n: int) -> bytes:
    return bytes((i * 7 + 3) % 256 for i in range(n))


def _run(net_board, peer, payload: bytes, close: str) -> list[str]:
    port = server_port(net_board)
    job = net_board.start(SERVER.format(port=port))
    job.wait_for("LISTENING")
    conn = peer.connect(net_board.ip, port)
    conn.send(payload)
    conn.wait_data_acknowledged()  # the board's stack has data on the connection it has not accepted
    if close == "shutdown":
        conn.shutdown_write()
    else:
        conn.close()
    job.send(GO)
    return job.result(timeout=15).splitlines()[1:]  # after LISTENING


def test_data_sent_before_accept_arrives_whole(net_board, peer):
    """Data sent right after connecting, before accept(), all arrives, then EOF."""
    payload = _payload(1000)
    lines = _run(net_board, peer, payload, close="shutdown")
    assert lines[0] == f"GOT {len(payload)} {hashlib.sha256(payload).hexdigest()}"
    assert lines[1] == "AFTER_EOF b''"


def test_data_and_close_before_accept_arrive(net_board, peer):
    """Even the peer's close before accept() leaves the data there: every byte, then b''."""
    payload = _payload(3000)
    lines = _run(net_board, peer, payload, close="close")
    assert lines[0] == f"GOT {len(payload)} {hashlib.sha256(payload).hexdigest()}"
    assert lines[1] == "AFTER_EOF b''"
