# esp-hil: the `network` module of a board whose radio is a TAP link and whose access point is the rack's.
#
# WLAN(STA_IF) is the station of hil_wifi.c (_hilwifi): the link is down until connect()
# has joined the access point, and status() moves as the chip's does. The STAT_* numbers
# are the chip's (HIL_RADIO_CHIP): ESP8266's from its SDK, ESP32's from ESP-IDF's reasons.
# There is no soft-AP and no scan: WLAN(AP_IF) is never active.
import os
import _hilnet
import _hilwifi

STA_IF = 0
AP_IF = 1

if os.getenv("HIL_RADIO_CHIP") == "esp8266":  # ports/esp8266/modnetwork_globals.h
    STAT_IDLE, STAT_CONNECTING, STAT_WRONG_PASSWORD, STAT_NO_AP_FOUND, STAT_CONNECT_FAIL, STAT_GOT_IP = range(6)
else:  # ports/esp32/modnetwork.h, modnetwork_globals.h (wifi_err_reason_t)
    STAT_IDLE, STAT_CONNECTING, STAT_GOT_IP = 1000, 1001, 1010
    STAT_BEACON_TIMEOUT, STAT_NO_AP_FOUND, STAT_WRONG_PASSWORD, STAT_CONNECT_FAIL, STAT_HANDSHAKE_TIMEOUT = range(200, 205)

# _hilwifi.status() indexes this
_STATUS = (STAT_IDLE, STAT_CONNECTING, STAT_WRONG_PASSWORD, STAT_NO_AP_FOUND, STAT_GOT_IP)


class WLAN:
    IF_STA = STA_IF
    IF_AP = AP_IF

    def __init__(self, interface=STA_IF):
        self._sta = interface == STA_IF

    def active(self, *state):
        if not self._sta:
            return False
        if state:
            _hilwifi.active(bool(state[0]))
            return None
        return _hilwifi.active()

    def connect(self, ssid=None, key=None):
        self._need_sta()
        _hilwifi.connect(ssid or "", key)

    def disconnect(self):
        self._need_sta()
        _hilwifi.disconnect()

    def isconnected(self):
        return self.status() == STAT_GOT_IP

    def status(self):
        return _STATUS[_hilwifi.status()] if self._sta else None

    def ifconfig(self):
        return _hilnet.ifconfig() if self.isconnected() else ("0.0.0.0",) * 4

    def config(self, key):
        if key == "essid" and self._sta:
            return _hilwifi.essid()
        return _hilnet.config(key)

    def _need_sta(self):
        if not self._sta:
            raise OSError("STA required")
