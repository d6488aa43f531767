"""Secrets from the environment appear in no output of a run, in no form: terminal, JUnit XML, database,
transcripts, reports.

The values are hostile: non-ASCII, a quote, a backslash; the board echoes them raw, `repr`-escaped, as
Latin-1 bytes and one character at a time; the test fails on them in an assertion, a device exception and
its captured output.
"""

from __future__ import annotations

import subprocess
import sys

from tests.support import bench
from tests.support.secrets import leaked_forms

WIFI, WEBREPL = "wifi-Grüße\\\"'9", "Repl\"4\\pw9"

LEAKY = r'''
import os

WIFI, WEBREPL = os.environ["HIL_WIFI_PASSWORD"], os.environ["HIL_WEBREPL_PASSWORD"]

def test_board_echoes_the_secrets(board):
    # what a join or WebREPL set-up does: the secrets travel to the board and may come back
    out = board.exec(f"print({[WIFI, WEBREPL]!r}); print({WIFI!r}); print(repr({WIFI.encode()!r}))")
    assert out == WEBREPL

def test_board_echoes_one_character_at_a_time(board):
    board.exec(f"import time\nfor c in {WIFI!r}:\n    print(c, end='')\n    time.sleep(0.06)\nprint()")
    board.exec(f"import sys\nsys.stdout.buffer.write({WIFI.encode('latin-1')!r})\nprint()")
    assert board.eval(f"{WIFI!r} + ''") == WEBREPL

def test_device_raises_with_the_secret(board):
    print("host side:", WIFI, repr(WEBREPL))
    board.exec(f"raise ValueError({WIFI!r})")
'''


def test_no_output_of_a_run_holds_a_secret(pytester, spec, tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_WIFI_PASSWORD", WIFI)
    monkeypatch.setenv("HIL_WEBREPL_PASSWORD", WEBREPL)
    db = tmp_path / "results.sqlite"
    pytester.makepyfile(test_leaky=LEAKY)
    result = bench.run_on(pytester, spec, db, "--junitxml", str(tmp_path / "junit.xml"), "-rA", "-vv")
    result.assert_outcomes(failed=3)
    outputs = {"terminal": "\n".join(result.outlines + result.errlines).encode()}
    assert b"***" in outputs["terminal"]  # the transcript was shown, masked
    for fmt in ("md", "html", "json"):
        report = tmp_path / f"report.{fmt}"
        subprocess.run([sys.executable, "-m", "esp_hil.cli", "report", "--db", str(db), "-o", str(report)],
                       check=True, capture_output=True)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            outputs[str(path.relative_to(tmp_path))] = path.read_bytes()
    assert {"junit.xml", "results.sqlite", "report.md", "report.html", "report.json"} <= set(outputs)
    assert any(name.startswith("transcripts/") for name in outputs)
    forms = {form.encode() for secret in (WIFI, WEBREPL) for form in leaked_forms(secret)}
    forms |= {secret.encode("latin-1") for secret in (WIFI, WEBREPL)}
    leaks = sorted({name for name, data in outputs.items() for form in forms if form in data})
    assert not leaks, f"a form of a secret found in {leaks}"
