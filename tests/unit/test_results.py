"""Results store: every result committed as it comes, safe with several writers, mergeable."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from esp_hil.errors import HilError
from esp_hil.results import SCHEMA_VERSION, ResultsStore, merge

ROOT = Path(__file__).resolve().parents[2]


def _run(store: ResultsStore, suite: str = "tests/hil", git_rev: str | None = "abc") -> str:
    return store.start_run(suite=suite, command="pytest tests/hil", git_rev=git_rev, host="rack3")


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_a_run_round_trips(tmp_path):
    db = tmp_path / "r.sqlite"
    with ResultsStore(db) as store:
        run_id = _run(store)
        store.add_board(run_id, board_id="esp32-a", chip="esp32", url="rfc2217://rack3:4001", virtual=False,
                        firmware_name="ESP32_GENERIC", firmware_version="v1.24.0", firmware_sha256="ab" * 32)
        store.record(run_id, test_id="t.py::test_x[esp32-a]", board_id="esp32-a", outcome="failed",
                     duration=1.5, message="boom", transcript="tx hello\nrx world\n")
        store.record(run_id, test_id="t.py::test_y", board_id=None, outcome="passed", duration=0.1)
        store.end_run(run_id)
    with ResultsStore(db, create=False) as store:
        run = store.run("latest")
        assert (run.id, run.suite, run.git_rev, run.host) == (run_id, "tests/hil", "abc", "rack3")
        assert run.ended is not None and run.started <= run.ended
        [board] = store.boards(run_id)
        assert (board.chip, board.virtual, board.firmware_version) == ("esp32", False, "v1.24.0")
        failed, passed = store.results(run_id)
        assert (failed.outcome, failed.duration, failed.message, failed.board_id) == ("failed", 1.5, "boom", "esp32-a")
        assert failed.transcript.startswith(f"transcripts/{run_id}/")
        assert store.transcript(failed) == "tx hello\nrx world\n"
        assert passed.transcript is None and store.transcript(passed) is None


def test_schema_is_versioned_and_in_wal_mode(tmp_path):
    db = tmp_path / "r.sqlite"
    ResultsStore(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_database_of_an_older_schema_is_upgraded_and_keeps_its_results(tmp_path):
    from esp_hil.results import _MIGRATIONS

    db = tmp_path / "v1.sqlite"
    old = sqlite3.connect(db)
    for statement in _MIGRATIONS[0]:
        old.execute(statement)
    old.execute("INSERT INTO runs VALUES ('r1', 'tests/hil', '2026-11-01T00:00:00Z', NULL, NULL, 'rack3', 'pytest')")
    old.execute("""INSERT INTO results VALUES ('u1', 'r1', 't.py::test_x', NULL, 'passed', 1.0, '', NULL, 1,
                                               '2026-11-01T00:00:01Z')""")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    with ResultsStore(db) as store:
        [result] = store.results("r1")
        assert (result.test_id, result.recovery) == ("t.py::test_x", None)
        store.record("r1", test_id="t.py::test_y", board_id=None, outcome="passed", duration=1, recovery="reopen port")
        assert [r.recovery for r in store.results("r1")] == [None, "reopen port"]


def test_metrics_are_kept_per_result_upgraded_from_schema_4_and_merged(tmp_path):
    """A multitest's OUTPUT_METRIC lines: in order, as printed; a result without them has none."""
    from esp_hil.results import _MIGRATIONS

    db = tmp_path / "v4.sqlite"
    old = sqlite3.connect(db)
    for statements in _MIGRATIONS[:4]:
        for statement in statements:
            old.execute(statement)
    old.execute("INSERT INTO runs (id, suite, started, host, command) VALUES ('r1', 'multi_net', "
                "'2026-11-01T00:00:00Z', 'rack3', 'pytest')")
    old.execute("""INSERT INTO results (uid, run_id, test_id, outcome, duration, finished) VALUES
                   ('u1', 'r1', 'multi_net/a.py::instance0[b]', 'passed', 1.0, '2026-11-01T00:00:01Z')""")
    old.execute("PRAGMA user_version = 4")
    old.commit()
    old.close()
    lines = ["Received 4096/4096 bytes in 310 ms. 13212 B/s", "Did 10 writes in 55 ms"]
    with ResultsStore(db) as store:
        store.record("r1", test_id="multi_net/b.py::instance0[b]", board_id=None, outcome="failed", duration=1,
                     metrics=lines)
        assert [r.metrics for r in store.results("r1")] == [(), tuple(lines)]
    merge([db], tmp_path / "merged.sqlite")
    with ResultsStore(tmp_path / "merged.sqlite", create=False) as store:
        assert [r.metrics for r in store.results("r1")] == [(), tuple(lines)]


