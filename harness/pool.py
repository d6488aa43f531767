"""The run's boards: opened once, shared by the tests, and marked lost when they stop answering.

A lost board's remaining tests error with the reason instead of hanging the run;
the other boards carry on. Virtual boards of the inventory are started (in a rack
process of their own) the first time one is needed, so a run that touches no board
starts none.
"""

from __future__ import annotations

from harness.board import Board
from harness.errors import HilError
from harness.inventory import BoardSpec, Inventory
from harness.lease import Lease
from harness.rack_process import RackProcess


class BoardPool:
    """Open boards by id, lazily; remember which were lost and why."""

    def __init__(self, inventory: Inventory, lease_wait: float = 60.0, preferred: list[str] | None = None):
        self.inventory = inventory
        self._preferred = list(preferred or [])
        self._lease_wait = lease_wait
        self._leases: dict[str, Lease] = {}
        self._open: dict[str, Board] = {}
        self._racks: list[RackProcess] = []
        self._live: dict[str, BoardSpec] = {}
        self.lost: dict[str, str] = {}
        self.recovered: dict[str, list[str]] = {}

    def acquire(self, board_id: str, wait: float | None = None) -> Board:
        """The open session on `board_id`; HilError if the board is (or just got) lost."""
        if board_id in self.lost:
            raise HilError(f"lost earlier in this run: {self.lost[board_id]}", board=board_id)
        if board_id not in self._open:
            try:
                spec = self._resolve(self.inventory.get(board_id))
                wait = self._lease_wait if wait is None else wait
                self._leases[board_id] = Lease.acquire(board_id, wait=wait, key=spec.url)
                self._open[board_id] = Board.open(spec)
            except HilError as exc:
                self.lose(board_id, str(exc).splitlines()[0])
                raise
        return self._open[board_id]

    def acquire_any(self) -> Board:
        """Any free board (any mode): one this process holds already, else its own, else any free one."""
        if self._open:
            return next(iter(self._open.values()))
        ids = [b.id for b in self.inventory.boards if b.id not in self.lost]
        order = [b for b in self._preferred if b in ids] + [b for b in ids if b not in self._preferred]
        if not order:
            raise HilError("every board of the run is lost", hint="see the earlier errors for each board")
        for board_id in order:
            try:
                return self.acquire(board_id, wait=0)
            except HilError:
                self.lost.pop(board_id, None)  # held by another worker: not lost
        return self.acquire(order[0])

    def opened(self, board_id: str) -> Board | None:
        """The open session on `board_id`, without opening one."""
        return self._open.get(board_id)

    def recover(self, board_id: str) -> str:
        """Run the recovery ladder on an open board; quarantine it (lose it) when that fails."""
        from harness.recovery import recover

        board = self._open[board_id]
        try:
            step = recover(board)
        except HilError as exc:
            self.lose(board_id, str(exc).splitlines()[0])
            raise
        self.recovered.setdefault(board_id, []).append(step)
        return step

    def _resolve(self, spec: BoardSpec) -> BoardSpec:
        """A virtual board's live spec (its RFC 2217 URL), starting it on first use.

        Each virtual board gets a rack process of its own, started by the process
        (or xdist worker) that first needs it: a worker starts only the boards it drives.
        """
        if not spec.virtual or spec.port:
            return spec
        if spec.id not in self._live:
            rack = RackProcess(Inventory(self.inventory.source, [spec]))
            self._racks.append(rack)
            self._live[spec.id] = rack.start().boards[0]
        return self._live[spec.id]

    def lose(self, board_id: str, reason: str) -> None:
        self.lost[board_id] = reason
        board = self._open.pop(board_id, None)
        if board is not None:
            board.close()
        lease = self._leases.pop(board_id, None)
        if lease is not None:
            lease.release()

    def close(self) -> None:
        for board in self._open.values():
            board.close()
        self._open.clear()
        for lease in self._leases.values():
            lease.release()
        self._leases.clear()
        for rack in self._racks:
            rack.stop()
        self._racks.clear()
