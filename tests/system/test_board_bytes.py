"""A board's bytes are data, never control (issue 14, point 3).

The raw REPL's framing holds when a program prints `\\x04` or the line brings noise;
control characters a board prints reach no person raw (terminal, results database,
reports); code that cannot go to the board as it is fails before a byte is sent.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from esp_hil.board import DeviceError
from esp_hil.errors import HilError
from esp_hil.results import ResultsStore
from esp_hil.transcript import TX
from esp_hil.virtual import faults
from tests.support import bench


@pytest.mark.parametrize("printed", ["'a' + chr(4) + 'b'", "chr(4) + '>'", "chr(4) * 3 + 'x'"])
def test_a_program_that_prints_eot_gets_its_output_back(session, printed):
    started = time.monotonic()
    expected = eval(printed) + "\n"
    assert session.exec(f"print({printed})") == expected
    with pytest.raises(DeviceError) as info:
        session.exec(f"print({printed})\nraise ValueError('after')")
    assert info.value.output == expected and info.value.exception_line == "ValueError: after"
    assert time.monotonic() - started < 2
    assert session.exec("print('next')") == "next\n"


def test_noise_on_an_idle_line_is_dropped(session, vboard):
    faults.inject(vboard, "noise", 300)
    time.sleep(0.3)
    started = time.monotonic()
    assert session.exec("print(5)") == "5\n"
    assert time.monotonic() - started < 2


def test_noise_while_a_program_runs_is_output_not_an_ending(session, vboard):
    job = session.start("import time\nprint('go')\ntime.sleep(0.5)\nprint('done')")
    job.wait_for("go")
    vboard.emit(b"\xff\x04\x00\x04>\x1b")  # noise that looks like the raw REPL's ending, then silence
    faults.inject(vboard, "noise", 300)
    started = time.monotonic()
    assert job.result(timeout=5).endswith("done\n")
    assert time.monotonic() - started < 2
    assert session.exec("print(6)") == "6\n"


@pytest.mark.parametrize("code, what", [("print('\x04')", "a raw '\\x04' on line 1 is the raw REPL's Ctrl-D"),
                                        ("x = 1\nprint('\x03')", "a raw '\\x03' on line 2 is the raw REPL's Ctrl-C"),
                                        ("print('\ud800')", "'\\ud800' on line 1 is a lone surrogate")])
def test_code_that_cannot_be_sent_fails_before_it_is_sent(session, code, what):
    mark = session.transcript.mark()
    with pytest.raises(HilError, match=re.escape(f"code cannot be sent: {what}")):
        session.exec(code)
    assert f" {TX} " not in session.transcript.render(since=mark)
    assert session.exec("print('fine')") == "fine\n"


ESCAPES = r'''
def test_board_prints_control_characters(board):
    out = board.exec("print('\\x1b[2J\\x1b]0;pwned\\x07' + chr(0) + 'end')")
    assert out == ""
'''


def test_control_characters_reach_no_reader_raw(pytester, spec, tmp_path):
    db = tmp_path / "results.sqlite"
    pytester.makepyfile(test_escapes=ESCAPES)
    result = bench.run_on(pytester, spec, db, "-rA")
    result.assert_outcomes(failed=1)
    outputs = {"terminal": "\n".join(result.outlines + result.errlines)}
    for fmt in ("md", "html"):
        report = tmp_path / f"report.{fmt}"
        subprocess.run([sys.executable, "-m", "esp_hil.cli", "report", "--db", str(db), "-o", str(report)],
                       check=True, capture_output=True)
        outputs[fmt] = report.read_text()
    with ResultsStore(db, create=False) as store:
        [row] = store.results(store.run("latest").id)
        outputs["database message"] = row.message
    for name, text in outputs.items():
        assert not any(c in text for c in "\x1b\x07\x00"), f"a raw control character in the {name}"
        assert "\\x1b[2J" in text, f"the escape is not shown in the {name}"
