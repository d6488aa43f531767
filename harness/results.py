"""The results store: every run, board and test result in one SQLite file, kept for good.

Each result is committed as its test finishes, so a run that is killed keeps everything
recorded before it. Several processes may write one file at once (xdist workers, a
report read while a run writes): WAL mode, a busy timeout and `BEGIN IMMEDIATE` make
SQLite take them one at a time. Rack hosts each keep a file of their own (WAL is not
safe on a network share); `merge` brings them together.

Transcripts are files beside the database (`transcripts/<run id>/...`); rows hold their
path relative to the database's folder, so a database and its `transcripts/` folder can
be moved or merged together.

What is written is clean (`esp_hil.outbound`): a result's message and transcript come
from pytest's report, cleaned once for every output made from it; the store cleans
what it is given from elsewhere (the command line, why a board was lost).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Iterator, Sequence

from esp_hil.errors import HilError
from esp_hil.outbound import clean

SCHEMA_VERSION = 5
OUTCOMES = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")
TRANSCRIPTS = "transcripts"
BUSY_TIMEOUT = 60.0  # seconds a writer waits for another to finish its commit

# One entry per schema version: the statements that take `user_version` i to i + 1.
_MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE runs (
            id      TEXT PRIMARY KEY,         -- unique across hosts: time, host, random
            suite   TEXT NOT NULL,            -- what was run (test paths); baselines must match
            started TEXT NOT NULL,            -- ISO 8601, UTC
            ended   TEXT,                     -- NULL: still running, or killed
            git_rev TEXT,                     -- revision of the tests, NULL outside git
            host    TEXT NOT NULL,
            command TEXT NOT NULL             -- redacted
        )""",
        """CREATE TABLE boards (
            run_id           TEXT NOT NULL REFERENCES runs(id),
            board_id         TEXT NOT NULL,
            chip             TEXT,
            url              TEXT,
            virtual          INTEGER NOT NULL,
            firmware_name    TEXT,
            firmware_version TEXT,
            firmware_sha256  TEXT,
            lost             TEXT,            -- why the board was lost; NULL if it was not
            PRIMARY KEY (run_id, board_id)
        )""",
        """CREATE TABLE results (
            uid        TEXT PRIMARY KEY,      -- unique across hosts, so merging twice adds nothing
            run_id     TEXT NOT NULL REFERENCES runs(id),
            test_id    TEXT NOT NULL,
            board_id   TEXT,                  -- NULL: the test needs no board
            outcome    TEXT NOT NULL CHECK (outcome IN
                           ('passed', 'failed', 'skipped', 'error', 'xfailed', 'xpassed')),
            duration   REAL NOT NULL,         -- seconds
            message    TEXT NOT NULL DEFAULT '',  -- redacted
            transcript TEXT,                  -- path relative to the database's folder
            attempt    INTEGER NOT NULL DEFAULT 1,
            finished   TEXT NOT NULL          -- ISO 8601, UTC
        )""",
        "CREATE INDEX results_by_run ON results (run_id, test_id)",
        "CREATE INDEX runs_by_suite ON runs (suite, started)",
    ),
    (
        # the recovery ladder step that brought the board back before this test; NULL: none was needed
        "ALTER TABLE results ADD COLUMN recovery TEXT",
    ),
    (
        # what the board's results ran on, as its firmware reported it (unix port, built from source, a board)
        "ALTER TABLE boards ADD COLUMN ran_on TEXT",
    ),
    (
        # how the run ended (Ending); NULL: still running, or killed before it could say
        "ALTER TABLE runs ADD COLUMN ending TEXT",
        "UPDATE runs SET ending = 'finished' WHERE ended IS NOT NULL",
    ),
    (
        # what the test measured (a multitest's OUTPUT_METRIC lines), a JSON list of strings; NULL: nothing
        "ALTER TABLE results ADD COLUMN metrics TEXT",
    ),
]


class Ending(str, Enum):
    """How a run ended. A run with none is still going, or was killed outright (SIGKILL, a host crash)."""
    FINISHED = "finished"        # pytest reached its end: every collected test had its turn
    INTERRUPTED = "interrupted"  # Ctrl-C or a signal: the tests after that point did not run


@dataclass(frozen=True)
class Run:
    id: str
    suite: str
    started: str
    ended: str | None
    git_rev: str | None
    host: str
    command: str
    ending: Ending | None = None

    @property
    def complete(self) -> bool:
        """Every test it collected had its turn: what is missing from it was removed, not cut short."""
        return self.ending is Ending.FINISHED


