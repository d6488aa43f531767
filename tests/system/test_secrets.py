"""Secrets from the environment appear in no output of a run: terminal, JUnit XML, database, reports."""

from __future__ import annotations

import subprocess
import sys

WIFI, WEBREPL = "wifi-Hunter22", "Repl4pw9"

LEAKY = '''
import os

def test_board_echoes_the_secrets(board):
    # what a join or WebREPL set-up does: the secrets travel to the board and may come back
    secrets = [os.environ["HIL_WIFI_PASSWORD"], os.environ["HIL_WEBREPL_PASSWORD"]]
    board.exec(f"print({secrets!r})")
    assert board.eval("2") == 3
'''


def test_no_output_of_a_run_holds_a_secret(pytester, spec, tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_WIFI_PASSWORD", WIFI)
    monkeypatch.setenv("HIL_WEBREPL_PASSWORD", WEBREPL)
    db = tmp_path / "results.sqlite"
    pytester.makepyfile(test_leaky=LEAKY)
    result = pytester.runpytest_subprocess("--hil-port", spec.url, "--hil-chip", "esp32", "--hil-results", str(db),
                                           "--junitxml", str(tmp_path / "junit.xml"), "-rA")
    result.assert_outcomes(failed=1)
    outputs = {"terminal": "\n".join(result.outlines + result.errlines).encode()}
    assert b"***" in outputs["terminal"]  # the transcript was shown, masked
    for fmt in ("md", "html", "json"):
        report = tmp_path / f"report.{fmt}"
        subprocess.run([sys.executable, "-m", "harness.cli", "report", "--db", str(db), "-o", str(report)],
                       check=True, capture_output=True)
    for path in tmp_path.iterdir():
        if path.is_file():
            outputs[path.name] = path.read_bytes()
    assert {"junit.xml", "results.sqlite", "report.md", "report.html", "report.json"} <= set(outputs)
    leaks = [name for name, data in outputs.items() for secret in (WIFI, WEBREPL) if secret.encode() in data]
    assert not leaks, f"secret found in {leaks}"
