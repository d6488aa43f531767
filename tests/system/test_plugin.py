"""The pytest plugin as a user meets it: bench options, needs(), transcripts, bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = '''
import pytest

def test_on_board(board):
    assert board.exec("print(2 + 2)") == "4\\n"

@pytest.mark.needs("dupterm")
def test_needs_dupterm(board):
    board.exec("import os; os.dupterm")

def test_fails_with_transcript(board):
    board.exec("print('marker-in-transcript')")
    assert False
'''


@pytest.fixture
def suite(pytester):
    pytester.makepyfile(test_suite=TESTS)
    return pytester


def test_bench_port_runs_tests_skips_by_capability_and_attaches_transcripts(suite, spec):
    result = suite.runpytest_subprocess("--hil-port", spec.url, "--hil-chip", "esp32", "-rs")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    out = result.stdout.str()
    assert "test_fails_with_transcript[bench]" in out  # the board is part of the test id
    assert "board bench lacks dupterm: firmware has no os.dupterm (linux MicroPython" in out
    assert "board bench transcript" in out and "marker-in-transcript" in out
    assert "esp-hil: behaviours per board" in out and "bench: asserted suite" in out


def test_virtual_default_rack_is_started_and_stopped(pytester):
    pytester.makepyfile(test_one="def test_one(board):\n    assert board.eval('1') == 1\n")
    pytester.makefile(".toml", rack='[[board]]\nid = "v"\nchip = "esp32"\nvirtual = true\nnetwork = "host"\n')
    result = pytester.runpytest_subprocess("--hil-boards", "rack.toml")
    result.assert_outcomes(passed=1)


def test_a_rack_that_dies_without_a_word_ends_every_worker_s_wait_at_once(pytester, monkeypatch):
    """Under xdist the controller starts the rack and the workers wait on its files: a rack killed
    while its boards boot (here by its own unix port, on its first run) is seen by its lock, not by a
    timeout; each board is lost with one line."""
    killer = pytester.path / "micropython"
    killer.write_text(f"#!{sys.executable}\nimport os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n")
    killer.chmod(0o755)
    monkeypatch.setenv("HIL_MICROPYTHON", str(killer))
    pytester.makepyfile(test_x="def test_a(board):\n    pass\n\ndef test_b(board):\n    pass\n")
    boards = "".join(f'[[board]]\nid = "v{n}"\nchip = "esp32"\nvirtual = true\n' for n in (1, 2))
    pytester.makefile(".toml", rack=boards)
    result = pytester.runpytest_subprocess("--hil-boards", "rack.toml", "--hil-mode", "any", "-n", "2")
    out = result.stdout.str() + result.stderr.str()
    assert result.ret != 0
    assert out.count("virtual boards did not start: the rack process ended without a word") == 2, out
    assert "did not start within" not in out


@pytest.mark.parametrize("args, words", [
    (["--hil-boards", "missing.toml"], "inventory missing.toml not found"),
    (["--hil-board", "nope"], "unknown board 'nope'"),
    (["--hil-port", "rfc2217://127.0.0.1:1"], "--hil-port needs --hil-chip"),
    (["--hil-board-tag", "no-such-tag"], "matches tag no-such-tag"),
    (["--hil-chip", "esp32s3"], "matches chip esp32s3"),
])
def test_bad_input_is_one_line(pytester, args, words):
    pytester.makepyfile(test_x="def test_x(board):\n    pass\n")
    result = pytester.runpytest_subprocess(*args)
    assert result.ret != 0
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1 and words in errors[0]


@pytest.mark.parametrize("args", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_unreachable_port_is_one_line_plus_one_short_line_per_test(pytester, args):
    pytester.makepyfile(test_x="def test_a(board):\n    pass\n\ndef test_b(board):\n    pass\n\n"
                               "def test_c(board):\n    pass\n\ndef test_host():\n    pass\n")
    db = pytester.path / "results.sqlite"
    result = pytester.runpytest_subprocess("--hil-port", "rfc2217://127.0.0.1:9", "--hil-chip", "esp32",
                                           f"--hil-results={db}", *args)
    result.assert_outcomes(passed=1, errors=3)
    _lost_in_the_results_and_the_report(db, "bench", "cannot open rfc2217://127.0.0.1:9")
    lines = result.stdout.lines + result.stderr.lines
    problem = [line for line in lines if "cannot open rfc2217://127.0.0.1:9" in line]
    assert len(problem) == 1 and problem[0].startswith("esp-hil: board 'bench' lost: cannot open")
    assert "(check " in problem[0]  # the fix
    assert not any("During handling" in line or "Traceback" in line for line in lines)
    errors = lines[lines.index(next(l for l in lines if "= ERRORS =" in l)) + 1:]
    errors = errors[:errors.index(next(l for l in errors if l.startswith("=")))]
    errors = [line for line in errors if not line.startswith("[gw")]  # xdist names the worker
    assert len(errors) == 2 * 3  # each test: pytest's header, then one line
    assert errors[1::2] == ["board 'bench' unavailable (see above)"] * 3


def _lost_in_the_results_and_the_report(db, board_id: str, why: str) -> None:
    """Under xdist a worker lost the board: its tests' reports carried that to the recorder."""
    from esp_hil.report import model, render_md
    from esp_hil.results import ResultsStore

    store = ResultsStore(db)
    report = model.build(store)
    assert [(b.board_id, why in b.reason) for b in report.lost] == [(board_id, True)]
    assert "Boards lost" in render_md.render(report) and board_id in render_md.render(report)


