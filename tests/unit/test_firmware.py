"""The firmware catalog: images are what their headers say, and every problem is one line."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from esp_hil.cli import main
from esp_hil.errors import HilError
from esp_hil.firmware import Catalog, describe
from esp_hil.virtual.testimage import build


@pytest.fixture
def catalog(tmp_path):
    return Catalog(tmp_path / "firmware" / "manifest.toml")


def _image(tmp_path, chip, payload=b"MicroPython v1.24.1 on 2024-11-29; ESP32 module", name=None):
    path = tmp_path / (name or f"{chip}.bin")
    path.write_bytes(build(chip, payload))
    return path


@pytest.mark.parametrize("chip, offset", [("esp32", 0x1000), ("esp8266", 0x0)])
def test_add_reads_chip_version_size_and_sha(catalog, tmp_path, chip, offset):
    path = _image(tmp_path, chip)
    fw = catalog.add(path, "fw")
    assert (fw.chip, fw.offset, fw.version, fw.size) == (chip, offset, "v1.24.1", path.stat().st_size)
    assert fw.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    again = Catalog(catalog.manifest)  # it was written down
    assert again.get("fw") == fw
    assert again.checked("fw")[1] == path.read_bytes()


def test_missing_image(tmp_path):
    with pytest.raises(HilError, match="not found"):
        describe(tmp_path / "nothing.bin")


def test_corrupt_image_is_refused(tmp_path):
    path = _image(tmp_path, "esp32")
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(HilError) as info:
        describe(path)
    assert "not a valid ESP firmware image" in str(info.value) and "\n" not in str(info.value)


def test_truncated_or_replaced_file_no_longer_matches(catalog, tmp_path):
    path = _image(tmp_path, "esp32")
    catalog.add(path, "fw")
    stored = catalog.get("fw").path(catalog.manifest)
    stored.write_bytes(stored.read_bytes()[:-10])
    with pytest.raises(HilError, match="does not match its manifest SHA-256"):
        catalog.checked("fw")
    stored.unlink()
    with pytest.raises(HilError, match="image file .* is missing"):
        catalog.checked("fw")


def test_manifest_that_lies_about_the_chip(catalog, tmp_path):
    catalog.add(_image(tmp_path, "esp8266"), "fw")
    text = catalog.manifest.read_text().replace('chip = "esp8266"', 'chip = "esp32"')
    catalog.manifest.write_text(text)
    with pytest.raises(HilError, match="the image is for esp8266, the manifest says esp32"):
        Catalog(catalog.manifest).checked("fw")


def test_unknown_firmware_and_bad_manifest(catalog, tmp_path):
    with pytest.raises(HilError, match="unknown firmware 'nope'"):
        catalog.get("nope")
    catalog.manifest.parent.mkdir(parents=True, exist_ok=True)
    catalog.manifest.write_text("[[firmware]\n")
    with pytest.raises(HilError, match="bad TOML"):
        Catalog(catalog.manifest)


def test_an_empty_catalog_says_it_is_empty(tmp_path, capsys):
    assert main(["firmware", "list", "--manifest", str(tmp_path / "manifest.toml")]) == 0
    assert "no images in" in capsys.readouterr().out


def test_adding_an_image_leaves_a_fresh_clone_clean(tmp_path, monkeypatch):
    """The catalog a user adds to is not the tracked example (that one keeps its comments)."""
    root = Path(__file__).resolve().parents[2]
    tracked = subprocess.run(["git", "ls-files", ".gitignore", "firmware"], cwd=root, capture_output=True,
                             text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    for rel in tracked:
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / rel, clone / rel)
    git = lambda *args: subprocess.run(["git", *args], cwd=clone, capture_output=True, text=True, check=True).stdout
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clone")
    before = {rel: (clone / rel).read_bytes() for rel in tracked}
    image = _image(tmp_path, "esp32", name="ESP32_GENERIC-v1.24.1.bin")
    monkeypatch.chdir(clone)
    assert main(["firmware", "add", str(image), "--name", "night"]) == 0
    assert Catalog(clone / "firmware" / "manifest.toml").get("night").chip == "esp32"
    assert git("status", "--porcelain") == ""
    assert {rel: (clone / rel).read_bytes() for rel in tracked} == before
