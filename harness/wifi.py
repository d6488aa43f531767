"""Join a real board to the lab's Wi-Fi with network.WLAN(STA_IF); credentials from the environment.

The SSID and password are read from HIL_WIFI_SSID / HIL_WIFI_PASSWORD here and
nowhere else; they travel to the board inside the join code, which the transcript
masks (every HIL_*_PASSWORD value is redacted), and no error text carries them.

ESP8266 and ESP32 differ in their status codes (ESP32 uses 200+ reason codes,
ESP8266 small numbers) and the ESP8266 remembers the last network in flash and may
auto-connect: the join code compares against the board's own `network.STAT_*`
names, and disconnects first when the board is on another network.

ESP32 keeps reporting the last disconnect reason (NO_AP_FOUND, AUTH_FAIL) while it is
still retrying (`ports/esp32/network_wlan.c` retries forever by default), so one
missed scan reads as "wrong password" for a moment: a failure status is final only
once it has persisted for `SETTLE` seconds, or when the join times out on it.
"""

from __future__ import annotations

import ast

from esp_hil import secrets
from esp_hil.board import Board, DeviceError
from esp_hil.errors import HilError

JOIN_TIMEOUT = 30.0
SETTLE = 5.0  # a failure status persisting this long is the answer, not a retry in progress

# Runs on the board; prints one repr((outcome, detail)).
JOIN = """
import network, time
w = network.WLAN(network.STA_IF)
w.active(True)
if w.isconnected() and w.config('essid') != {ssid!r}:
    w.disconnect()
if not w.isconnected():
    w.connect({ssid!r}, {password!r})
names = {{getattr(network, n): n for n in dir(network) if n.startswith('STAT_')}}
fatal = ('STAT_WRONG_PASSWORD', 'STAT_NO_AP_FOUND', 'STAT_CONNECT_FAIL', 'STAT_HANDSHAKE_TIMEOUT', 'STAT_AUTH_FAIL')
t0 = time.ticks_ms()
since = None
result = None
while result is None:
    now = time.ticks_ms()
    name = names.get(w.status(), str(w.status()))
    since = (now if since is None else since) if name in fatal else None
    if w.isconnected():
        result = ('ok', w.ifconfig()[0])
    elif since is not None and time.ticks_diff(now, since) > {settle_ms}:
        result = ('fail', name)
    elif time.ticks_diff(now, t0) > {timeout_ms}:
        result = ('fail' if since is not None else 'timeout', name)
    else:
        time.sleep_ms(100)
if result[0] != 'ok':
    w.active(False)
print(repr(result))
"""

REASONS = {
    "STAT_WRONG_PASSWORD": ("wrong password", "check HIL_WIFI_PASSWORD"),
    "STAT_AUTH_FAIL": ("wrong password", "check HIL_WIFI_PASSWORD"),
    "STAT_NO_AP_FOUND": ("no access point with that SSID in range", "check HIL_WIFI_SSID and the AP"),
    "STAT_CONNECT_FAIL": ("the access point refused the connection", "check the AP's client limit and MAC filter"),
    "STAT_HANDSHAKE_TIMEOUT": ("the WPA handshake timed out", "check the password and the signal"),
}


def credentials(board_id: str) -> tuple[str, str]:
    ssid = secrets.get("HIL_WIFI_SSID")
    password = secrets.get("HIL_WIFI_PASSWORD")
    if not ssid:
        raise HilError("no Wi-Fi network configured", board=board_id,
                       hint="set HIL_WIFI_SSID and HIL_WIFI_PASSWORD in the environment")
    return ssid, password or ""


def join(board: Board, timeout: float = JOIN_TIMEOUT, settle: float = SETTLE) -> str:
    """Join the lab AP; return the board's IP address."""
    if not board.capabilities.wlan:
        raise HilError("firmware has no network.WLAN", board=board.id, hint='set network = "none" or "host"')
    ssid, password = credentials(board.id)
    board.transcript.note(f"wifi join {ssid!r}")
    code = JOIN.format(ssid=ssid, password=password, timeout_ms=int(timeout * 1000), settle_ms=int(settle * 1000))
    try:
        outcome, detail = ast.literal_eval(board.exec(code, timeout=timeout + 10).strip())
    except DeviceError as exc:
        raise HilError(f"Wi-Fi join raised {exc.exception_line}", board=board.id) from None
    if outcome == "ok":
        return detail
    if outcome == "timeout":
        raise HilError(f"no IP address from Wi-Fi {ssid!r} within {timeout:.0f}s (last status {detail})",
                       board=board.id, hint="check the AP is up and DHCP answers")
    reason, hint = REASONS.get(detail, (f"join failed ({detail})", "check the AP"))
    raise HilError(f"Wi-Fi {ssid!r}: {reason}", board=board.id, hint=hint)
