"""Valid ESP32 / ESP32-S3 / ESP8266 firmware images, built with esptool's own image classes.

A virtual board boots what its flash holds, so it needs images that esptool and the
boot check accept: the right magic, segments and checksum. The payload is a marker
string (e.g. the MicroPython version the virtual firmware stands for); nothing in it
runs: the run mode is always the unix port.
"""

from __future__ import annotations

import esptool.bin_image as bin_image


# ESP32-family images: esptool's image class, an entry point in IRAM, a DRAM address for the payload.
_ESP32_FAMILY = {
    "esp32": (bin_image.ESP32FirmwareImage, 0x40080000, 0x3FFB0000),
    "esp32s3": (bin_image.ESP32S3FirmwareImage, 0x40375000, 0x3FC88000),
}


def build(chip: str, payload: bytes = b"MicroPython virtual firmware") -> bytes:
    """An image for `chip` carrying `payload` in one data segment."""
    data = payload + b"\0" * (-len(payload) % 4 or 4)
    if chip in _ESP32_FAMILY:
        image_class, entrypoint, dram = _ESP32_FAMILY[chip]
        image = image_class()
        image.entrypoint = entrypoint
        image.segments = [_segment(dram, data)]
        return image.save(None)
    if chip == "esp8266":
        image = bin_image.ESP8266ROMFirmwareImage()
        image.entrypoint = 0x40100000
        image.segments = [_segment(0x3FFE8000, data)]
        _irom, other = image.save(None)
        return other
    raise ValueError(f"no test image for chip {chip!r}")


def _segment(addr: int, data: bytes) -> bin_image.ImageSegment:
    segment = bin_image.ImageSegment(addr, data)
    segment.name = ".data"  # esptool's save() names segments in its log
    return segment
