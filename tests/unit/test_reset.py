"""Reset methods: each one's gesture, recorded against a fake port, and what it does to the hardware it is for."""

from __future__ import annotations

import pytest

from esp_hil import reset
from esp_hil.errors import HilError
from esp_hil.inventory import parse
from esp_hil.virtual.circuit import FLASH, ResetCircuit


class FakePort:
    """Records line changes, writes and sleeps in order; optionally drives a reset circuit model."""

    def __init__(self, circuit: ResetCircuit | None = None):
        object.__setattr__(self, "events", [])
        object.__setattr__(self, "_circuit", circuit)

    def __setattr__(self, line: str, value: bool) -> None:  # dtr, rts
        self.events.append((line, value))
        if self._circuit:
            self._circuit.set_lines(**{line: value})

    def write(self, data: bytes) -> int:
        self.events.append(("write", bytes(data)))
        return len(data)


@pytest.fixture
def port(monkeypatch) -> FakePort:
    fake = FakePort()
    monkeypatch.setattr(reset.time, "sleep", lambda s: fake.events.append(("sleep", s)))
    return fake


def test_classic_holds_en_low_with_gpio0_high(port):
    reset.CLASSIC.hard_reset(port, "b")
    assert port.events == [("dtr", False), ("rts", True), ("sleep", 0.1), ("rts", False)]


def test_classic_gesture_boots_the_auto_reset_circuit_from_flash():
    """Against the circuit model: pyserial opens with both lines asserted (no reset); the gesture resets once."""
    seen: list[str] = []
    circuit = ResetCircuit(on_reset=lambda: seen.append("reset"), on_boot=seen.append, settle=0.0)
    circuit.set_lines(dtr=True, rts=True)
    reset.CLASSIC.hard_reset(FakePort(circuit), "b")
    circuit._timer.join(1)
    assert seen == ["reset", FLASH]


def test_usb_jtag_holds_reset_as_long_as_esptool_and_re_enumerates(port):
    reset.USB_JTAG.hard_reset(port, "b")
    assert port.events == [("dtr", False), ("rts", True), ("sleep", 0.2), ("rts", False)]
    assert reset.USB_JTAG.re_enumerates and reset.USB_JTAG.connect_mode == "usb-reset"


def test_usb_cdc_asks_the_firmware_and_never_touches_the_lines(port):
    """TinyUSB CDC has no EN: a line change could only enter the bootloader (mp_usbd_cdc.c)."""
    reset.USB_CDC.hard_reset(port, "b")
    assert all(kind in ("write", "sleep") for kind, _ in port.events)
    written = b"".join(data for kind, data in port.events if kind == "write")
    assert written.startswith(b"\r\x03\x03\x02") and written.endswith(b"machine.reset()\r")
    assert reset.USB_CDC.re_enumerates and reset.USB_CDC.esptool_resets_after_flash


def test_none_says_a_person_must_press_reset(port):
    with pytest.raises(HilError, match="no reset wiring") as err:
        reset.NONE.hard_reset(port, "bench-3")
    assert err.value.board == "bench-3" and port.events == []
    assert not reset.NONE.wired and reset.NONE.connect_mode == "no-reset"


def _one(chip: str, value: str | None = None):
    return parse({"board": [{"id": "b1", "chip": chip, "port": "/dev/x",
                             **({"reset": value} if value is not None else {})}]}, source="rack.toml").boards[0]


@pytest.mark.parametrize("chip, value, method", [
    ("esp32", None, reset.CLASSIC), ("esp8266", "classic", reset.CLASSIC), ("esp32c3", "usb-jtag", reset.USB_JTAG),
    ("esp32c6", "classic", reset.CLASSIC), ("esp32s3", "usb-cdc", reset.USB_CDC), ("esp32s2", "none", reset.NONE),
])
def test_inventory_strings_parse_once_into_their_method(chip, value, method):
    spec = _one(chip, value)
    assert spec.reset is method and str(spec.reset) == (value or "classic")


@pytest.mark.parametrize("chip, value, wanted", [
    ("esp32", "usb-reset", "reset 'usb-reset' is not one of classic, usb-jtag, usb-cdc, none"),
    ("esp32", "usb-jtag", "reset 'usb-jtag' does not exist on esp32 (only on esp32c3, esp32c6)"),
    ("esp32s3", "usb-jtag", "reset 'usb-jtag' does not exist on esp32s3"),
    ("esp8266", "usb-cdc", "reset 'usb-cdc' does not exist on esp8266"),
])
def test_a_wrong_reset_is_one_line_naming_the_board_and_the_fix(chip, value, wanted):
    with pytest.raises(HilError) as err:
        _one(chip, value)
    text = str(err.value)
    assert "\n" not in text and "board 'b1'" in text and wanted in text
    assert f"for {chip} set reset = \"classic\" or " in text
