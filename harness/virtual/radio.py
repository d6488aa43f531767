"""A source-built board's Wi-Fi: the rack's virtual access point, and what of the chip's radio survives a reset.

The board's station (`variant/hil_wifi.c`) joins only the access point named here,
and its link is down until it has. The access point belongs to the rack: its SSID and
password are the lab's own, HIL_WIFI_SSID / HIL_WIFI_PASSWORD, so the harness's join
(`esp_hil.wifi`) uses the same ones; when those are unset, a rack of virtual boards
has an access point of its own (`supply_defaults`), so a run needs no setup.

A soft reset keeps the station joined: ESP-IDF's and the ESP8266 SDK's Wi-Fi drivers
live outside MicroPython's heap. A chip reset (hard reset, reflash, power cycle)
loses it: an ESP32 comes up with Wi-Fi off; an ESP8266 joins again by itself from the
config its SDK saved in flash.
"""

from __future__ import annotations

import os
from pathlib import Path

SSID_ENV = "HIL_WIFI_SSID"
PASSWORD_ENV = "HIL_WIFI_PASSWORD"
DEFAULT_SSID = "esp-hil-virtual-ap"
DEFAULT_PASSWORD = "virtual-ap-key-4417"  # not a secret, but masked like one: it is in HIL_WIFI_PASSWORD
JOINED = "joined"  # the driver's state, in RAM on a chip: written by the firmware, lost at a chip reset


def supply_defaults(environ: os._Environ | dict[str, str] = os.environ) -> None:
    """Name the rack's own access point in `environ` when the lab named none (a run of virtual boards)."""
    if not environ.get(SSID_ENV):
        environ[SSID_ENV] = DEFAULT_SSID
        environ[PASSWORD_ENV] = DEFAULT_PASSWORD


def access_point(environ: os._Environ | dict[str, str] = os.environ) -> tuple[str, str]:
    """The (SSID, password) the rack's access point has: the lab's, else the rack's own."""
    if environ.get(SSID_ENV):
        return environ[SSID_ENV], environ.get(PASSWORD_ENV, "")
    return DEFAULT_SSID, DEFAULT_PASSWORD


class Radio:
    """One board's radio: the folder its firmware keeps the Wi-Fi driver's state and saved config in."""

    def __init__(self, chip: str, folder: Path):
        self.chip = chip
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        """What the firmware reads at start: its chip's personality, its folder, the access point."""
        ssid, password = access_point()
        return {"HIL_RADIO_CHIP": self.chip, "HIL_RADIO": str(self.folder),
                "HIL_AP_SSID": ssid, "HIL_AP_PASSWORD": password}

    def chip_reset(self) -> None:
        """The chip lost power or was reset: the driver's RAM is gone (flash, and a saved config, stay)."""
        (self.folder / JOINED).unlink(missing_ok=True)
