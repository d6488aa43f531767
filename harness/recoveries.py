"""A recovery as data: why a board was brought back, each step tried, and how each went.

The ladder (`esp_hil.recovery`) makes one; the pytest layer carries it on the test's
report (`as_dict`, through xdist), the results store keeps it as JSON, and the report
renders it. Kept free of the board session so `hil report` can read it without the
serial stack. Results written before this existed hold a bare step name: `parse`
reads both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum


class Step(StrEnum):
    INTERRUPT = "interrupt"
    SOFT_RESET = "soft reset"
    HARD_RESET = "hard reset"
    REOPEN = "reopen port"
    REFLASH = "reflash"
    BOARD_RESET = "board reset during the test"  # not a ladder step: the board came back by itself, mid-test


class Outcome(StrEnum):
    ANSWERED = "answered"  # the board answered after this step: the recovery ends here
    SILENT = "silent"      # the step ran, the board did not answer after it
    FAILED = "failed"      # the step itself failed (its error is the cause)


@dataclass(frozen=True)
class Attempt:
    step: Step
    outcome: Outcome
    cause: str = ""  # the step's error, one line


@dataclass(frozen=True)
class Recovery:
    board: str
    cause: str  # why the board needed it: what it did (or did not) say
    attempts: tuple[Attempt, ...]

    @property
    def step(self) -> Step | None:
        """The step that brought the board back, or None if none did."""
        last = self.attempts[-1] if self.attempts else None
        return last.step if last and last.outcome is Outcome.ANSWERED else None

    @property
    def during_test(self) -> bool:
        return self.step is Step.BOARD_RESET

    def as_dict(self) -> dict:
        return {"board": self.board, "cause": self.cause,
                "attempts": [{"step": a.step.value, "outcome": a.outcome.value, "cause": a.cause} for a in self.attempts]}

    @classmethod
    def from_dict(cls, data: dict) -> "Recovery":
        return cls(data["board"], data.get("cause", ""),
                   tuple(Attempt(Step(a["step"]), Outcome(a["outcome"]), a.get("cause", "")) for a in data["attempts"]))

    def to_json(self) -> str:
        return json.dumps(self.as_dict())

    def tried(self) -> str:
        """The steps before the one that worked, for a person: `interrupt silent, soft reset failed`."""
        return ", ".join(f"{a.step} {a.outcome}" for a in self.attempts if a.outcome is not Outcome.ANSWERED)


def parse(text: str, board: str = "") -> Recovery:
    """A stored recovery: JSON, or (results written before it was structured) the bare name of the step."""
    if text.startswith("{"):
        return Recovery.from_dict(json.loads(text))
    return Recovery(board, "", (Attempt(Step(text), Outcome.ANSWERED),))


def board_reset(board: str, line: str) -> Recovery:
    """The board reset by itself during a test and came back: a recovery, not a timeout."""
    return Recovery(board, line, (Attempt(Step.BOARD_RESET, Outcome.ANSWERED),))
