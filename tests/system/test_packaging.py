"""The wheel installs names that are ours alone, and runs outside a checkout.

PyPI has packages called `harness` and `fixtures` (testing-cabal's, under testtools
and stestr): the wheel installs `esp_hil` only, so both live in one venv.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

USE_BOTH = """
import fixtures
import esp_hil.pytestplugin.fixtures.boards
from esp_hil import inventory, places

rack = places.rack()
assert "site-packages" in str(rack), rack  # no checkout here: the packaged default rack
print([b.id for b in inventory.load(rack).boards])
with fixtures.TempDir() as tmp:
    print("fixtures", tmp.path)
"""


def test_the_wheel_lives_beside_pypis_fixtures_and_runs_outside_a_checkout(tmp_path):
    source = tmp_path / "source"  # built from a copy: a build writes build/ and *.egg-info beside the sources
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".tox", "build", "results", "*.egg-info",
                                                                 "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "wheels"), str(source)],
                   check=True, capture_output=True)
    wheel = next((tmp_path / "wheels").glob("esp_hil-*.whl"))
    venv.create(tmp_path / "venv", with_pip=True)
    bin_dir = tmp_path / "venv" / "bin"
    subprocess.run([bin_dir / "pip", "install", "-q", str(wheel), "fixtures"], check=True, capture_output=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    used = subprocess.run([bin_dir / "python", "-c", USE_BOTH], cwd=outside, capture_output=True, text=True)
    assert used.returncode == 0, used.stderr
    assert "['virtual-esp32', 'virtual-esp8266']" in used.stdout and "fixtures /" in used.stdout
    top_level = next((tmp_path / "venv").glob("lib/python*/site-packages/esp_hil-*.dist-info/top_level.txt"))
    assert top_level.read_text().split() == ["esp_hil"]
    listed = subprocess.run([bin_dir / "hil", "boards"], cwd=outside, capture_output=True, text=True)
    assert listed.returncode == 0 and "virtual-esp32" in listed.stdout, listed.stderr
