"""The run's boards: opened once, shared by the tests, and marked lost when they stop answering.

A lost board's remaining tests error with the reason instead of hanging the run;
the other boards carry on.
"""

from __future__ import annotations

from harness.board import Board
from harness.errors import HilError
from harness.inventory import Inventory


class BoardPool:
    """Open boards by id, lazily; remember which were lost and why."""

    def __init__(self, inventory: Inventory):
        self.inventory = inventory
        self._open: dict[str, Board] = {}
        self.lost: dict[str, str] = {}

    def acquire(self, board_id: str) -> Board:
        """The open session on `board_id`; HilError if the board is (or just got) lost."""
        if board_id in self.lost:
            raise HilError(f"lost earlier in this run: {self.lost[board_id]}", board=board_id)
        if board_id not in self._open:
            try:
                self._open[board_id] = Board.open(self.inventory.get(board_id))
            except HilError as exc:
                self.lose(board_id, str(exc).splitlines()[0])
                raise
        return self._open[board_id]

    def lose(self, board_id: str, reason: str) -> None:
        self.lost[board_id] = reason
        board = self._open.pop(board_id, None)
        if board is not None:
            board.close()

    def close(self) -> None:
        for board in self._open.values():
            board.close()
        self._open.clear()
