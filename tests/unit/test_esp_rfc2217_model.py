"""The virtual rack host's esp_rfc2217_server mode reads DTR/RTS as esptool's server does (facts:
esptool 5's esp_rfc2217_server/esp_port_manager.py), and the inventory declares it."""

from __future__ import annotations

import time

import pytest
from serial.rfc2217 import (COM_PORT_OPTION, SET_CONTROL, SET_CONTROL_DTR_OFF, SET_CONTROL_DTR_ON,
                            SET_CONTROL_RTS_OFF, SET_CONTROL_RTS_ON, SET_CONTROL_USE_NO_FLOW_CONTROL)

from esp_hil import inventory
from esp_hil.errors import HilError
from esp_hil.inventory import PortServer
from esp_hil.virtual import server


class Lines:
    """A port that records each (dtr, rts) state the chip would see."""

    baudrate = 115200

    def __init__(self):
        self._dtr = self._rts = True  # the server sets both on when a client connects
        self.states: list[tuple[bool, bool]] = []

    dtr = property(lambda self: self._dtr, lambda self, v: self.set_lines(v, self._rts))
    rts = property(lambda self: self._rts, lambda self, v: self.set_lines(self._dtr, v))

    def set_lines(self, dtr: bool, rts: bool) -> None:
        self._dtr, self._rts = dtr, rts
        self.states.append((dtr, rts))

    def write(self, data: bytes) -> None:
        pass


class Wire:
    def __init__(self):
        self.sent = b""

    def write(self, data: bytes) -> None:
        self.sent += data


@pytest.fixture
def manager(monkeypatch):
    monkeypatch.setattr(server, "RESET_HOLD", 0.0)
    monkeypatch.setattr(server, "BOOT_PIN_HOLD", 0.0)
    lines, wire = Lines(), Wire()
    m = server._EspPortManager(lines, wire)
    wire.sent = b""  # the telnet option offers every PortManager makes as it starts
    return m, lines, wire


def _send(manager, *controls: bytes) -> None:
    for control in controls:
        manager._telnet_process_subnegotiation(COM_PORT_OPTION + SET_CONTROL + control)
        time.sleep(0.05)  # the server resets in a thread of its own


def test_dtr_on_is_a_bootloader_reset_once_until_dtr_goes_off(manager):
    m, lines, wire = manager
    _send(m, SET_CONTROL_DTR_ON, SET_CONTROL_RTS_ON, SET_CONTROL_DTR_ON, SET_CONTROL_RTS_OFF)
    assert lines.states == [(False, False), (True, True), (False, True), (True, False), (False, False)]
    assert wire.sent == b""  # nothing answered: a client must not wait (?ign_set_control)
    _send(m, SET_CONTROL_DTR_OFF, SET_CONTROL_DTR_ON)
    assert lines.states[5] == (False, False) and lines.states[6:] == lines.states[:5]


def test_dtr_off_holds_en_low_and_rts_off_is_a_hard_reset(manager):
    m, lines, _ = manager
    _send(m, SET_CONTROL_DTR_OFF)
    assert lines.states == [(False, True)]  # RTS on, DTR off: EN low
    _send(m, SET_CONTROL_RTS_ON, SET_CONTROL_RTS_OFF)
    assert lines.states[1:] == [(False, True), (False, False)]


def test_rts_off_with_dtr_still_on_resets_nothing(manager):
    m, lines, _ = manager
    _send(m, SET_CONTROL_RTS_OFF)
    assert lines.states == [(True, True), (True, False)]  # both on, then GPIO0 low: EN never low


def test_other_controls_are_answered_as_pyserial_does(manager):
    m, lines, wire = manager
    _send(m, SET_CONTROL_USE_NO_FLOW_CONTROL)
    assert wire.sent and lines.states == []


def _board(**extra) -> dict:
    return {"board": [{"id": "a", "chip": "esp32", **extra}]}


def test_the_inventory_declares_the_server_with_the_url_it_prints():
    spec = inventory.parse(_board(port="rfc2217://rack3:4002?ign_set_control", port_server="esp_rfc2217_server"),
                           source="rack.toml").boards[0]
    assert spec.port_server is PortServer.ESP_RFC2217_SERVER
    assert inventory.parse(_board(port="rfc2217://rack3:4002"), source="r").boards[0].port_server is PortServer.SER2NET
    with pytest.raises(HilError, match=r"write the URL the server prints: rfc2217://rack3:4002\?ign_set_control"):
        inventory.parse(_board(port="rfc2217://rack3:4002", port_server="esp_rfc2217_server"), source="rack.toml")
    with pytest.raises(HilError, match="port_server 'sredird' is not one of ser2net, esp_rfc2217_server"):
        inventory.parse(_board(port="rfc2217://rack3:4002", port_server="sredird"), source="rack.toml")
    with pytest.raises(HilError, match="serves a port over the network, not '/dev/ttyUSB0'"):
        inventory.parse(_board(port="/dev/ttyUSB0", port_server="esp_rfc2217_server"), source="rack.toml")
