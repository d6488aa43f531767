"""peer close: data that arrived before the peer closed is all delivered, then EOF.

Guards the modlwip.c fixes for a peer's close: the FIN must not overtake queued
pbufs (data first, then `b""` on every later recv, non-blocking included), also
when the FIN arrives in the same moment as the last data.
"""

from __future__ import annotations

import hashlib

from tests.hil.device import CONNECT, GO, READ_TO_EOF, WAIT_GO

REPORT = """
print('GOT', len(data), binascii.hexlify(hashlib.sha256(data).digest()).decode())
print('AGAIN', repr(sock.recv(16)))
sock.setblocking(False)
print('NONBLOCKING', repr(sock.recv(16)))
sock.close()
"""


def _chunks(count: int, size: int) -> list[bytes]:
    return [bytes([65 + i % 26]) * size for i in range(count)]


def _expect(data: bytes) -> str:
    return f"GOT {len(data)} {hashlib.sha256(data).hexdigest()}\nAGAIN b''\nNONBLOCKING b''\n"


def _queued(net_board, peer, chunks: list[bytes]) -> str:
    """The host sends and closes while the board waits; once the board's stack has it all, the board reads."""
    listener = peer.listen(net_board.host_ip)
    code = ("import hashlib, binascii\n" + CONNECT.format(host=net_board.host_ip, port=listener.port)
            + "print('CONNECTED')\n" + WAIT_GO + READ_TO_EOF + "data = read_to_eof(sock)\n" + REPORT)
    job = net_board.start(code)
    job.wait_for("CONNECTED")
    conn = listener.accept()
    for chunk in chunks:
        conn.send(chunk)
    conn.shutdown_write()
    conn.wait_fin_acknowledged()
    job.send(GO)
    return job.result(timeout=15)


def test_data_then_eof_after_clean_close(net_board, peer):
    """One block, then FIN, all queued before the board reads: every byte, then b''."""
    chunks = _chunks(1, 2000)
    assert _queued(net_board, peer, chunks) == "CONNECTED\n" + _expect(b"".join(chunks))


def test_several_queued_chunks_then_eof(net_board, peer):
    """Several chunks (several pbufs on lwIP) and the FIN queued: all in order, then b''."""
    chunks = _chunks(8, 700)
    assert _queued(net_board, peer, chunks) == "CONNECTED\n" + _expect(b"".join(chunks))


def test_fin_racing_last_data_while_board_reads(net_board, peer):
    """The board is already reading when the last data and the FIN arrive back to back."""
    listener = peer.listen(net_board.host_ip)
    code = ("import hashlib, binascii\n" + CONNECT.format(host=net_board.host_ip, port=listener.port)
            + READ_TO_EOF + "print('READING')\ndata = read_to_eof(sock)\n" + REPORT)
    job = net_board.start(code)
    conn = listener.accept()
    job.wait_for("READING")
    chunks = _chunks(5, 300)
    for chunk in chunks[:-1]:
        conn.send(chunk)
    conn.send(chunks[-1])
    conn.close()  # FIN right behind the last segment
    assert job.result(timeout=15) == "READING\n" + _expect(b"".join(chunks))
