"""What a board can show, probed from its firmware (never assumed from the inventory)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

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
c['wlan'] = _has('network', 'WLAN')
c['lwip_module'] = _has('lwip')
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

    @classmethod
    def from_probe(cls, probe: dict) -> "Capabilities":
        if probe.get("lwip_module"):
            stack = LWIP_RAW
        elif probe["platform"] in ("linux", "darwin", "win32"):
            stack = POSIX
        else:
            stack = LWIP_BSD
        return cls(platform=probe["platform"], version=probe["version"], machine=probe["machine"],
                   socket=probe["socket"], poll=probe["poll"], dupterm=probe["dupterm"],
                   webrepl=probe["webrepl"], wlan=probe["wlan"], socket_stack=stack,
                   errno=dict(probe.get("errno", {})))

    @property
    def lwip(self) -> bool:
        return self.socket_stack != POSIX

    def lacks(self, name: str) -> str | None:
        """Why the board cannot show `name`, or None when it can."""
        checks = {
            "socket": (self.socket, "no socket module"),
            "poll": (self.poll, "no select.poll"),
            "dupterm": (self.dupterm, "firmware has no os.dupterm"),
            "webrepl": (self.webrepl, "firmware has no webrepl module"),
            "wlan": (self.wlan, "firmware has no network.WLAN"),
            "lwip": (self.lwip, f"sockets are {self.socket_stack}, not lwIP"),
        }
        if name not in checks:
            raise KeyError(f"unknown capability {name!r}; known: {', '.join(sorted(checks))}")
        ok, why = checks[name]
        return None if ok else f"{why} ({self.platform} MicroPython {self.version})"

    def as_dict(self) -> dict:
        return asdict(self)


KNOWN = ("socket", "poll", "dupterm", "webrepl", "wlan", "lwip")
