"""xdist's load scheduling scoped by board: matrix mode's scheduler (`scheduling` says why).

A module of its own so that only an xdist controller imports xdist's schedulers:
a worker, and a run without xdist, do not pay for them at start-up.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

from esp_hil.pytestplugin.scheduling import board_of


class BoardScheduling(LoadScopeScheduling):
    """xdist load scheduling in which a board's tests form one scope (one worker at a time)."""

    def __init__(self, config, log=None, board_ids: list[str] | None = None):
        super().__init__(config, log)
        self._board_ids = list(board_ids or [])

    def _split_scope(self, nodeid: str) -> str:
        board = board_of(nodeid, self._board_ids)
        return f"board:{board}" if board else nodeid
