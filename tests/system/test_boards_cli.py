"""`hil boards --probe` against live virtual boards."""

from __future__ import annotations

import subprocess
import sys

from esp_hil.lease import Lease


def test_table_with_probe(tmp_path, rack, monkeypatch):
    monkeypatch.setenv("HIL_LEASE_DIR", str(tmp_path / "leases"))
    spec = rack.inventory().boards[0]
    inv = tmp_path / "rack.toml"
    inv.write_text(f'[[board]]\nid = "live"\nchip = "esp32"\nport = "{spec.url}"\n\n'
                   f'[[board]]\nid = "liar"\nchip = "esp8266"\nport = "{spec.url}"\n\n'
                   '[[board]]\nid = "gone"\nchip = "esp8266"\nport = "rfc2217://127.0.0.1:9"\n\n'
                   '[[board]]\nid = "held"\nchip = "esp32"\nport = "rfc2217://127.0.0.1:10"\n')
    with Lease.acquire("held", key="rfc2217://127.0.0.1:10"):
        done = subprocess.run([sys.executable, "-m", "esp_hil.cli", "boards", "--boards", str(inv), "--probe"],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert "yes" in lines["live"] and "linux MicroPython" in lines["live"] and "socket,poll" in lines["live"]
    assert lines["live"].split()[5] == "esp32"  # what its ROM said, through esptool
    assert "esp32 (the inventory says esp8266!)" in lines["liar"]
    assert " no " in lines["gone"]
    assert "pid " in lines["held"]
