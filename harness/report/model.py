"""A run compared with its baseline, in the order a person reads the nightly report.

Regressions come first: a test that passed in the baseline on the same board and
firmware build (name; the version may change, that is the point) and fails now.
Then fixes, new and removed tests (in a run cut short: not run), flaky ones (outcomes that differ between retries,
or between runs of the same test code on the same firmware image), boards lost,
recovered or skipped, large duration changes and what tests measured (OUTPUT_METRIC);
then the whole run as a matrix,
and the pass rate per firmware version over the last runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from esp_hil import recoveries
from esp_hil.errors import HilError
from esp_hil.report import cells as cellmod
from esp_hil.report.cells import FAILING, PASSING, Cell, Key, verdict
from esp_hil.results import OUTCOMES, BoardRow, ResultsStore, Run

NO_BOARD = "no board"


@dataclass(frozen=True)
class Change:
    """One test on one board whose outcome differs from the baseline (or that only one side has)."""
    test_id: str
    board_id: str | None
    outcome: str | None            # None: removed
    baseline_outcome: str | None   # None: new
    firmware: str | None
    baseline_firmware: str | None
    message: str = ""
    transcript: str | None = None  # tail
    flaky: bool = False            # also seen both passing and failing on identical runs, or on retry


@dataclass(frozen=True)
class Flaky:
    test_id: str
    board_id: str | None
    kind: str                      # "retry": within this run; "runs": across identical runs
    outcomes: tuple[str, ...]      # oldest first
    runs: tuple[str, ...]          # the run of each outcome


@dataclass(frozen=True)
class LostBoard:
    board_id: str
    reason: str
    chip: str | None
    virtual: bool
    tests: int = 0                 # baseline tests on it that did not run now


@dataclass(frozen=True)
class Recovery:
    """A board brought back before a test by the recovery ladder, or that reset by itself during one."""
    board_id: str | None
    test_id: str
    event: recoveries.Recovery     # why, each step tried and how it went

    @property
    def step(self) -> str:
        """What brought the board back, and when: `hard reset`, or the reset the board did itself mid-test."""
        return str(self.event.step or "nothing")


@dataclass(frozen=True)
class SkipGroup:
    """Tests skipped on one board for one reason: what the board lacked."""
    board_id: str | None
    reason: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class DurationChange:
    test_id: str
    board_id: str | None
    before: float
    now: float

    @property
    def ratio(self) -> float:
        return self.now / self.before if self.before else float("inf")


@dataclass(frozen=True)
class Metrics:
    """What a test measured and printed (a multitest's OUTPUT_METRIC lines), beside the baseline's."""
    test_id: str
    board_id: str | None
    values: tuple[str, ...]
    baseline: tuple[str, ...]      # the same test's in the baseline; empty when it had none


@dataclass(frozen=True)
class Matrix:
    tests: tuple[str, ...]
    boards: tuple[str | None, ...]
    cells: dict[tuple[str, str | None], Cell]

    def at(self, test: str, board: str | None) -> Cell | None:
        return self.cells.get((test, board))


@dataclass(frozen=True)
class HistoryPoint:
    run_id: str
    started: str
    firmware: str
    passed: int
    total: int                     # passed + failed + error: what a pass rate is of

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass
class Report:
    run: Run
    baseline: Run | None
    boards: list[BoardRow]
    totals: dict[str, int]
    regressions: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    new: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    not_run: list[Change] = field(default_factory=list)  # in the baseline, absent from a run cut short
    flaky: list[Flaky] = field(default_factory=list)
    lost: list[LostBoard] = field(default_factory=list)
    recovered: list[Recovery] = field(default_factory=list)
    skipped: list[SkipGroup] = field(default_factory=list)
    durations: list[DurationChange] = field(default_factory=list)
    metrics: list[Metrics] = field(default_factory=list)
    matrix: Matrix = field(default_factory=lambda: Matrix((), (), {}))
    history: list[HistoryPoint] = field(default_factory=list)
    history_runs: list[Run] = field(default_factory=list)


def build(store: ResultsStore, run: str = "latest", baseline: str | None = "previous", *, history: int = 10,
          duration_ratio: float = 2.0, duration_min: float = 1.0) -> Report:
    """Compare run `run` with `baseline` (`previous`: the last earlier run of its suite; None: none)."""
    current = store.run(run)
    base = _baseline(store, current, baseline)
    recent = _recent(store, current, history)
    now_cells = cellmod.load(store, current)
    base_cells = cellmod.load(store, base, tails=False) if base else {}
    past = {r.id: base_cells if base and r.id == base.id else cellmod.load(store, r, tails=False)
            for r in recent if r.id != current.id}

    flaky = _flaky(current, now_cells, [r for r in recent if r.id != current.id], past)
    flaky_keys = {(f.test_id, f.board_id) for f in flaky}
    pairs, new, removed = _pair(now_cells, base_cells) if base else ([], [], [])
    boards = store.boards(current.id)
    # a run cut short may not have reached a board at all: its tests were not run, the board is not lost
    lost, removed = _lost(boards, store.boards(base.id) if base and current.complete else [], now_cells, removed)
    absent = sorted((_change(b, None, flaky_keys) for b in removed), key=lambda c: c.test_id)

    return Report(
        run=current, baseline=base, boards=boards, totals=_totals(now_cells),
        regressions=[_change(b, n, flaky_keys) for b, n in pairs if b.outcome in PASSING and n.outcome in FAILING],
        fixes=[_change(b, n, flaky_keys) for b, n in pairs if b.outcome in FAILING and n.outcome in PASSING],
        new=sorted((_change(None, n, flaky_keys) for n in new), key=lambda c: (c.outcome not in FAILING, c.test_id)),
        removed=absent if current.complete else [], not_run=[] if current.complete else absent,
        flaky=flaky, lost=lost, skipped=_skipped(now_cells),
        recovered=[Recovery(c.board_id, c.test_id, recoveries.parse(text, c.board_id or ""))
                   for c in now_cells.values() for text in c.recoveries],
        durations=_durations(pairs, duration_ratio, duration_min),
        metrics=_metrics(now_cells, pairs),
        matrix=_matrix(now_cells),
        history=[p for r in recent for p in _pass_rates(r, now_cells if r.id == current.id else past[r.id])],
        history_runs=recent,
    )


def _baseline(store: ResultsStore, current: Run, ref: str | None) -> Run | None:
    if ref is None or ref == "none":
        return None
    if ref == "previous":
        return store.previous(current)
    base = store.run(ref)
    if base.id == current.id:
        raise HilError(f"run {current.id} cannot be its own baseline", hint="omit --baseline to use the previous run")
    if base.suite != current.suite:
        raise HilError(f"baseline {base.id} ran suite {base.suite!r} but run {current.id} ran {current.suite!r}",
                       hint="compare runs of one suite; omit --baseline to use the previous run of this suite")
    return base


def _recent(store: ResultsStore, current: Run, count: int) -> list[Run]:
    """The last `count` runs of the suite up to and including `current`, oldest first."""
    runs = store.runs(current.suite)
    upto = next(i for i, r in enumerate(runs) if r.id == current.id)
    return runs[max(0, upto + 1 - max(count, 1)):upto + 1]


def _pair(now: dict[Key, Cell], before: dict[Key, Cell]) -> tuple[list[tuple[Cell, Cell]], list[Cell], list[Cell]]:
    """Match cells by key; a firmware name known on one side only still matches."""
    unmatched = dict(before)
    loose: dict[tuple[str, str | None], list[Key]] = {}
    for key in before:
        loose.setdefault(key[:2], []).append(key)
    pairs, new = [], []
    for key, cell in now.items():
        match = key if key in unmatched else next(
            (k for k in loose.get(key[:2], []) if k in unmatched and (key[2] is None or k[2] is None)), None)
        if match is None:
            new.append(cell)
        else:
            pairs.append((unmatched.pop(match), cell))
    return pairs, new, list(unmatched.values())


def _change(before: Cell | None, now: Cell | None, flaky: set[tuple[str, str | None]]) -> Change:
    cell = now or before
    assert cell is not None
    return Change(
        test_id=cell.test_id, board_id=cell.board_id,
        outcome=now.outcome if now else None, baseline_outcome=before.outcome if before else None,
        firmware=now.firmware if now else None, baseline_firmware=before.firmware if before else None,
        message=now.message if now else "", transcript=now.transcript if now else None,
        flaky=(cell.test_id, cell.board_id) in flaky,
    )


def _flaky(current: Run, now: dict[Key, Cell], earlier: list[Run], past: dict[str, dict[Key, Cell]]) -> list[Flaky]:
    """Passing and failing on retry in this run, or across runs of the same tests on the same image."""
    identical = [r for r in earlier if current.git_rev and r.git_rev == current.git_rev]
    found = []
    for key, cell in now.items():
        if {"pass", "fail"} <= {verdict(o) for o in cell.attempts}:
            found.append(Flaky(cell.test_id, cell.board_id, "retry", cell.attempts, (current.id,) * len(cell.attempts)))
            continue
        seen = [(r.id, past[r.id][key].outcome) for r in identical
                if key in past[r.id] and past[r.id][key].identity == cell.identity]
        seen.append((current.id, cell.outcome))
        if {"pass", "fail"} <= {verdict(o) for _, o in seen}:
            found.append(Flaky(cell.test_id, cell.board_id, "runs", tuple(o for _, o in seen),
                               tuple(r for r, _ in seen)))
    return sorted(found, key=lambda f: (f.test_id, f.board_id or ""))


def _lost(boards: list[BoardRow], base_boards: list[BoardRow], now: dict[Key, Cell],
          removed: list[Cell]) -> tuple[list[LostBoard], list[Cell]]:
    """Boards lost during the run, and baseline boards absent from it (their tests folded into one line)."""
    lost = [LostBoard(b.board_id, b.lost, b.chip, b.virtual) for b in boards if b.lost]
    present = {b.board_id for b in boards} | {c.board_id for c in now.values()}
    for board in base_boards:
        if board.board_id in present:
            continue
        gone = [c for c in removed if c.board_id == board.board_id]
        removed = [c for c in removed if c.board_id != board.board_id]
        lost.append(LostBoard(board.board_id, "not in this run", board.chip, board.virtual, tests=len(gone)))
    return lost, removed


def _skipped(now: dict[Key, Cell]) -> list[SkipGroup]:
    groups: dict[tuple[str | None, str], list[str]] = {}
    for cell in now.values():
        if cell.outcome == "skipped":
            groups.setdefault((cell.board_id, cell.message or "no reason given"), []).append(cell.test)
    return [SkipGroup(board, reason, tuple(sorted(tests)))
            for (board, reason), tests in sorted(groups.items(), key=lambda g: (g[0][0] or "", -len(g[1]), g[0][1]))]


def _durations(pairs: list[tuple[Cell, Cell]], ratio: float, minimum: float) -> list[DurationChange]:
    """Only between two passes (a failure's duration says little), and only large ones."""
    changes = [DurationChange(n.test_id, n.board_id, b.duration, n.duration) for b, n in pairs
               if b.outcome == n.outcome == "passed" and abs(n.duration - b.duration) >= minimum
               and (n.duration >= b.duration * ratio or n.duration * ratio <= b.duration)]
    return sorted(changes, key=lambda c: -abs(c.now - c.before))


def _metrics(now: dict[Key, Cell], pairs: list[tuple[Cell, Cell]]) -> list[Metrics]:
    """Every test that printed metrics, in matrix order; the baseline's are the same test's there."""
    before = {n.key: b.metrics for b, n in pairs}
    return [Metrics(c.test_id, c.board_id, c.metrics, before.get(c.key, ()))
            for c in sorted(now.values(), key=lambda c: (c.test, c.board_id or "")) if c.metrics]


def _matrix(now: dict[Key, Cell]) -> Matrix:
    cells = {(c.test, c.board_id): c for c in now.values()}
    boards = sorted({c.board_id for c in now.values()}, key=lambda b: (b is None, b or ""))
    return Matrix(tuple(sorted({c.test for c in now.values()})), tuple(boards), cells)


def _pass_rates(run: Run, cells: dict[Key, Cell]) -> list[HistoryPoint]:
    counts: dict[str, list[int]] = {}
    for cell in cells.values():
        if verdict(cell.outcome) is None:
            continue
        label = cell.firmware or (NO_BOARD if cell.board_id is None else "unknown firmware")
        tally = counts.setdefault(label, [0, 0])
        tally[0] += cell.outcome in PASSING
        tally[1] += 1
    return [HistoryPoint(run.id, run.started, label, p, t) for label, (p, t) in sorted(counts.items())]


def _totals(now: dict[Key, Cell]) -> dict[str, int]:
    counted = Counter(c.outcome for c in now.values())
    return {outcome: counted.get(outcome, 0) for outcome in OUTCOMES}
