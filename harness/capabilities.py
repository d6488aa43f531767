"""What a board can show, probed from its firmware (never assumed from the inventory)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Runs on the board; prints one repr(dict). Kept small: it runs once per board and session.
PROBE = r"""
import sys
c = {'platform': sys.platform, 'version': '.'.join(str(v) for v in sys.implementation.version[:3]),
     'machine': getattr(sys.implementation, '_machine', '')}
def _has(m, a=None):
    try:
        mod = __import__(m)
        return a is None or hasattr(mod, a)
    except ImportError:
        return False
c['socket'] = _has('socket', 'socket')
c['poll'] = _has('select', 'poll')
c['dupterm'] = _has('os', 'dupterm')
c['webrepl'] = _has('webrepl')
c['wlan'] = _has('network', 'WLAN') and hasattr(__import__('network').WLAN, 'connect')
c['lwip_module'] = _has('lwip')
c['asyncio'] = _has('asyncio')
try:
    import _hilnet
    c['build'] = _hilnet.build()
except ImportError:
    c['build'] = None
import errno
c['errno'] = {n: getattr(errno, n) for n in ('EAGAIN', 'ETIMEDOUT', 'ECONNRESET', 'ENOTCONN', 'EBADF', 'EINPROGRESS', 'ECONNABORTED') if hasattr(errno, n)}
print(repr(c))
del c, _has
"""

# How a board's sockets are built (FIRMWARE-FACTS: which code each behaviour lives in).
POSIX = "posix"        # unix port: the host's sockets, the reference behaviour
LWIP_RAW = "lwip-raw"  # ESP8266 (and rp2, mimxrt...): extmod/modlwip.c
LWIP_BSD = "lwip-bsd"  # ESP32: ports/esp32/modsocket.c over lwIP's BSD API


@dataclass(frozen=True)
class Capabilities:
    platform: str
    version: str
    machine: str
    socket: bool
    poll: bool
    dupterm: bool
    webrepl: bool
    wlan: bool
    socket_stack: str
    errno: dict[str, int] = field(default_factory=dict)
    # a board built from source by esp-hil: (lwIP version, MicroPython commit or tree digest, revert or "")
    source_build: tuple[str, str, str] | None = None
    asyncio: bool = False

    @classmethod
    def from_probe(cls, probe: dict) -> "Capabilities":
        if probe.get("lwip_module"):
            stack = LWIP_RAW
        elif probe["platform"] in ("linux", "darwin", "win32"):
            stack = POSIX
        else:
            stack = LWIP_BSD
        build = probe.get("build")
        return cls(platform=probe["platform"], version=probe["version"], machine=probe["machine"],
                   socket=probe["socket"], poll=probe["poll"], dupterm=probe["dupterm"],
                   webrepl=probe["webrepl"], wlan=probe["wlan"], socket_stack=stack,
                   errno=dict(probe.get("errno", {})), source_build=tuple(build[1:]) if build else None,
                   asyncio=probe.get("asyncio", False))

    @property
    def ran_on(self) -> str:
        """What a result on this board ran on, in the words every report uses."""
        if self.source_build:
            lwip, origin, revert = self.source_build
            reverted = f", {revert} reverted" if revert else ""
            return (f"built from source: MicroPython {self.version} ({origin[:12]}), lwIP {lwip} raw API "
                    f"through modlwip.c, not an ESP firmware{reverted}")
        if self.socket_stack == POSIX:
            return f"unix port: MicroPython {self.version}, POSIX sockets (not the firmware's lwIP)"
        return f"{self.platform} firmware: MicroPython {self.version}"

    @property
    def lwip(self) -> bool:
        return self.socket_stack != POSIX

    @property
    def lwip_asserts(self) -> bool:
        """lwIP's asserts are compiled in: only boards esp-hil built from source have them."""
        return self.source_build is not None

    def lacks(self, name: str) -> str | None:
        """Why the board cannot show `name`, or None when it can."""
        if name not in MISSING:
            raise KeyError(f"unknown capability {name!r}; known: {', '.join(KNOWN)}")
        if getattr(self, name):
            return None
        return f"{MISSING[name].format(socket_stack=self.socket_stack)} ({self.platform} MicroPython {self.version})"


# The capabilities a test can need (`@pytest.mark.needs`), each a `Capabilities` attribute, with why a
# board lacks it: the one list of their names.
MISSING = {
    "socket": "no socket module",
    "poll": "no select.poll",
    "asyncio": "no asyncio module",
    "dupterm": "firmware has no os.dupterm",
    "webrepl": "firmware has no webrepl module",
    "wlan": "firmware has no Wi-Fi (network.WLAN.connect)",
    "lwip": "sockets are {socket_stack}, not lwIP",
    "lwip_asserts": "lwIP's asserts are compiled out of this firmware: its misuse of lwIP is silent",
}
KNOWN = tuple(MISSING)
