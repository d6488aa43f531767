"""A PyPI virtual board in a namespace of its own says where it is, as a board's `network` module does."""

from __future__ import annotations

import ast
import os

import pytest

from esp_hil import multitest
from esp_hil.board import Board
from esp_hil.network import attach_network
from esp_hil.virtual import faults
from esp_hil.virtual.rack import VirtualRack, specs_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")

IFCONFIG = "import network\nlan = network.LAN()\nprint(repr((lan.ifconfig(), lan.isconnected())))"
# upstream's helper as a multitest instance runs it, told a wrong HOST_IP: only the firmware can answer
NETWORK_IP = multitest.HELPER.format(injected="HOST_IP = '192.0.2.1'",
                                     entry="(lambda: print(multitest.get_network_ip()))")


@pytest.fixture
def netns_board(tmp_path):
    rack = VirtualRack(specs_for("esp32", 1, "netns"), workdir=tmp_path / "rack")
    board = Board.open(rack.start().boards[0])
    try:
        attach_network(board)
        yield rack.boards[0], board
    finally:
        board.close()
        rack.close()


def _ifconfig(board: Board) -> tuple:
    return ast.literal_eval(board.exec(IFCONFIG).strip())


def test_lan_reports_the_namespace_link_and_follows_a_cut(netns_board):
    vboard, board = netns_board
    (address, netmask, gateway, _dns), up = _ifconfig(board)
    assert (address, netmask, gateway, up) == (board.ip, "255.255.255.252", board.host_ip, True)
    faults.inject(vboard, "netcut")
    assert _ifconfig(board)[1] is False  # the link is down: not connected, the address stays
    faults.inject(vboard, "netup")
    assert _ifconfig(board)[1] is True


def test_no_wifi_and_get_network_ip_is_the_firmware_answer(netns_board):
    _, board = netns_board
    assert board.capabilities.wlan is False  # a wired veth: needs("wlan") stays false
    assert board.exec(NETWORK_IP).strip() == board.ip