QUARANTINE = '''
import pytest
from esp_hil.virtual import faults

@pytest.mark.parametrize("n", range(3))
def test_step(board, n):
    if board.id == "bad" and n == 0:
        faults.send(board.spec.url, "hang")
        faults.send(board.spec.url, "vanish", 600)
    assert board.exec(f"print({n})") == f"{n}\\n"
'''


# The run's ladder without the waits that cannot end well (tests.support.waits.short_ladder, as the in-process
# recovery tests use it); test_faults and test_board_session cover those waits themselves.
SHORT_LADDER = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from esp_hil import recovery
from tests.support.waits import short_ladder

recovery.ladder = short_ladder
"""


def test_a_lost_board_is_quarantined_and_the_others_carry_on(pytester, tmp_path):
    from esp_hil.virtual.rack import VirtualRack, specs_for

    rack = VirtualRack(specs_for("esp32", 2), workdir=tmp_path / "rack")
    live = rack.start().boards
    try:
        pytester.makefile(".toml", rack=f'''
[[board]]
id = "good"
chip = "esp32"
port = "{live[0].url}"

[[board]]
id = "bad"
chip = "esp32"
port = "{live[1].url}"
''')
        pytester.makepyfile(test_q=QUARANTINE)
        pytester.makeconftest(SHORT_LADDER)
        result = pytester.runpytest_subprocess("--hil-boards", "rack.toml", "-p", "no:randomly")
        result.assert_outcomes(passed=3, failed=1, errors=2)
        out = result.stdout.str()
        assert "esp-hil: board 'bad' lost: quarantined: port " in out
        assert out.count("board 'bad' unavailable (see above)") == 2 * 2  # each test, and its summary line
    finally:
        rack.close()


RECOVERY = '''
import pytest
from esp_hil.virtual import faults

@pytest.mark.parametrize("n", range(3))
def test_step(board, n):
    if n != 1:
        faults.send(board.spec.url, "hang")  # the next test finds the board not answering
    else:
        assert board.exec("print(1)") == "1\\n"

@pytest.mark.needs("dupterm")
def test_skipped_on_the_hung_board(board):
    pass

def test_after_the_skip(board):
    assert board.exec("print(2)") == "2\\n"
'''


def test_a_hung_board_is_brought_back_and_the_run_says_how(pytester, spec, tmp_path):
    from esp_hil.recoveries import Outcome, Step, parse
    from esp_hil.results import ResultsStore

    db = tmp_path / "results.sqlite"
    pytester.makepyfile(test_r=RECOVERY)
    pytester.makeconftest(SHORT_LADDER)
    result = pytester.runpytest_subprocess("--hil-port", spec.url, "--hil-chip", "esp32", "--hil-results", str(db),
                                           "-p", "no:randomly")
    result.assert_outcomes(passed=4, skipped=1)
    # a test the board cannot run is skipped without touching it: the next test that runs brings it back
    result.stdout.re_match_lines([r"\s+recovered: hard reset before test_step\[.*1.*\], "
                                  r"hard reset before test_after_the_skip"])
    with ResultsStore(db, create=False) as store:
        first, second, third, skipped, after = store.results(store.run("latest").id)
        recovered = [parse(r.recovery) if r.recovery else None for r in (first, second, third, skipped, after)]
        assert [r and r.step for r in recovered] == [None, Step.HARD_RESET, None, None, Step.HARD_RESET]
        assert [(a.step, a.outcome) for a in recovered[1].attempts] == [
            (Step.INTERRUPT, Outcome.FAILED), (Step.SOFT_RESET, Outcome.FAILED), (Step.HARD_RESET, Outcome.ANSWERED)]
        assert recovered[1].cause.startswith("soft reset before the test: ")
        notes = [line.split("recovery: ", 1)[1] for line in store.transcript(second).splitlines() if "recovery: " in line]
    assert [n for n in notes if "failed" not in n] == [
        "interrupt", "soft reset", "hard reset", "board answers again after hard reset"]  # the ladder, in the transcript


BROWNOUT = '''
import pytest
from esp_hil.virtual import faults

@pytest.mark.parametrize("n", range(2))
def test_step(board, n):
    if n == 0:
        faults.send(board.spec.url, "brownout")  # the image is damaged: the board boots into "no firmware"
    else:
        assert board.eval("1") == 1
'''


def test_a_board_whose_firmware_was_damaged_is_reflashed_when_the_run_has_firmware(pytester):
    from esp_hil.firmware import Catalog
    from esp_hil.virtual.testimage import build

    image = pytester.path / "fw.bin"
    image.write_bytes(build("esp32", b"MicroPython v1.24.1 reflash test " + bytes(range(256)) * 16))
    Catalog(pytester.path / "firmware" / "manifest.toml").add(image, "night")
    pytester.makefile(".toml", rack='[[board]]\nid = "v1"\nchip = "esp32"\nvirtual = true\nnetwork = "host"\n')
    pytester.makepyfile(test_b=BROWNOUT)
    pytester.makeconftest(SHORT_LADDER)
    result = pytester.runpytest_subprocess("--hil-boards", "rack.toml", "--hil-firmware", "night")
    result.assert_outcomes(passed=2)
    result.stdout.re_match_lines([r"\s+recovered: reflash before test_step\[.*1.*\]"])


def test_tag_and_chip_select_boards(pytester):
    pytester.makepyfile(test_x="def test_x(board):\n    pass\n")
    pytester.makefile(".toml", rack="""
