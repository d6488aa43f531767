"""The firmware catalog: firmware/manifest.toml, and what an image really is.

An image is identified by its SHA-256; its chip is read from its header with
esptool's own image loader, never taken from its name. Every problem (a missing,
truncated or corrupt file, an image for another chip, a SHA-256 that no longer
matches) is one error line, raised before any board is touched.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import esptool.bin_image as bin_image

from esp_hil.errors import HilError

# Where each chip's first image goes: the ESP32 ROM reads its bootloader at 0x1000,
# the others (ESP8266, and the S3/C3/C6 generation) at 0.
OFFSETS = {"esp32": 0x1000, "esp32s2": 0x1000, "esp8266": 0x0, "esp32s3": 0x0, "esp32c3": 0x0, "esp32c6": 0x0}
_VERSION = re.compile(rb"MicroPython (v\d+\.\d+\.\d+(?:-[0-9A-Za-z.+-]+)?)")


@dataclass(frozen=True)
class Firmware:
    name: str
    chip: str
    file: str          # relative to the manifest's folder
    sha256: str
    size: int
    offset: int
    version: str = ""

    def path(self, manifest: Path) -> Path:
        return manifest.parent / self.file


def chip_of_image(data: bytes) -> str:
    """The chip an image is built for, as esptool's image loader reads its header."""
    for chip in ("esp32", "esp32s2", "esp32s3", "esp32c3", "esp32c6", "esp8266"):
        try:
            image = bin_image.LoadFirmwareImage(chip, data)
        except Exception:  # noqa: BLE001 - a foreign header raises FatalError, RuntimeError, struct.error...
            continue
        expected_id = getattr(image.ROM_LOADER, "IMAGE_CHIP_ID", None)
        if getattr(image, "chip_id", expected_id) != expected_id:
            continue  # esptool only warns about another chip's id: for us it decides
        if image.checksum == image.calculate_checksum():
            return chip
    raise HilError("not a valid ESP firmware image (bad magic, header or checksum)",
                   hint="use the .bin from micropython.org/download or your build's firmware.bin")


def version_of(data: bytes) -> str:
    """The MicroPython version string the image carries, where it has one."""
    found = _VERSION.search(data)
    return found.group(1).decode() if found else ""


def describe(path: Path, name: str | None = None) -> Firmware:
    """A catalog entry for an image file."""
    if not path.is_file():
        raise HilError(f"firmware image {path} not found", hint="check the path")
    data = path.read_bytes()
    try:
        chip = chip_of_image(data)
    except HilError as exc:
        raise HilError(f"firmware image {path}: {exc}") from None
    return Firmware(name=name or path.stem, chip=chip, file=path.name, sha256=hashlib.sha256(data).hexdigest(),
                    size=len(data), offset=OFFSETS[chip], version=version_of(data))


class Catalog:
    """The images of a manifest, checked against their files on use."""

    def __init__(self, manifest: Path):
        self.manifest = manifest
        self.images: dict[str, Firmware] = {}
        if manifest.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = tomllib.loads(self.manifest.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise HilError(f"firmware manifest {self.manifest}: bad TOML: {exc}", hint="fix the syntax") from None
        fields = set(Firmware.__dataclass_fields__)
        for entry in data.get("firmware", []):
            unknown = set(entry) - fields
            missing = fields - set(entry) - {"version"}
            if unknown or missing:
                raise HilError(f"firmware manifest {self.manifest}: entry {entry.get('name', '?')!r} has "
                               f"{'unknown ' + str(sorted(unknown)) if unknown else 'no ' + str(sorted(missing))}",
                               hint="re-add the image with `hil firmware add FILE`")
            self.images[entry["name"]] = Firmware(**entry)

    def get(self, name: str) -> Firmware:
        if name not in self.images:
            known = ", ".join(sorted(self.images)) or "none"
            raise HilError(f"unknown firmware {name!r} in {self.manifest}", hint=f"known: {known}; add one with `hil firmware add FILE`")
        return self.images[name]

    def checked(self, name: str) -> tuple[Firmware, bytes]:
        """The entry and its bytes, after checking the file still is what the manifest says."""
        fw = self.get(name)
        path = fw.path(self.manifest)
        if not path.is_file():
            raise HilError(f"firmware {name!r}: image file {path} is missing",
                           hint="images are not in git: copy it there, or `hil firmware add` it again")
        data = path.read_bytes()
        if len(data) != fw.size or hashlib.sha256(data).hexdigest() != fw.sha256:
            raise HilError(f"firmware {name!r}: {path} does not match its manifest SHA-256 (truncated or replaced?)",
                           hint="restore the file, or `hil firmware add` it again if it changed on purpose")
        chip = chip_of_image(data)
        if chip != fw.chip:
            raise HilError(f"firmware {name!r}: the image is for {chip}, the manifest says {fw.chip}", hint="fix the manifest")
        return fw, data

    def add(self, path: Path, name: str | None = None) -> Firmware:
        """Record an image (copied beside the manifest when it lives elsewhere)."""
        fw = describe(path, name)
        target = self.manifest.parent / path.name
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        if path.resolve() != target.resolve():
            target.write_bytes(path.read_bytes())
        self.images[fw.name] = fw
        self._save()
        return fw

    def _save(self) -> None:
        lines = ["# Firmware images: `hil firmware add FILE [--name N]` writes this. The images are git-ignored.", ""]
        for fw in self.images.values():
            lines.append("[[firmware]]")
            for key, value in asdict(fw).items():
                lines.append(f"{key} = {value!r}" if isinstance(value, int) else f'{key} = "{value}"')
            lines.append("")
        self.manifest.write_text("\n".join(lines))