def test_run_ids_are_unique_and_resolvable_by_prefix(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        ids = [_run(store) for _ in range(20)]
        assert len(set(ids)) == 20
        assert store.run("latest").id == ids[-1]
        assert store.run(ids[3][:-2]).id == ids[3]
        assert store.previous(store.run(ids[3])).id == ids[2]
        assert store.previous(store.run(ids[0])) is None


def test_add_board_again_updates_and_keeps_what_was_known(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        run_id = _run(store)
        store.add_board(run_id, board_id="b", chip="esp32", url="u", virtual=False, firmware_version="v1.24")
        store.add_board(run_id, board_id="b", chip="esp32", url="u", virtual=False, lost="no REPL prompt")
        [board] = store.boards(run_id)
        assert (board.firmware_version, board.lost) == ("v1.24", "no REPL prompt")


def test_what_comes_from_outside_a_report_is_cleaned_before_it_is_written(tmp_path, monkeypatch):
    """The command line and why a board was lost; a result's message and transcript come from pytest's
    report, cleaned once there for every output (tests/system/test_secrets.py checks the database too)."""
    monkeypatch.setenv("HIL_WIFI_PASSWORD", "hunter22")
    monkeypatch.setenv("HIL_WEBREPL_PASSWORD", "s3cret")
    db = tmp_path / "r.sqlite"
    with ResultsStore(db) as store:
        run_id = store.start_run(suite="s", command="pytest --x=hunter22 \x1b[2J", git_rev=None, host="h")
        store.add_board(run_id, board_id="b", chip=None, url=None, virtual=True, lost="webrepl s3cret refused")
    on_disk = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"hunter22" not in on_disk and b"s3cret" not in on_disk and b"\x1b[2J" not in on_disk
    with ResultsStore(db) as store:
        assert store.run(run_id).command == "pytest --x=*** \\x1b[2J"
        assert store.boards(run_id)[0].lost == "webrepl *** refused"


def test_unknown_outcome_is_refused(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        with pytest.raises(ValueError, match="outcome"):
            store.record(_run(store), test_id="t", board_id=None, outcome="crashed", duration=0)


def test_missing_empty_or_foreign_databases_are_clear_errors(tmp_path):
    with pytest.raises(HilError, match="no results database"):
        ResultsStore(tmp_path / "nope.sqlite", create=False)
    with ResultsStore(tmp_path / "empty.sqlite") as store, pytest.raises(HilError, match="no runs recorded"):
        store.run("latest")
    (tmp_path / "junk.sqlite").write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(HilError, match="not a results database"):
        ResultsStore(tmp_path / "junk.sqlite")
    other = sqlite3.connect(tmp_path / "other.sqlite")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    with pytest.raises(HilError, match="not a results database"):
        ResultsStore(tmp_path / "other.sqlite")
    newer = sqlite3.connect(tmp_path / "newer.sqlite")
    newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer.commit()
    with pytest.raises(HilError, match="newer"):
        ResultsStore(tmp_path / "newer.sqlite")


def test_unknown_run_id_names_the_latest_runs(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        run_id = _run(store)
        with pytest.raises(HilError, match="no run 'zzz'") as err:
            store.run("zzz")
        assert run_id in str(err.value)


_WRITER = textwrap.dedent("""
    import sys
    from esp_hil.results import ResultsStore
    db, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = ResultsStore(db)
    run_id = store.start_run(suite="s", command="w", git_rev=None, host=f"worker{worker}")
    store.add_board(run_id, board_id=f"b{worker}", chip="esp32", url=None, virtual=True)
    for i in range(count):
        store.record(run_id, test_id=f"t.py::test_{i}", board_id=f"b{worker}", outcome="passed",
                     duration=0.01, transcript="x" if i % 50 == 0 else None)
    store.end_run(run_id)
""")


def test_four_processes_writing_at_once_lose_nothing(tmp_path):
    db = tmp_path / "shared" / "r.sqlite"  # does not exist yet: the writers race to create it too
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(db), str(n), "200"], env=_child_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for n in range(4)]
    for w in writers:
        _, err = w.communicate(timeout=60)
        assert w.returncode == 0, err.decode()
    with ResultsStore(db, create=False) as store:
        runs = store.runs()
        assert len(runs) == 4 and all(r.ended for r in runs)
        assert sorted(len(store.results(r.id)) for r in runs) == [200] * 4
        assert store._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"


_FOREVER = textwrap.dedent("""
    import sys
    from esp_hil.results import ResultsStore
    store = ResultsStore(sys.argv[1])
    run_id = store.start_run(suite="s", command="killed", git_rev=None, host="h")
    i = 0
    while True:
        store.record(run_id, test_id=f"t.py::test_{i}", board_id=None, outcome="passed", duration=0.01,
                     transcript=f"transcript {i}")
        i += 1
        print(i, flush=True)
""")


def test_a_run_killed_midway_keeps_every_finished_result(tmp_path):
    db = tmp_path / "r.sqlite"
    child = subprocess.Popen([sys.executable, "-c", _FOREVER, str(db)], env=_child_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reported = 0
    for line in child.stdout:  # each line: one more result committed
        reported = int(line)
        if reported >= 30:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert reported >= 30, child.stderr.read()
    with ResultsStore(db, create=False) as store:
        run = store.run("latest")
        assert run.ended is None  # it never got to end the run
        results = store.results(run.id)
        assert len(results) >= reported
        assert [r.test_id for r in results[:reported]] == [f"t.py::test_{i}" for i in range(reported)]
        assert all(store.transcript(r) == f"transcript {i}" for i, r in enumerate(results[:reported]))
        assert store._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _host_db(folder: Path, host: str, outcome: str) -> str:
    with ResultsStore(folder / "results.sqlite") as store:
        run_id = store.start_run(suite="tests/hil", command="pytest", git_rev="abc", host=host)
        store.add_board(run_id, board_id=f"{host}-esp32", chip="esp32", url=None, virtual=False)
        store.record(run_id, test_id=f"t.py::test_x[{host}-esp32]", board_id=f"{host}-esp32", outcome=outcome,
                     duration=1.0, message=f"from {host}", transcript=f"transcript of {host}")
        store.end_run(run_id)
    return run_id


def test_merge_brings_hosts_together_with_transcripts_and_adds_nothing_twice(tmp_path):
    run_a = _host_db(tmp_path / "a", "rack1", "passed")
    run_b = _host_db(tmp_path / "b", "rack2", "failed")
    dest = tmp_path / "all" / "merged.sqlite"
    counts = merge([tmp_path / "a" / "results.sqlite", tmp_path / "b" / "results.sqlite"], dest)
    assert (counts.runs, counts.results, counts.transcripts) == (2, 2, 2)
    again = merge([tmp_path / "a" / "results.sqlite", tmp_path / "b" / "results.sqlite"], dest)
    assert (again.runs, again.results) == (0, 0)
    with ResultsStore(dest, create=False) as store:
        assert {r.id for r in store.runs()} == {run_a, run_b}
        [result_b] = store.results(run_b)
        assert (result_b.outcome, result_b.message) == ("failed", "from rack2")
        assert store.transcript(result_b) == "transcript of rack2"
        assert [b.board_id for b in store.boards(run_a)] == ["rack1-esp32"]


def test_merge_refuses_missing_sources_and_itself(tmp_path):
    _host_db(tmp_path, "rack1", "passed")
    with pytest.raises(HilError, match="no results database"):
        merge([tmp_path / "missing.sqlite"], tmp_path / "out.sqlite")
    with pytest.raises(HilError, match="into itself"):
        merge([tmp_path / "results.sqlite"], tmp_path / "results.sqlite")
