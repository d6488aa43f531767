"""A network namespace of a virtual board's own: a veth pair and an address, like a board on Wi-Fi.

With `network = "netns"` (root only) the unix port runs inside its own namespace,
reached from the host over a veth pair on a /30 of 10.213.N.0, so host peers talk
to a different IP stack over a real link, and the link can be cut and restored
(fault injection). The serial side is unchanged: the RFC 2217 port stays on the
host's loopback.

Its firmware has a minimal `network` module (`netns_modules/network.py`): `LAN`,
whose `ifconfig()` and `isconnected()` read the namespace's own routes, addresses
and link, so the board says where it is, as a board on Wi-Fi does. No `WLAN`: the
link is wired, and `needs("wlan")` stays false.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from esp_hil.errors import HilError

SUBNET = "10.213"
NETWORK_MODULE = Path(__file__).parent / "netns_modules"  # the folder holding the board's built-in `network`


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


class Netns:
    """Namespace `hil-N` with host side `hilN-h` (10.213.N.1) and board side `hilN-b` (10.213.N.2)."""

    def __init__(self, index: int):
        self.index = index
        self.name = f"hil-{index}"
        self.host_if = f"hil{index}-h"
        self.board_if = f"hil{index}-b"
        self.host_ip = f"{SUBNET}.{index}.1"
        self.board_ip = f"{SUBNET}.{index}.2"

    @classmethod
    def create(cls, board_id: str) -> "Netns":
        if os.geteuid() != 0 or not shutil.which("ip"):
            raise HilError('network = "netns" needs root and iproute2', board=board_id,
                           hint='use network = "host", or run as root with iproute2 installed')
        taken = set(_ip("netns", "list").stdout.split())
        for index in range(1, 250):
            netns = cls(index)
            if netns.name in taken:
                continue
            try:
                _ip("netns", "add", netns.name)
            except subprocess.CalledProcessError:
                continue  # another rack took it in the meantime
            netns._wire()
            return netns
        raise HilError("no free network namespace slot (hil-1 .. hil-249)", board=board_id,
                       hint="remove stale ones with `ip netns del hil-N`")

    def _wire(self) -> None:
        _ip("link", "del", self.host_if, check=False)  # a stale one from a killed run
        steps = [
            ("link", "add", self.host_if, "type", "veth", "peer", "name", self.board_if),
            ("link", "set", self.board_if, "netns", self.name),
            ("addr", "add", f"{self.host_ip}/30", "dev", self.host_if),
            ("link", "set", self.host_if, "up"),
            ("-n", self.name, "addr", "add", f"{self.board_ip}/30", "dev", self.board_if),
            ("-n", self.name, "link", "set", self.board_if, "up"),
            ("-n", self.name, "link", "set", "lo", "up"),
            ("-n", self.name, "route", "add", "default", "via", self.host_ip),
        ]
        for step in steps:
            _ip(*step)

    def prefix(self) -> list[str]:
        """The argv prefix that runs a program inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def cut(self) -> None:
        _ip("link", "set", self.host_if, "down")

    def restore(self) -> None:
        _ip("link", "set", self.host_if, "up")

    def delete(self) -> None:
        _ip("netns", "del", self.name, check=False)  # takes the veth pair with it
        _ip("link", "del", self.host_if, check=False)
