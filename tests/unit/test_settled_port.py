"""SettledPort: a line setting assigned the value it has is not sent to the port again."""

from __future__ import annotations

import serial

from esp_hil.transport.serial import SettledPort


class CountingLoop(serial.serial_for_url("loop://", do_not_open=True).__class__):
    """pyserial's loopback port, counting how often it applies its settings to the line."""

    applied = 0

    def _reconfigure_port(self, *args, **kwargs):
        type(self).applied += 1
        return super()._reconfigure_port(*args, **kwargs)

    def _update_dtr_state(self):
        type(self).applied += 1
        return super()._update_dtr_state()


def _port() -> CountingLoop:
    CountingLoop.applied = 0
    port = CountingLoop("loop://", baudrate=115200, timeout=3.0)
    CountingLoop.applied = 0
    return port


def test_a_setting_assigned_its_own_value_is_not_applied_again():
    port = _port()
    settled = SettledPort(port)
    settled.baudrate = 115200
    settled.timeout = 3.0
    settled.dtr = port.dtr
    assert CountingLoop.applied == 0


def test_a_changed_setting_reaches_the_port():
    port = _port()
    settled = SettledPort(port)
    settled.baudrate = 460800
    settled.timeout = 0.1
    settled.dtr = not port.dtr
    assert (port.baudrate, port.timeout, CountingLoop.applied) == (460800, 0.1, 3)
    settled.write(b"ping")
    assert settled.read(4) == b"ping"  # everything else is the port's own
