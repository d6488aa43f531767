"""How a board reaches this host, and how peers reach the board.

network = "host" (virtual boards): the board shares this host's network stack, so
both directions use the loopback. network = "netns" (virtual boards, root): the
board has a namespace of its own behind a veth pair; its address is in the spec.
network = "wifi": the board joins the access point named in the environment
(`esp_hil.wifi`), and the host address it should connect back to is the one this
host routes to the board from. Boards built from source are on Wi-Fi too: their
lwIP sits on a TAP in a namespace of their own whose link is up once they joined
their rack's access point (`esp_hil.virtual.radio`); host peers make their sockets
inside that namespace (`board.sockets`, `esp_hil.sockets`), and so does the route.
"""

from __future__ import annotations

import socket

from esp_hil.board import Board
from esp_hil.errors import HilError
from esp_hil.inventory import Network
from esp_hil.sockets import HOST, SocketMaker

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
    elif kind == Network.WIFI:
        from esp_hil.wifi import join

        board.ip = join(board)
        board.host_ip = host_address_towards(board.ip, board.sockets)
    else:
        raise HilError("board has no network (network = \"none\" in the inventory)",
                       board=board.id, hint='set network = "wifi" and HIL_WIFI_SSID / HIL_WIFI_PASSWORD')


def server_port(board: Board) -> int:
    """A port for a server the board opens: free on this host when they share its stack."""
    from esp_hil.peer import free_port

    return free_port(board.host_ip or LOOPBACK) if board.spec.network == Network.HOST else BOARD_SERVER_PORT


def host_address_towards(ip: str, sockets: SocketMaker = HOST) -> str:
    """This host's address on the route to `ip`, in the stack `sockets` makes them in (a UDP connect sends nothing)."""
    with sockets.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((ip, 9))
        return s.getsockname()[0]
