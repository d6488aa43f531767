"""From stored rows to cells: one test on one board in one run, after retries.

A test may leave several rows: one per attempt (reruns), and a teardown error after
its call. The cell's outcome is the worst row of its last attempt; every attempt's
outcome is kept, which is how a retry shows a flaky test.
"""

from __future__ import annotations

from dataclasses import dataclass

from esp_hil.spread import ANY_ID
from esp_hil.results import BoardRow, Result, ResultsStore, Run

PASSING = frozenset({"passed"})
FAILING = frozenset({"failed", "error"})
TAIL_LINES = 40
_SEVERITY = {"skipped": 0, "xfailed": 1, "passed": 2, "xpassed": 3, "failed": 4, "error": 5}

Key = tuple[str, "str | None", "str | None"]  # test id, board (None: any board will do), firmware name


@dataclass(frozen=True)
class Cell:
    test_id: str
    test: str                    # the row of the matrix: the test id without its board parameter
    board_id: str | None
    outcome: str
    attempts: tuple[str, ...]    # outcome of each attempt, first to last
    duration: float              # of the last attempt
    message: str
    transcript: str | None       # the tail; None if not loaded or none recorded
    firmware_name: str | None
    firmware: str | None         # version (or name) shown and grouped by
    firmware_sha256: str | None
    recoveries: tuple[str, ...] = ()  # the ladder step the board needed before each row, in order
    metrics: tuple[str, ...] = ()     # what its last attempt measured (a multitest's OUTPUT_METRIC lines)

    @property
    def key(self) -> Key:
        """What a cell is compared by across runs: the same test on the same board and firmware build.

        A test run in `any` mode lands on whichever board was free, so its board is not part of it.
        """
        any_mode = row_name(self.test_id, ANY_ID) != self.test_id
        return self.test_id, None if any_mode else self.board_id, self.firmware_name

    @property
    def identity(self) -> str | None:
        """The firmware image, as exactly as we know it: two runs with equal ones ran the same code."""
        return self.firmware_sha256 or self.firmware


def verdict(outcome: str) -> str | None:
    """pass / fail, or None for outcomes that say neither (skips, expected failures)."""
    return "pass" if outcome in PASSING else "fail" if outcome in FAILING else None


def load(store: ResultsStore, run: Run, *, tails: bool = True) -> dict[Key, Cell]:
    """Every cell of a run, keyed for comparison with another run."""
    boards = {b.board_id: b for b in store.boards(run.id)}
    groups: dict[tuple[str, str | None], list[Result]] = {}
    for result in store.results(run.id):
        groups.setdefault((result.test_id, result.board_id), []).append(result)
    cells = (_cell(store, rows, boards.get(rows[0].board_id), tails) for rows in groups.values())
    return {cell.key: cell for cell in cells}


def row_name(test_id: str, board_id: str | None) -> str:
    """`test_x[esp32-a]` -> `test_x`, `test_x[8-esp32-a]` -> `test_x[8]`: the board is the column."""
    if not board_id or not test_id.endswith("]") or "[" not in test_id:
        return test_id
    head, params = test_id[:test_id.rindex("[")], test_id[test_id.rindex("[") + 1:-1]
    parts = params.split("-")
    width = len(board_id.split("-"))
    for start in range(len(parts) - width + 1):
        if "-".join(parts[start:start + width]) == board_id:
            rest = "-".join(parts[:start] + parts[start + width:])
            return f"{head}[{rest}]" if rest else head
    return test_id


def _cell(store: ResultsStore, rows: list[Result], board: BoardRow | None, tails: bool) -> Cell:
    by_attempt: dict[int, list[Result]] = {}
    for row in rows:
        by_attempt.setdefault(row.attempt, []).append(row)
    worst = [max(by_attempt[a], key=lambda r: _SEVERITY[r.outcome]) for a in sorted(by_attempt)]
    last_rows, final = by_attempt[max(by_attempt)], worst[-1]
    first = rows[0]
    with_transcript = next((r for r in reversed(last_rows) if r.transcript), None)
    return Cell(
        test_id=first.test_id,
        test=row_name(row_name(first.test_id, first.board_id), ANY_ID),
        board_id=first.board_id,
        outcome=final.outcome,
        attempts=tuple(r.outcome for r in worst),
        duration=sum(r.duration for r in last_rows),
        message=final.message or next((r.message for r in last_rows if r.message), ""),
        transcript=_tail(store, with_transcript) if tails and with_transcript else None,
        firmware_name=board.firmware_name if board else None,
        firmware=(board.firmware_version or board.firmware_name) if board else None,
        firmware_sha256=board.firmware_sha256 if board else None,
        recoveries=tuple(r.recovery for r in rows if r.recovery),
        metrics=next((r.metrics for r in last_rows if r.metrics), ()),  # a teardown error's row repeats the call's
    )


def _tail(store: ResultsStore, result: Result) -> str | None:
    text = store.transcript(result)
    if text is None:
        return f"(transcript file {result.transcript} is missing)"
    lines = text.rstrip("\n").splitlines()
    cut = lines[-TAIL_LINES:]
    head = [f"... ({len(lines) - len(cut)} earlier lines in {result.transcript})"] if len(lines) > len(cut) else []
    return "\n".join(head + cut)
