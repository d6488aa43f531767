"""How a run spreads its tests over boards, and over pytest-xdist workers.

matrix (default): every board test runs once on each selected board; its id carries
the board (`test_x[esp32-a]`). Under xdist, all tests of one board go to one worker
at a time (a scheduler that scopes by board), so two workers never drive one board.

any: every board test runs once, on whichever matching board is free (fast feedback).
Each worker is handed its boards by the controller (`workerinput`) and holds them
with leases; a worker without boards of its own waits for a free one.

We do not use xdist's `--dist loadgroup`/`xdist_group`: on pytest 9.2 with xdist 3.8
it does not group (pytest-xdist issue 1386). Our scheduler (`board_scheduler`, loaded
only by an xdist controller in matrix mode) only overrides how a node id maps to a scope.
"""

from __future__ import annotations


def board_of(nodeid: str, board_ids: list[str]) -> str | None:
    """The board a parametrized node id runs on, or None for a test without a board."""
    if not nodeid.endswith("]") or "[" not in nodeid:
        return None
    params = nodeid[nodeid.rindex("[") + 1:-1]
    for board_id in sorted(board_ids, key=len, reverse=True):
        if params == board_id or params.endswith("-" + board_id) or params.startswith(board_id + "-") \
                or f"-{board_id}-" in params:
            return board_id
    return None


def share(board_ids: list[str], workers: int, index: int) -> list[str]:
    """The boards worker `index` of `workers` holds in `any` mode (round robin)."""
    return [b for i, b in enumerate(board_ids) if i % workers == index]
