"""Inventory: boards/*.toml to Board specs (what a board is, not how to talk to it).

One TOML file per rack or bench::

    [[board]]
    id = "esp32-a"
    chip = "esp32"
    port = "/dev/serial/by-id/usb-Silicon_Labs_CP2102_0001-if00-port0"   # or rfc2217://rack3:4001
    baud = 115200
    reset = "classic"          # classic | usb-jtag (C3/C6) | usb-cdc (S2/S3) | none: esp_hil.reset
    # download_port = "/dev/serial/by-id/..."   usb-cdc only: the ROM's own USB device (esp_hil.romport)
    network = "wifi"           # wifi | host | netns (virtual, root) | tap (built from source) | none
    tags = ["esp32-lwip"]

A rack host that serves a board through esptool's ``esp_rfc2217_server`` says so with
``port_server = "esp_rfc2217_server"`` and the URL the server prints
(``rfc2217://rack3:4002?ign_set_control``): that server takes DTR and RTS as reset
requests, so the harness opens such a port without sending DTR (`PortServer`).

A board with ``virtual = true`` and no port is started by the harness on this machine
(``esp_hil.virtual``) and gets its ``rfc2217://127.0.0.1:PORT`` URL then.

Every error is one line naming the file (and board) and the fix.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from esp_hil.errors import HilError
from esp_hil.port import PortKind
from esp_hil.reset import CLASSIC, USB_CDC, ResetMethod
from esp_hil.reset import parse as parse_reset

CHIPS = ("esp32", "esp8266", "esp32s2", "esp32s3", "esp32c3", "esp32c6")


class Network(StrEnum):
    """How a board reaches this host, and how host peers reach it (esp_hil.network)."""

    WIFI = "wifi"    # on the lab's access point (a board built from source: on its rack's, esp_hil.virtual.radio)
    HOST = "host"    # a virtual board sharing this host's stack (loopback)
    NETNS = "netns"  # a virtual board in a namespace of its own behind a veth pair (root)
    NONE = "none"


NETWORKS = tuple(Network)


class PortServer(StrEnum):
    """What serves a board's port, which decides what DTR/RTS mean on it (esp_hil.board opens accordingly)."""

    SER2NET = "ser2net"  # the lines go through as they are: a local port, ser2net, a virtual board by default
    # esptool's server: DTR on starts its bootloader reset, DTR off holds EN low (RTS is on while a client
    # is connected), RTS off starts its hard reset; it answers none of these, hence ?ign_set_control
    ESP_RFC2217_SERVER = "esp_rfc2217_server"


IGNORE_SET_CONTROL = "ign_set_control"  # pyserial's URL option: do not wait for answers to line changes


@dataclass(frozen=True)
class BoardSpec:
    """One board as the inventory describes it."""

    id: str
    chip: str
    port: str = ""
    baud: int = 115200
    flash_baud: int = 460800
    reset: ResetMethod = CLASSIC
    network: Network = Network.NONE
    tags: tuple[str, ...] = ()
    virtual: bool = False
    address: str = ""  # the board's IP when fixed (a virtual board in its own namespace)
    peer_sockets: str = ""  # where host peers make sockets that reach it (a namespace's broker); "": this host
    pty: str = ""  # a virtual board's UART as a device path too (hil virtual --pty), for upstream's tools
    port_server: PortServer = PortServer.SER2NET
    download_port: str = ""  # usb-cdc boards: the ROM's own USB device, a by-id path (esp_hil.romport)

    @property
    def url(self) -> str:
        """The pyserial URL (a by-id path is a URL too)."""
        return self.port

    @property
    def unstarted(self) -> bool:
        """A virtual board no rack serves yet: the run starts it (a started one has its port)."""
        return self.virtual and not self.port


@dataclass
class Inventory:
    """The boards of one rack or bench, in file order."""

    source: str
    boards: list[BoardSpec] = field(default_factory=list)

    def get(self, board_id: str) -> BoardSpec:
        for spec in self.boards:
            if spec.id == board_id:
                return spec
        known = ", ".join(b.id for b in self.boards) or "none"
        raise HilError(f"unknown board {board_id!r} in {self.source}", hint=f"known boards: {known}")


_KEYS = {f for f in BoardSpec.__dataclass_fields__}


def load(path: Path | str) -> Inventory:
    """Read one inventory file."""
    path = Path(path)
    if not path.is_file():
        raise HilError(f"inventory {path} not found", hint="pass --hil-boards FILE with an existing boards/*.toml")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise HilError(f"inventory {path}: bad TOML: {exc}", hint="fix the syntax at that line") from None
    return parse(data, source=str(path))


def parse(data: dict, *, source: str) -> Inventory:
    """Validate a decoded inventory; the first problem is the error."""
    top_unknown = set(data) - {"board"}
    if top_unknown:
        raise HilError(f"inventory {source}: unknown top-level key(s) {sorted(top_unknown)}",
                       hint="only [[board]] tables are allowed")
    entries = data.get("board", [])
    if not isinstance(entries, list):
        raise HilError(f"inventory {source}: 'board' must be an array of tables", hint="write [[board]]")
    inventory = Inventory(source=source)
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        spec = _board(entry, index=index, source=source)
        if spec.id in seen:
            raise HilError(f"inventory {source}: duplicate board id {spec.id!r}", hint="give each board its own id")
        seen.add(spec.id)
        inventory.boards.append(spec)
    return inventory