@dataclass(frozen=True)
class BoardRow:
    """A board of a run, as the store keeps it (`esp_hil.board.Board` is a session on one)."""

    run_id: str
    board_id: str
    chip: str | None
    url: str | None
    virtual: bool
    firmware_name: str | None
    firmware_version: str | None
    firmware_sha256: str | None
    lost: str | None
    ran_on: str | None = None  # capabilities.ran_on: PyPI unix port, built from source, or real firmware


@dataclass(frozen=True)
class Result:
    uid: str
    run_id: str
    test_id: str
    board_id: str | None
    outcome: str
    duration: float
    message: str
    transcript: str | None
    attempt: int
    finished: str
    recovery: str | None = None  # the ladder step that brought the board back before this test
    metrics: tuple[str, ...] = ()  # what the test measured, as it printed it (a multitest's OUTPUT_METRIC)


@dataclass(frozen=True)
class MergeCounts:
    runs: int
    results: int
    transcripts: int


class ResultsStore:
    """One SQLite results file. Each process (or xdist worker) opens its own.

    `create=False` is for readers: a missing file is an error, not a new empty store.
    """

    def __init__(self, path: Path | str, *, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise HilError(f"no results database at {self.path}",
                           hint="run the suite first (pytest --hil-results PATH), or pass --db PATH")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._pid = -1
        self._db: sqlite3.Connection | None = None
        self._conn()

    # -- writing: what the pytest plugin calls --------------------------------------------

    def start_run(self, *, suite: str, command: str, git_rev: str | None, host: str) -> str:
        """Open a run and return its id (readable, sortable, unique across hosts)."""
        now = datetime.now(timezone.utc)
        run_id = f"{now:%Y%m%dT%H%M%SZ}-{_slug(host, 24)}-{uuid.uuid4().hex[:8]}"
        with self._transaction() as db:
            db.execute("INSERT INTO runs (id, suite, started, git_rev, host, command) VALUES (?, ?, ?, ?, ?, ?)",
                       (run_id, suite, _iso(now), git_rev, host, clean(command)))
        return run_id

    def add_board(self, run_id: str, *, board_id: str, chip: str | None, url: str | None, virtual: bool,
                  firmware_name: str | None = None, firmware_version: str | None = None,
                  firmware_sha256: str | None = None, lost: str | None = None, ran_on: str | None = None) -> None:
        """Record a board of the run; again for the same board updates it (a None keeps what was known)."""
        with self._transaction() as db:
            db.execute(
                """INSERT INTO boards (run_id, board_id, chip, url, virtual, firmware_name, firmware_version,
                                       firmware_sha256, lost, ran_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (run_id, board_id) DO UPDATE SET
                       chip = coalesce(excluded.chip, chip), url = coalesce(excluded.url, url),
                       virtual = excluded.virtual,
                       firmware_name = coalesce(excluded.firmware_name, firmware_name),
                       firmware_version = coalesce(excluded.firmware_version, firmware_version),
                       firmware_sha256 = coalesce(excluded.firmware_sha256, firmware_sha256),
                       lost = coalesce(excluded.lost, lost), ran_on = coalesce(excluded.ran_on, ran_on)""",
                (run_id, board_id, chip, url, int(bool(virtual)), firmware_name, firmware_version,
                 firmware_sha256, clean(lost) if lost else None, ran_on))

    def record(self, run_id: str, *, test_id: str, board_id: str | None, outcome: str, duration: float,
               message: str = "", transcript: str | None = None, attempt: int = 1,
               recovery: str | None = None, metrics: Sequence[str] = ()) -> None:
        """Commit one result now; its transcript goes to a file first, so no row points at nothing.

        `message`, `transcript` and `metrics` are written as given: cleaned text, as pytest's report holds it.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        uid = uuid.uuid4().hex
        rel = self._save_transcript(run_id, uid, test_id, transcript) if transcript is not None else None
        with self._transaction() as db:
            db.execute("""INSERT INTO results (uid, run_id, test_id, board_id, outcome, duration, message,
                                               transcript, attempt, finished, recovery, metrics)
                          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                       (uid, run_id, test_id, board_id, outcome, float(duration), message or "",
                        rel, int(attempt), _iso(datetime.now(timezone.utc)), recovery,
                        json.dumps(list(metrics)) if metrics else None))

    def end_run(self, run_id: str, ending: Ending = Ending.FINISHED) -> None:
        with self._transaction() as db:
            db.execute("UPDATE runs SET ended = ?, ending = ? WHERE id = ?",
                       (_iso(datetime.now(timezone.utc)), ending.value, run_id))

    # -- reading: what the report needs ----------------------------------------------------

    def runs(self, suite: str | None = None) -> list[Run]:
        """All runs (of one suite), oldest first."""
        sql = "SELECT * FROM runs" + (" WHERE suite = ?" if suite is not None else "") + " ORDER BY started, id"
        return [_run(row) for row in self._conn().execute(sql, (suite,) if suite is not None else ())]

    def run(self, ref: str = "latest") -> Run:
        """A run by id, unique id prefix, or `latest` (the last that recorded a result); a clear error otherwise."""
        runs = self.runs()
        if not runs:
            raise HilError(f"no runs recorded in {self.path}", hint="run the suite with --hil-results pointing here")
        if ref == "latest":
            row = self._conn().execute(f"SELECT * FROM runs WHERE {_HAS_RESULTS} ORDER BY started DESC, id DESC "
                                       "LIMIT 1").fetchone()
            return _run(row) if row else runs[-1]
        found = [r for r in runs if r.id == ref] or [r for r in runs if r.id.startswith(ref)]
        if len(found) == 1:
            return found[0]
        recent = ", ".join(r.id for r in runs[-3:])
        if found:
            raise HilError(f"run id {ref!r} is ambiguous in {self.path} ({len(found)} runs match)",
                           hint="give more of the id")
        raise HilError(f"no run {ref!r} in {self.path}", hint=f"latest runs: {recent}; `hil results list` shows all")

    def previous(self, run: Run) -> Run | None:
        """The last run of the same suite started before `run`: the default baseline."""
        row = self._conn().execute(
            "SELECT * FROM runs WHERE suite = ? AND (started < ? OR (started = ? AND id < ?)) "
            "ORDER BY started DESC, id DESC LIMIT 1", (run.suite, run.started, run.started, run.id)).fetchone()
        return _run(row) if row else None

    def boards(self, run_id: str) -> list[BoardRow]:
        rows = self._conn().execute("SELECT * FROM boards WHERE run_id = ? ORDER BY board_id", (run_id,))
        return [BoardRow(**{**dict(row), "virtual": bool(row["virtual"])}) for row in rows]

    def results(self, run_id: str) -> list[Result]:
        """In the order they were recorded."""
        rows = self._conn().execute("SELECT * FROM results WHERE run_id = ? ORDER BY finished, rowid", (run_id,))
        return [Result(**{**dict(row), "metrics": tuple(json.loads(row["metrics"] or "[]"))}) for row in rows]

    def typical_durations(self, recent: int = 5000) -> dict[str, float]:
        """Each test's mean duration (s) over the store's most recent results, by node id without parameters.

        What a run needs to start its longest tests first (`esp_hil.pytestplugin.longest_first`).
        """
        rows = self._conn().execute("SELECT test_id, duration FROM results ORDER BY rowid DESC LIMIT ?", (recent,))
        seen: dict[str, list[float]] = {}
        for test_id, duration in rows:
            seen.setdefault(test_id.split("[", 1)[0], []).append(duration)
        return {test: sum(durations) / len(durations) for test, durations in seen.items()}

    def transcript(self, result: Result) -> str | None:
        """The transcript text, or None if there was none (or its file went missing)."""
        if not result.transcript:
            return None
        try:
            return (self.path.parent / result.transcript).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- merging -------------------------------------------------------------------------

    def absorb(self, source: Path) -> MergeCounts:
        """Copy every run, board and result of `source` in (once: results are keyed by uid)."""
        source = Path(source)
        if not source.is_file():
            raise HilError(f"no results database at {source}", hint="check the path given to `hil results merge`")
        if source.resolve() == self.path.resolve():
            raise HilError(f"cannot merge {source} into itself", hint="give another -o file")
        ResultsStore(source, create=False).close()  # checks (and migrates) its schema
        copied = self._copy_transcripts(source)
        db = self._conn()
        with self._lock:
            db.execute("ATTACH DATABASE ? AS src", (str(source),))
            try:
                counts = self._insert_from_attached(db)
            finally:
                db.execute("DETACH DATABASE src")
        return MergeCounts(runs=counts[0], results=counts[1], transcripts=copied)

    def _insert_from_attached(self, db: sqlite3.Connection) -> tuple[int, int]:
        db.execute("BEGIN IMMEDIATE")
        try:
            before = db.execute("SELECT (SELECT count(*) FROM main.runs), (SELECT count(*) FROM main.results)"
                                ).fetchone()
            db.execute("""INSERT INTO main.runs SELECT * FROM src.runs WHERE true
                          ON CONFLICT (id) DO UPDATE SET ended = coalesce(ended, excluded.ended),
                              ending = coalesce(ending, excluded.ending)""")
            db.execute("""INSERT INTO main.boards SELECT * FROM src.boards WHERE true
                          ON CONFLICT (run_id, board_id) DO UPDATE SET
                              firmware_name = coalesce(firmware_name, excluded.firmware_name),
                              firmware_version = coalesce(firmware_version, excluded.firmware_version),
                              firmware_sha256 = coalesce(firmware_sha256, excluded.firmware_sha256),
                              lost = coalesce(lost, excluded.lost)""")
            db.execute("INSERT OR IGNORE INTO main.results SELECT * FROM src.results")
            after = db.execute("SELECT (SELECT count(*) FROM main.runs), (SELECT count(*) FROM main.results)"
                               ).fetchone()
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return after[0] - before[0], after[1] - before[1]

    def _copy_transcripts(self, source: Path) -> int:
        """Before the rows: a merged row must find its file."""
        src_root, dest_root = source.parent / TRANSCRIPTS, self.path.parent / TRANSCRIPTS
        if not src_root.is_dir() or src_root.resolve() == dest_root.resolve():
            return 0
        copied = 0
        for file in src_root.rglob("*"):
            target = dest_root / file.relative_to(src_root)
            if file.is_file() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, target)
                copied += 1
        return copied

    # -- plumbing ------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """One connection per process: a connection must not cross a fork."""
        if self._db is None or self._pid != os.getpid():
            self._db = _open(self.path)
            self._pid = os.getpid()
        return self._db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, committed on the way out (one commit per call)."""
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _save_transcript(self, run_id: str, uid: str, test_id: str, text: str) -> str:
        rel = Path(TRANSCRIPTS) / _slug(run_id, 80) / f"{_slug(test_id, 100)}-{uid[:8]}.txt"
        target = self.path.parent / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)
        return rel.as_posix()


def merge(sources: list[Path], dest: Path) -> MergeCounts:
    """Bring several rack hosts' databases (and their transcripts) together in `dest`."""
    if not sources:
        raise HilError("nothing to merge", hint="name at least one results database")
    totals = MergeCounts(0, 0, 0)
    with ResultsStore(dest) as target:
        for source in sources:
            got = target.absorb(Path(source))
            totals = MergeCounts(totals.runs + got.runs, totals.results + got.results,
                                 totals.transcripts + got.transcripts)
    return totals


