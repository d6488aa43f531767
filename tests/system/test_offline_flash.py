"""docs/flashing.md's offline try, command by command: read a virtual board's firmware back, catalog it, flash it, run.

Each step is the command the walkthrough prints (`python -m` for `hil`, `esptool` and
`pytest`), run in a project folder of its own (its `firmware/`, its `results/`), so the
checkout is never written. The processes counted and stopped are this test's own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from esp_hil.virtual.interpreter import find_micropython
from esp_hil.virtual.rack import unix_port_version
from tests.support import runs

SUITE = Path(__file__).resolve().parents[1] / "hil" / "test_recv_errors.py"


def _run(project: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", *args], cwd=project, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def test_read_back_add_flash_run(tmp_path):
    project = tmp_path / "project"
    (project / "firmware").mkdir(parents=True)
    rack_file = tmp_path / "virtual-rack.toml"
    image = project / "firmware" / "virtual-esp32.bin"
    rack = subprocess.Popen([sys.executable, "-m", "esp_hil.cli", "virtual", "--inventory-out", str(rack_file)],
                            cwd=project, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    ours: dict[int, int] = {}
    try:
        board_id, url = rack.stdout.readline().split()
        assert (board_id, url.startswith("rfc2217://127.0.0.1:")) == ("virtual-esp32-1", True)
        ours = runs.descendants(rack.pid)

        read = _run(project, "esptool", "--port", url, "read-flash", "0x1000", "0x1000", str(image.relative_to(project)))
        assert "Read 4096 bytes from 0x00001000" in read
        info = _run(project, "esptool", "image-info", str(image.relative_to(project)))
        assert "Detected image type: ESP32" in info
        assert re.search(r"Checksum: 0x[0-9a-f]{2} \(valid\)", info) and re.search(r"Validation hash: \w+ \(valid\)", info)

        added = _run(project, "esp_hil.cli", "firmware", "add", str(image.relative_to(project)))
        version = unix_port_version(find_micropython())
        assert f"added virtual-esp32: esp32, 4096 bytes at 0x1000, v{version}, sha256 " in added
        assert (project / "firmware" / "manifest.toml").is_file()

        flashed = _run(project, "esp_hil.cli", "flash", "--boards", str(rack_file), "--board", board_id,
                       "--firmware", "virtual-esp32", "--erase")
        assert re.fullmatch(r"virtual-esp32-1: flashed virtual-esp32 at \d+ baud in [\d.]+s; "
                            r"running MicroPython [\d.]+ \(linux\)\n", flashed), flashed

        ran = _run(project, "pytest", str(SUITE), f"--hil-boards={rack_file}", "--hil-firmware=virtual-esp32",
                   "-p", "no:cacheprovider")
        assert "esp-hil: virtual-esp32-1: already held virtual-esp32" in ran
        assert re.search(r"\b1 passed\b", ran), ran
        assert (project / "results" / "results.sqlite").is_file()  # the run's results are the project's
    finally:
        rack.terminate()  # `kill %1`
        assert rack.wait(timeout=15) == 0
        runs.kill(ours)
    assert runs.wait_until(lambda: not runs.alive(ours), timeout=5)
    assert not rack_file.exists()
