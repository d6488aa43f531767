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

Step = tuple[str, Callable[[], None]]


def ladder(board: Board, reflash: Callable[[], None] | None = None) -> list[Step]:
    steps: list[Step] = [
        ("interrupt", lambda: board.interrupt(timeout=3)),
        ("soft reset", lambda: board.soft_reset(timeout=5)),
    ]
    if board.spec.reset.wired:
        steps.append(("hard reset", lambda: board.hard_reset(timeout=10)))
    steps.append(("reopen port", lambda: board.reopen(wait=20)))
    if reflash is not None:
        steps.append(("reflash", lambda: (board.close(), reflash(), board.reopen(wait=20))))  # the flasher needs the port
    return steps


def healthy(board: Board) -> bool:
    try:
        return board.exec("print('hil-ok')", timeout=3) == "hil-ok\n"
    except (HilError, OSError):
        return False


def recover(board: Board, reflash: Callable[[], None] | None = None) -> str:
    """Return the name of the step that brought the board back; BoardLost when none did."""
    tried, said = "nothing", ""
    for name, step in ladder(board, reflash):
        tried = name
        board.transcript.note(f"recovery: {name}")
        try:
            step()
        except (HilError, OSError) as exc:
            board.transcript.note(f"recovery: {name} failed: {str(exc).splitlines()[0]}")
            if isinstance(exc, HilError) and not isinstance(exc, BoardTimeout):
                said = f"{exc.message.splitlines()[0]} (after {name})"
            continue
        if healthy(board):
            board.transcript.note(f"recovery: board answers again after {name}")
            return name
    raise BoardLost(f"quarantined: {said or f'no answer after {tried}'}", board=board.id,
                    hint="power-cycle the board and check its cable; the other boards carried on")
