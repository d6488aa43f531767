"""pytest-xdist with four virtual boards: each board's tests on one worker, every board used; one rack in any mode."""

from __future__ import annotations

import json

RACK = "\n".join(f'[[board]]\nid = "v{n}"\nchip = "esp32"\nvirtual = true\nnetwork = "host"\n' for n in range(4))

TESTS = '''
import glob, json, os, pytest, tempfile

def rack_of(url):
    """The rack process serving `url`: the owner its fault control socket is named by."""
    [control] = glob.glob(os.path.join(tempfile.gettempdir(), "hil-fault-*-" + url.rsplit(":", 1)[1] + ".ctl"))
    return os.path.basename(control).split("-")[2]

@pytest.mark.parametrize("n", range(3))
def test_where(board, n):
    with open(os.environ["WHERE_FILE"], "a") as f:
        f.write(json.dumps([board.id, os.environ.get("PYTEST_XDIST_WORKER"), board.spec.url,
                            rack_of(board.spec.url)]) + "\\n")
    assert board.eval("1 + 1") == 2
'''


def _where(path) -> list[list[str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_matrix_mode_keeps_each_board_on_one_worker(pytester, tmp_path, monkeypatch):
    monkeypatch.setenv("WHERE_FILE", str(tmp_path / "where.jsonl"))
    pytester.makefile(".toml", rack=RACK)
    pytester.makepyfile(test_d=TESTS)
    result = pytester.runpytest_subprocess("--hil-boards", "rack.toml", "-n", "4")
    result.assert_outcomes(passed=12)
    rows = _where(tmp_path / "where.jsonl")
    workers = {}
    for board_id, worker, _, _ in rows:
        workers.setdefault(board_id, set()).add(worker)
    assert sorted(workers) == ["v0", "v1", "v2", "v3"]
    assert all(len(w) == 1 for w in workers.values()), workers


def test_any_mode_runs_each_test_once_on_some_board(pytester, tmp_path, monkeypatch):
    monkeypatch.setenv("WHERE_FILE", str(tmp_path / "where.jsonl"))
    pytester.makefile(".toml", rack=RACK)
    pytester.makepyfile(test_d=TESTS)
    result = pytester.runpytest_subprocess("--hil-boards", "rack.toml", "-n", "2", "--hil-mode", "any")
    result.assert_outcomes(passed=3)
    rows = _where(tmp_path / "where.jsonl")
    assert len(rows) == 3
    assert {board_id for board_id, _, _, _ in rows} <= {"v0", "v1", "v2", "v3"}
    # two workers, each on a board of its own, both served by the one rack the controller started
    assert len({worker for _, worker, _, _ in rows}) == 2
    assert len({board_id for board_id, _, _, _ in rows}) == 2
    assert len({rack for _, _, _, rack in rows}) == 1, rows