[[board]]
id = "a"
chip = "esp32"
virtual = true
tags = ["lwip", "bench"]

[[board]]
id = "b"
chip = "esp8266"
virtual = true
tags = ["lwip"]
""")
    def ids(*args):
        result = pytester.runpytest_subprocess("--hil-boards", "rack.toml", "--collect-only", "-q", *args)
        return sorted(line.split("[")[1].rstrip("]") for line in result.stdout.lines if "::test_x[" in line)
    assert ids() == ["a", "b"]
    assert ids("--hil-board-tag", "lwip") == ["a", "b"]
    assert ids("--hil-board-tag", "lwip", "--hil-board-tag", "bench") == ["a"]
    assert ids("--hil-chip", "esp8266") == ["b"]


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "-v"])
def test_firmware_is_flashed_on_every_board_side_by_side_before_the_tests(pytester, verbose):
    from esp_hil.firmware import Catalog
    from esp_hil.virtual.testimage import build

    image = pytester.path / "fw.bin"
    image.write_bytes(build("esp32", b"MicroPython v1.24.1 plugin test " + bytes(range(256)) * 32))
    Catalog(pytester.path / "firmware" / "manifest.toml").add(image, "night")
    pytester.makefile(".toml", rack="".join(
        f'[[board]]\nid = "v{n}"\nchip = "esp32"\nvirtual = true\nnetwork = "host"\n' for n in (1, 2)))
    pytester.makepyfile(test_one="def test_one(board):\n    assert board.eval('1') == 1\n")
    result = pytester.runpytest_subprocess("--hil-boards", "rack.toml", "--hil-firmware", "night",
                                           *(["-v"] if verbose else []))
    result.assert_outcomes(passed=2)
    lines = result.stdout.lines + result.stderr.lines
    if not verbose:  # one line per board, and no esptool chatter
        flashed = [line for line in lines if "flashed night" in line]
        assert sorted(line.split(":")[1].strip() for line in flashed) == ["v1", "v2"]
        assert sum("; running MicroPython " in line for line in flashed) == 2  # the board's own answer
        assert not any(word in line for line in lines for word in ("Connecting", "VID/PID", "stub", "[v1]"))
        return
    first_done = min(i for i, line in enumerate(lines) if "running: MicroPython" in line)
    started = [i for i, line in enumerate(lines) if "connecting (default-reset)" in line]
    assert len(started) == 2 and max(started) < first_done, "the boards were flashed one after the other"
    assert sum("running: MicroPython" in line for line in lines) == 2
