"""How a board reaches this host, and how peers reach the board.

network = "host" (virtual boards): the board shares this host's network stack, so
both directions use the loopback. network = "netns" (virtual boards, root): the
board has a namespace of its own behind a veth pair; its address is in the spec.
network = "tap" (boards built from source): the board's lwIP sits on a TAP in a
namespace of its own, and host peers make their sockets inside that namespace
(`board.sockets`, `esp_hil.sockets`); the host side of the TAP is the gateway the
firmware was given. network = "wifi": the board joins the access point named in the
environment (`esp_hil.wifi`), and the host address it should connect back to is the
one this host routes to the board from.
"""

from __future__ import annotations

import ast
import socket

from esp_hil.board import Board
from esp_hil.errors import HilError
from esp_hil.inventory import Network

LOOPBACK = "127.0.0.1"
BOARD_SERVER_PORT = 8420  # on a real board's own IP nothing else listens there


def attach_network(board: Board) -> None:
    """Set `board.ip` and `board.host_ip` (idempotent within a session)."""
    if board.ip:
        return
    kind = board.spec.network
    if kind == Network.HOST:
        board.ip, board.host_ip = LOOPBACK, LOOPBACK
    elif kind == Network.NETNS:
        board.ip = board.spec.address
        board.host_ip = host_address_towards(board.ip)
    elif kind == Network.TAP:
        board.ip, board.host_ip = board_gateway(board)
    elif kind == Network.WIFI:
        from esp_hil.wifi import join

        board.ip = join(board)
        board.host_ip = host_address_towards(board.ip)
    else:
        raise HilError("board has no network (network = \"none\" in the inventory)",
                       board=board.id, hint='set network = "wifi" and HIL_WIFI_SSID / HIL_WIFI_PASSWORD')


def board_gateway(board: Board) -> tuple[str, str]:
    """A source-built board's (address, gateway), as its firmware reports them."""
    out = board.exec("import network\nprint(network.LAN().ifconfig())")
    address, _, gateway, _ = ast.literal_eval(out.strip())
    if address == "0.0.0.0":
        raise HilError("board has no address on its TAP link", board=board.id,
                       hint="the firmware started without HIL_TAP_* (was it started by `hil virtual --micropython-src`?)")
    return address, gateway


def server_port(board: Board) -> int:
    """A port for a server the board opens: free on this host when they share its stack."""
    from esp_hil.peer import free_port

    return free_port(board.host_ip or LOOPBACK) if board.spec.network == Network.HOST else BOARD_SERVER_PORT


def host_address_towards(ip: str) -> str:
    """This host's address on the route to `ip` (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((ip, 9))
        return s.getsockname()[0]