def _open(path: Path) -> sqlite3.Connection:
    """Connect, switch to WAL and bring the schema up to date; waits out other writers."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")  # a committed result survives a host crash too
            db.execute("PRAGMA foreign_keys = ON")
            _migrate(db, path)
            return db
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise HilError(f"cannot open results database {path}: {exc}") from exc
            time.sleep(0.05)
        except sqlite3.DatabaseError as exc:
            raise HilError(f"{path} is not a results database ({exc})",
                           hint="give the .sqlite file written by --hil-results") from exc


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Create or upgrade the schema, under a write lock so two processes do not both do it."""
    if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HilError(f"{path} has schema version {version}, newer than this esp-hil's {SCHEMA_VERSION}",
                           hint="upgrade esp-hil to read it")
        if version == 0 and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise HilError(f"{path} is an SQLite file but not a results database",
                           hint="give the .sqlite file written by --hil-results")
        for statements in _MIGRATIONS[version:]:
            for statement in statements:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


_HAS_RESULTS = "EXISTS (SELECT 1 FROM results WHERE results.run_id = runs.id)"


def _run(row: sqlite3.Row) -> Run:
    return Run(**{**dict(row), "ending": Ending(row["ending"]) if row["ending"] else None})


def _iso(moment: datetime) -> str:
    """Fixed width, so text order is time order."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _slug(text: str, limit: int) -> str:
    """A file-name-safe form of a test or run id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:limit] or "_"
