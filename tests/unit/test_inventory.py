"""Inventory parsing: good files load, every bad input is one line naming the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from esp_hil import inventory, places
from esp_hil.errors import HilError

GOOD = """
[[board]]
id = "bench-esp32"
chip = "esp32"
port = "/dev/serial/by-id/usb-Silicon_Labs_CP2102-if00-port0"
tags = ["esp32-lwip"]

[[board]]
id = "rack3-esp8266"
chip = "esp8266"
port = "rfc2217://rack3:4001"
baud = 115200
reset = "classic"
network = "wifi"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rack.toml"
    path.write_text(text)
    return path


def test_good_inventory_loads(tmp_path):
    inv = inventory.load(_write(tmp_path, GOOD))
    assert [b.id for b in inv.boards] == ["bench-esp32", "rack3-esp8266"]
    assert inv.get("rack3-esp8266").url == "rfc2217://rack3:4001"
    assert inv.get("bench-esp32").tags == ("esp32-lwip",)


def test_default_virtual_inventory_loads():
    inv = inventory.load(places.rack())
    assert inv.boards and all(b.virtual for b in inv.boards)


@pytest.mark.parametrize("text, words", [
    ("[[board]\nid=", "bad TOML"),
    ('[[board]]\nid = "a"\nchip = "esp32"\nport = "x"\ncolour = "red"\n', "unknown key(s) ['colour']"),
    ('[[board]]\nid = "a"\nchip = "esp32"\n', "missing 'port'"),
    ('[[board]]\nid = "a"\nchip = "esp99"\nport = "x"\n', "chip 'esp99' is not one of"),
    ('[[board]]\nid = "a"\nchip = "esp32"\nport = "x"\n[[board]]\nid = "a"\nchip = "esp32"\nport = "y"\n',
     "duplicate board id 'a'"),
    ('[[board]]\nchip = "esp32"\nport = "x"\n', "missing 'id'"),
    ('[[board]]\nid = "a"\nchip = "esp32"\nport = "x"\nreset = "button"\n', "reset 'button' is not one of"),
    ('[rack]\nname = "x"\n', "unknown top-level key(s)"),
    ('[[board]]\nid = "a"\nchip = "esp32c3"\nport = "rfc2217://rack3:4002?ign_set_control"\nreset = "usb-jtag"\n'
     'port_server = "esp_rfc2217_server"\n', "esp_rfc2217_server opens its device once"),
])
def test_bad_inventory_is_one_clear_line(tmp_path, text, words):
    with pytest.raises(HilError) as info:
        inventory.load(_write(tmp_path, text))
    message = str(info.value)
    assert words in message
    assert "\n" not in message
    assert "rack.toml" in message


def test_unknown_board_id_names_the_known_ones(tmp_path):
    inv = inventory.load(_write(tmp_path, GOOD))
    with pytest.raises(HilError, match=r"unknown board 'nope'.*known boards: bench-esp32, rack3-esp8266"):
        inv.get("nope")


def test_missing_file(tmp_path):
    with pytest.raises(HilError, match="not found"):
        inventory.load(tmp_path / "none.toml")


def test_rack_example_loads():
    inv = inventory.load(places.rack().parent / "rack-example.toml")
    assert {b.id for b in inv.boards} >= {"rack1-esp8266-a", "rack2-esp8266-b"}
