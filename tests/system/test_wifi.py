"""The Wi-Fi join code, run on a virtual board against a scripted `network` module.

The unix port has no network.WLAN; these tests put a small scripted one on the
board's filesystem so the real join code (esp_hil.wifi) runs on a real interpreter:
joins, wrong password, no AP, timeout, and the password never shows.
"""

from __future__ import annotations

import json

import pytest

from esp_hil import wifi
from esp_hil.errors import HilError

FAKE_NETWORK = '''
import json
STA_IF = 0
STAT_IDLE, STAT_CONNECTING, STAT_WRONG_PASSWORD, STAT_NO_AP_FOUND, STAT_CONNECT_FAIL, STAT_GOT_IP = 0, 1, 2, 3, 4, 5
class WLAN:
    def __init__(self, interface):
        with open('wlan_script.json') as f:
            self._script = json.load(f)
        self._ssid = None
        self._password = None
        self._polls = 0
    def active(self, *state):
        return True
    def config(self, key):
        return self._ssid
    def connect(self, ssid, password):
        self._ssid, self._password = ssid, password
    def disconnect(self):
        self._ssid = None
    def isconnected(self):
        return self.status() == STAT_GOT_IP
    def status(self):
        s = self._script
        if self._ssid is None:
            return STAT_IDLE
        if s['mode'] == 'hang':
            return STAT_CONNECTING
        self._polls += 1
        if s['mode'] == 'missed-scan' and self._polls <= 15:
            return STAT_NO_AP_FOUND  # as ESP32 reports the last reason while it retries
        if self._ssid != s['ssid']:
            return STAT_NO_AP_FOUND
        if self._password != s['password']:
            return STAT_WRONG_PASSWORD
        return STAT_GOT_IP if self._polls > 3 else STAT_CONNECTING
    def ifconfig(self):
        return ('192.168.4.17', '255.255.255.0', '192.168.4.1', '192.168.4.1')
'''

SECRET = "correct-horse-77"


@pytest.fixture
def wlan_board(session, vboard, monkeypatch):
    (vboard.sandbox / "network.py").write_text(FAKE_NETWORK)
    monkeypatch.setenv("HIL_WIFI_SSID", "lab-ap")
    monkeypatch.setenv("HIL_WIFI_PASSWORD", SECRET)

    def script(mode: str = "ok", ssid: str = "lab-ap", password: str = SECRET) -> None:
        (vboard.sandbox / "wlan_script.json").write_text(json.dumps({"mode": mode, "ssid": ssid, "password": password}))

    session.script = script
    return session


def _no_secret(board, *texts: str) -> None:
    for text in (*texts, board.transcript.render()):
        assert SECRET not in text


def test_join_returns_the_ip(wlan_board):
    wlan_board.script("ok")
    assert wifi.join(wlan_board) == "192.168.4.17"
    _no_secret(wlan_board)


def test_a_missed_scan_is_not_the_answer(wlan_board):
    """ESP32 says NO_AP_FOUND for a while after one missed scan, then joins (FIRMWARE-FACTS)."""
    wlan_board.script("missed-scan")
    assert wifi.join(wlan_board, settle=3) == "192.168.4.17"


def test_wrong_password_is_one_clear_line(wlan_board):
    wlan_board.script("ok", password="something-else")
    with pytest.raises(HilError) as info:
        wifi.join(wlan_board, settle=1)
    assert str(info.value) == ("board 'virtual-esp32-1': Wi-Fi 'lab-ap': wrong password (check HIL_WIFI_PASSWORD)")
    _no_secret(wlan_board, str(info.value))


def test_no_access_point(wlan_board):
    wlan_board.script("ok", ssid="other-ap")
    with pytest.raises(HilError, match="no access point with that SSID"):
        wifi.join(wlan_board, settle=1)


def test_timeout(wlan_board):
    wlan_board.script("hang")
    with pytest.raises(HilError, match=r"no IP address from Wi-Fi 'lab-ap' within 1s \(last status STAT_CONNECTING\)"):
        wifi.join(wlan_board, timeout=1)


def test_missing_ssid(wlan_board, monkeypatch):
    monkeypatch.delenv("HIL_WIFI_SSID")
    with pytest.raises(HilError, match="set HIL_WIFI_SSID and HIL_WIFI_PASSWORD"):
        wifi.join(wlan_board)
