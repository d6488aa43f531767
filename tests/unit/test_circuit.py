"""The auto-reset circuit model: esptool's sequences give the boot mode a real board would."""

from __future__ import annotations

import threading
import time

from esp_hil.virtual.circuit import BOOTLOADER, FLASH, ResetCircuit


class Recorder:
    def __init__(self):
        self.events: list[str] = []
        self.booted = threading.Event()

    def reset(self):
        self.events.append("reset")

    def boot(self, mode):
        self.events.append(mode)
        self.booted.set()


def _circuit():
    rec = Recorder()
    return ResetCircuit(on_reset=rec.reset, on_boot=rec.boot, settle=0.01), rec


def test_opening_a_port_does_not_reset():
    circuit, rec = _circuit()
    circuit.set_lines(dtr=True)   # pyserial asserts DTR, then RTS, on open
    circuit.set_lines(rts=True)
    time.sleep(0.05)
    assert rec.events == []


def test_esptool_classic_reset_enters_the_bootloader():
    circuit, rec = _circuit()
    circuit.set_lines(dtr=True)
    circuit.set_lines(rts=True)
    # esptool ClassicReset: DTR off, RTS on, wait, DTR on, RTS off, wait, DTR off
    circuit.set_lines(dtr=False)
    circuit.set_lines(rts=True)
    time.sleep(0.02)
    circuit.set_lines(dtr=True)
    circuit.set_lines(rts=False)
    time.sleep(0.05)
    circuit.set_lines(dtr=False)
    assert rec.booted.wait(1)
    assert rec.events == ["reset", BOOTLOADER]


def test_hard_reset_boots_from_flash():
    circuit, rec = _circuit()
    circuit.set_lines(dtr=False)
    circuit.set_lines(rts=True)
    time.sleep(0.02)
    circuit.set_lines(rts=False)
    assert rec.booted.wait(1)
    assert rec.events == ["reset", FLASH]


def test_a_glitch_shorter_than_the_rc_delay_is_still_a_reset_but_boots_once():
    circuit, rec = _circuit()
    circuit.set_lines(rts=True)
    circuit.set_lines(rts=False)
    circuit.set_lines(rts=True)
    circuit.set_lines(rts=False)
    time.sleep(0.05)
    assert rec.events.count(FLASH) == 1
