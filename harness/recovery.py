"""The recovery ladder: bring a board that stopped answering back, one bounded step at a time.

interrupt (Ctrl-C) -> soft reset -> hard reset (DTR/RTS) -> reopen the port (waiting
for a USB by-id path to come back) -> reflash (when the run allows it). Each step is
noted in the board's transcript; the first one after which the board answers wins.
When none does, the board is quarantined: `BoardLost` names it, the last step tried,
and what the board itself last said (a step that got an answer, such as "no firmware",
tells more than the timeouts of the steps after it).
"""

from __future__ import annotations

from typing import Callable

from esp_hil.board import Board
from esp_hil.errors import BoardLost, BoardTimeout, HilError
from esp_hil.recoveries import Attempt, Outcome, Recovery, Step

Rung = tuple[Step, Callable[[], None]]


def ladder(board: Board, reflash: Callable[[], None] | None = None) -> list[Rung]:
    steps: list[Rung] = [
        (Step.INTERRUPT, lambda: board.interrupt(timeout=6)),
        (Step.SOFT_RESET, lambda: board.soft_reset(timeout=5)),
    ]
    if board.spec.reset.wired:
        steps.append((Step.HARD_RESET, lambda: board.hard_reset(timeout=10)))
    steps.append((Step.REOPEN, lambda: board.reopen(wait=20)))
    if reflash is not None:
        steps.append((Step.REFLASH, lambda: (board.close(), reflash(), board.reopen(wait=20))))  # the flasher needs the port
    return steps


def healthy(board: Board) -> bool:
    try:
        return board.exec("print('hil-ok')", timeout=3) == "hil-ok\n"
    except (HilError, OSError):
        return False


def recover(board: Board, reflash: Callable[[], None] | None = None, cause: str = "") -> Recovery:
    """The recovery that brought the board back (each step tried, and how); BoardLost when none did."""
    tried, said = "nothing", ""
    attempts: list[Attempt] = []
    for name, step in ladder(board, reflash):
        tried = name
        board.transcript.note(f"recovery: {name}")
        try:
            step()
        except (HilError, OSError) as exc:
            line = str(exc).splitlines()[0]
            board.transcript.note(f"recovery: {name} failed: {line}")
            attempts.append(Attempt(name, Outcome.FAILED, line))
            if isinstance(exc, HilError) and not isinstance(exc, BoardTimeout):
                said = f"{exc.message.splitlines()[0]} (after {name})"
            continue
        if healthy(board):
            board.transcript.note(f"recovery: board answers again after {name}")
            return Recovery(board.id, cause, (*attempts, Attempt(name, Outcome.ANSWERED)))
        attempts.append(Attempt(name, Outcome.SILENT))
    raise BoardLost(f"quarantined: {said or f'no answer after {tried}'}", board=board.id,
                    hint="power-cycle the board and check its cable; the other boards carried on")
