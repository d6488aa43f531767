"""A virtual board in a network namespace of its own: a real link that faults can cut."""

from __future__ import annotations

import os
import socket

import pytest

from esp_hil.board import Board
from esp_hil.network import attach_network
from esp_hil.peer import Peers
from esp_hil.virtual import faults
from esp_hil.virtual.rack import VirtualRack, specs_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")

CODE = """
import socket, sys
sock = socket.socket()
sock.connect(socket.getaddrinfo({host!r}, {port})[0][-1])
print('CONNECTED')
sys.stdin.read(1)
sock.send(b'hello')
print('SENT')
sys.stdin.read(1)
sock.close()
"""


@pytest.fixture
def ns_rack(tmp_path):
    rack = VirtualRack(specs_for("esp32", 1, "netns"), workdir=tmp_path / "rack")
    yield rack, rack.start().boards[0]
    rack.close()


def test_board_has_its_own_address_and_survives_a_link_cut(ns_rack):
    rack, spec = ns_rack
    board = Board.open(spec)
    peers = Peers()
    try:
        attach_network(board)
        assert board.ip.startswith("10.213.") and board.host_ip != board.ip
        listener = peers.listen(board.host_ip)
        job = board.start(CODE.format(host=board.host_ip, port=listener.port))
        conn = listener.accept()
        job.wait_for("CONNECTED")
        faults.inject(rack.boards[0], "netcut")
        job.send(b"g")
        job.wait_for("SENT")
        conn.sock.settimeout(0.5)
        with pytest.raises(socket.timeout):
            conn.sock.recv(16)  # nothing crosses a cut link
        faults.inject(rack.boards[0], "netup")
        assert conn.recv_exactly(5, timeout=15) == b"hello"  # TCP retransmits once the link is back
        job.send(b"g")
        job.result()
    finally:
        peers.close()
        board.close()


def test_namespace_is_removed_on_close(tmp_path):
    rack = VirtualRack(specs_for("esp32", 1, "netns"), workdir=tmp_path / "rack")
    rack.start()
    name = rack.boards[0].netns.name
    rack.close()
    assert name not in os.popen("ip netns list").read().split()
