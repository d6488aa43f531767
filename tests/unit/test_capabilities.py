"""Capabilities: the socket stack is told from what the firmware reports."""

from __future__ import annotations

import pytest

from esp_hil.capabilities import KNOWN, LWIP_BSD, LWIP_RAW, POSIX, Capabilities

BASE = {"version": "1.28.0", "machine": "", "socket": True, "poll": True, "dupterm": True,
        "webrepl": True, "wlan": True, "lwip_module": False, "errno": {"EAGAIN": 11}}


def test_unix_port_is_posix_and_lacks_lwip():
    caps = Capabilities.from_probe({**BASE, "platform": "linux", "dupterm": False, "webrepl": False, "wlan": False})
    assert caps.socket_stack == POSIX
    assert "not lwIP" in caps.lacks("lwip")
    assert "os.dupterm" in caps.lacks("dupterm")
    assert caps.lacks("socket") is None


def test_esp8266_is_lwip_raw():
    caps = Capabilities.from_probe({**BASE, "platform": "esp8266", "lwip_module": True})
    assert caps.socket_stack == LWIP_RAW and caps.lacks("lwip") is None


def test_esp32_is_lwip_bsd():
    assert Capabilities.from_probe({**BASE, "platform": "esp32"}).socket_stack == LWIP_BSD


def test_unknown_capability_is_an_error():
    caps = Capabilities.from_probe({**BASE, "platform": "esp32"})
    with pytest.raises(KeyError, match="unknown capability"):
        caps.lacks("teleport")


def test_asyncio_is_probed_and_old_probes_lack_it():
    assert Capabilities.from_probe({**BASE, "platform": "esp32", "asyncio": True}).lacks("asyncio") is None
    assert "no asyncio module" in Capabilities.from_probe({**BASE, "platform": "esp8266"}).lacks("asyncio")


def test_every_known_capability_is_answered():
    caps = Capabilities.from_probe({**BASE, "platform": "esp32", "webrepl": False})
    answers = {name: caps.lacks(name) for name in KNOWN}
    assert answers["socket"] is None and "webrepl module" in answers["webrepl"]
    assert "asserts are compiled out" in answers["lwip_asserts"]  # only boards built from source have them
    assert answers["lwip"] is None