def _board(entry: dict, *, index: int, source: str) -> BoardSpec:
    name = entry.get("id") if isinstance(entry.get("id"), str) else f"#{index + 1}"
    where = f"inventory {source}, board {name!r}"
    unknown = set(entry) - _KEYS
    if unknown:
        raise HilError(f"{where}: unknown key(s) {sorted(unknown)}", hint=f"allowed: {', '.join(sorted(_KEYS))}")
    if "id" not in entry or not isinstance(entry["id"], str) or not entry["id"]:
        raise HilError(f"{where}: missing 'id'", hint='add id = "some-name"')
    if not entry.get("port") and not entry.get("virtual"):
        raise HilError(f"{where}: missing 'port'",
                       hint="add port = a /dev/serial/by-id/... path or an rfc2217://host:port URL")
    chip = entry.get("chip")
    if chip not in CHIPS:
        raise HilError(f"{where}: chip {chip!r} is not one of {', '.join(CHIPS)}", hint="set chip to the board's chip")
    method = parse_reset(entry.get("reset", CLASSIC.name), chip, where)
    if "network" in entry and entry["network"] not in NETWORKS:
        raise HilError(f"{where}: network {entry['network']!r} is not one of {', '.join(NETWORKS)}",
                       hint="fix network")
    for key in ("baud", "flash_baud"):
        if key in entry and (not isinstance(entry[key], int) or entry[key] <= 0):
            raise HilError(f"{where}: {key} must be a positive integer", hint=f"e.g. {key} = 115200")
    server = _port_server(entry, method, where)
    _download_port(entry, method, where)
    tags = entry.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise HilError(f"{where}: tags must be a list of strings", hint='e.g. tags = ["esp8266-lwip"]')
    return BoardSpec(**{**entry, "tags": tuple(tags), "reset": method, "port_server": server,
                        "network": Network(entry.get("network", Network.NONE))})


def _port_server(entry: dict, method: ResetMethod, where: str) -> PortServer:
    value = entry.get("port_server", PortServer.SER2NET)
    if value not in tuple(PortServer):
        raise HilError(f"{where}: port_server {value!r} is not one of {', '.join(PortServer)}",
                       hint="esp_rfc2217_server for esptool's server, else leave it out")
    server = PortServer(value)
    port = str(entry.get("port", ""))
    if server is PortServer.ESP_RFC2217_SERVER and port and PortKind.of(port) not in (PortKind.RFC2217, PortKind.LABGRID):
        raise HilError(f"{where}: port_server {value!r} serves a port over the network, not {port!r}",
                       hint="give the rfc2217://HOST:PORT?ign_set_control URL (or labgrid://PLACE) it serves")
    if server is PortServer.ESP_RFC2217_SERVER and PortKind.of(port) is PortKind.RFC2217 \
            and IGNORE_SET_CONTROL not in port:
        raise HilError(f"{where}: esptool's esp_rfc2217_server answers no DTR/RTS change, so pyserial gives up "
                       "on opening the port", hint=f"write the URL the server prints: {port.split('?')[0]}?{IGNORE_SET_CONTROL}")
    if server is PortServer.ESP_RFC2217_SERVER and method.re_enumerates:
        # esptool 5's esp_rfc2217_server/__init__.py opens the device once, before its accept loop;
        # ser2net opens it when a connection comes (ser2net(8))
        raise HilError(f"{where}: esptool's esp_rfc2217_server opens its device once, and a board on its own USB "
                       f"(reset = \"{method}\") comes back from its first reset as a tty the server never opens",
                       hint="give the board's /dev/serial/by-id path on the host that runs the tests, or serve it "
                            "with ser2net, which opens the device for each connection")
    return server


def _download_port(entry: dict, method: ResetMethod, where: str) -> None:
    value = entry.get("download_port", "")
    if not value:
        return
    if method is not USB_CDC:
        raise HilError(f"{where}: download_port is for boards on TinyUSB CDC, whose ROM is another USB device",
                       hint='set reset = "usb-cdc" (ESP32-S2/S3 running MicroPython), or drop download_port')
    if not isinstance(value, str) or PortKind.of(value) is not PortKind.DEVICE:
        raise HilError(f"{where}: download_port {value!r} is not a device path",
                       hint="give the ROM's /dev/serial/by-id/ path on the host the board is plugged into")


def bench(port: str, chip: str) -> Inventory:
    """An inventory of one board given on the command line (--hil-port/--hil-chip)."""
    return parse({"board": [{"id": "bench", "port": port, "chip": chip}]}, source="--hil-port")


def to_toml(inventory: Inventory) -> str:
    """An inventory file for these boards: a rack writes its live one, a run hands its selection to a rack."""
    lines = [f"# written by esp-hil from {inventory.source}; ports are live while the rack serving them runs", ""]
    for b in inventory.boards:
        tags = ", ".join(f'"{t}"' for t in b.tags)
        lines += ["[[board]]", f'id = "{b.id}"', f'chip = "{b.chip}"', f'port = "{b.port}"',
                  f"baud = {b.baud}", f'reset = "{b.reset}"', f'network = "{b.network}"',
                  f'address = "{b.address}"', f'peer_sockets = "{b.peer_sockets}"',
                  *([f'pty = "{b.pty}"'] if b.pty else []),
                  *([f'port_server = "{b.port_server}"'] if b.port_server is not PortServer.SER2NET else []),
                  f"tags = [{tags}]", "virtual = true", ""]
    return "\n".join(lines)
