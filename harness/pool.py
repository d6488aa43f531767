"""The run's boards: opened once, shared by the tests, and marked unavailable when they cannot be used.

An unavailable board is busy (another run holds it: asked for again, without
waiting, before each of its later tests) or lost (it could not be opened, or stopped
answering: opened again before its later tests while that has cost less than
REVIVAL_BUDGET seconds, so a port that comes back is used again). Its tests error
with the reason instead of hanging the run; the other boards carry on. Virtual boards
of the inventory are started (in a rack process of their own) the first time one is
needed, so a run that touches no board starts none; an any-mode run under xdist, whose
tests all want boards, starts them all at once in one rack (`launch_rack`).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from esp_hil.board import Board
from esp_hil.errors import BoardBusy, HilError
from esp_hil.inventory import BoardSpec, Inventory
from esp_hil.lease import Lease
from esp_hil.linespeed import slow_line
from esp_hil.port import PortKind
from esp_hil.virtual.rack_process import RackFiles, RackProcess

if TYPE_CHECKING:
    from esp_hil.recoveries import Recovery
    from esp_hil.virtual.source.build import Recipe


REVIVAL_BUDGET = 30.0  # seconds a run spends, per board, opening a lost board again


class FlashPolicy(StrEnum):
    """When the run's firmware is written: `--hil-flash`."""
    AUTO = "auto"      # unless the board already holds it (flash MD5)
    ALWAYS = "always"  # every board, every run
    NEVER = "never"    # not even to bring a lost board back


class Unavailable(Enum):
    BUSY = "busy"  # held by another run: nothing wrong with the board
    LOST = "lost"  # could not be opened, or stopped answering


@dataclass(frozen=True)
class Trouble:
    kind: Unavailable
    reason: str  # one line, with the fix: what the board (or its lease) said

    def line(self, board_id: str) -> str:
        return f"board {board_id!r} {self.kind.value}: {self.reason}"


class BoardUnavailable(HilError):
    """This test cannot have its board; `trouble` says why (printed once per run, not per test)."""

    def __init__(self, board_id: str, trouble: Trouble):
        super().__init__(trouble.line(board_id))
        self.board = board_id
        self.trouble = trouble

    def as_property(self) -> dict:
        """What a test's report carries (esp_hil.pytestplugin.keys.PROBLEM_PROP), through xdist to the recorder."""
        return {"board": self.board, "kind": self.trouble.kind.value, "reason": self.trouble.reason,
                "line": self.trouble.line(self.board)}


class BoardPool:
    """Open boards by id, lazily; remember which are unavailable and why."""

    def __init__(self, inventory: Inventory, lease_wait: float = 60.0, preferred: list[str] | None = None,
                 firmware: tuple | None = None, flash_mode: FlashPolicy = FlashPolicy.NEVER,
                 source: Recipe | None = None, rack: str | None = None,
                 say: Callable[[str], None] = print, steps: Callable[[str], None] | None = None):
        self.inventory = inventory
        self._rack = RackFiles(Path(rack)) if rack else None  # the run's rack, started by the xdist controller
        self._source = source  # virtual boards built from a MicroPython tree, not the PyPI port
        self.firmware = firmware  # (Firmware, bytes) checked against the catalog, or None
        self._flash_mode = flash_mode
        self._preferred = list(preferred or [])
        self._lease_wait = lease_wait
        self._leases: dict[str, Lease] = {}
        self._open: dict[str, Board] = {}
        self._racks: list[RackProcess] = []
        self._places: dict = {}  # board id -> esp_hil.labgrid.LabgridPlace held for this run
        self._live: dict[str, BoardSpec] = {}
        self._say = say  # a line for the person watching, at once (a wait for a held board, a board flashed)
        self._steps = steps  # each step of a flash, and esptool's own output (pytest -v); None: not said
        self.unavailable: dict[str, Trouble] = {}
        self.slow_lines: dict[str, str] = {}  # board id -> how much slower than its baud its line runs
        self._revival_spent: dict[str, float] = {}

    @property
    def lost(self) -> dict[str, str]:
        """The boards lost (not busy) now, and why."""
        return {b: t.reason for b, t in self.unavailable.items() if t.kind is Unavailable.LOST}

    def acquire(self, board_id: str, wait: float | None = None) -> Board:
        """The open session on `board_id`; BoardUnavailable if the board is (or just got) busy or lost.

        `wait` (for a held board) defaults to the pool's lease wait, and to none for a
        board already found busy or lost in this run (its tests do not each wait a minute).
        """
        if board_id in self._open:
            return self._open[board_id]
        trouble = self.unavailable.get(board_id)
        if trouble is not None and trouble.kind is Unavailable.LOST and self._revival_spent[board_id] >= REVIVAL_BUDGET:
            raise BoardUnavailable(board_id, trouble)
        if wait is None:
            wait = 0.0 if trouble is not None else self._lease_wait
        start = time.monotonic()
        try:
            spec = self._resolve(self.inventory.get(board_id), wait)
            self._leases[board_id] = Lease.acquire(board_id, wait=wait, key=spec.url, on_wait=self._say)
            self._flash(spec)
            self._open[board_id] = board = Board.open(spec)
            slow = slow_line(board)
            if slow:
                self.slow_lines[board_id] = slow
        except HilError as exc:
            self._mark(board_id, Unavailable.BUSY if isinstance(exc, BoardBusy) else Unavailable.LOST, exc)
            raise BoardUnavailable(board_id, self.unavailable[board_id]) from None
        finally:
            if trouble is not None and trouble.kind is Unavailable.LOST:
                self._revival_spent[board_id] += time.monotonic() - start
        self.unavailable.pop(board_id, None)
        return self._open[board_id]

    def prepare(self, board_ids: list[str]) -> None:
        """Open (and so flash, when the run has firmware) these boards side by side.

        A rack reflashing forty boards should take as long as its slowest board, not
        the sum. A board that fails here is lost, as it would be on first use; its
        tests report why.
        """
        def open_one(board_id: str) -> None:
            try:
                self.acquire(board_id)
            except HilError:
                pass  # recorded in self.unavailable
        with ThreadPoolExecutor(max_workers=max(1, len(board_ids))) as pool:
            list(pool.map(open_one, board_ids))

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
            except BoardUnavailable as exc:
                if exc.trouble.kind is Unavailable.BUSY:
                    del self.unavailable[board_id]  # held by another worker: in any mode, that is no news
        return self.acquire(order[0], wait=self._lease_wait)

    def opened(self, board_id: str) -> Board | None:
        """The open session on `board_id`, without opening one."""
        return self._open.get(board_id)

    def recover(self, board_id: str, cause: str) -> Recovery:
        """Run the recovery ladder on an open board; quarantine it (lose it) when that fails."""
        from esp_hil.recovery import recover

        board = self._open[board_id]
        reflash = None
        if self.firmware and self._flash_mode is not FlashPolicy.NEVER:
            reflash = lambda: self._flash(board.spec, force=True)  # noqa: E731 (the ladder's last rung)
        try:
            return recover(board, reflash, cause)
        except HilError as exc:
            self._mark(board_id, Unavailable.LOST, exc)
            raise BoardUnavailable(board_id, self.unavailable[board_id]) from None

    def launch_rack(self) -> str | None:
        """Start every virtual board of the run in one rack process, without waiting; its folder, for the workers.

        An xdist controller of an any-mode run does this as it configures, so the
        boards boot while its workers start, and once rather than once a worker.
        """
        virtual = [b for b in self.inventory.boards if b.unstarted]
        if not virtual:
            return None
        rack = RackProcess(Inventory(self.inventory.source, virtual), source=self._source)
        self._racks.append(rack)
        rack.launch()
        return str(rack.files.folder)

    def _resolve(self, spec: BoardSpec, wait: float) -> BoardSpec:
        """The live spec of a board: where its port is right now.

        A virtual board is served by the run's rack (`launch_rack`) or, without one,
        started on first use in a rack process of its own (a worker starts only the
        boards it drives). A labgrid place is acquired through labgrid's
        coordinator, which locks it across hosts, and gives its RFC 2217 URL.
        """
        if spec.id in self._live:
            return self._live[spec.id]
        if spec.unstarted and self._rack is not None:
            self._live.update({b.id: b for b in self._rack.wait().boards})
        elif spec.unstarted:
            rack = RackProcess(Inventory(self.inventory.source, [spec]), source=self._source)
            self._racks.append(rack)
            self._live[spec.id] = rack.start().boards[0]
        elif PortKind.of(spec.port) is PortKind.LABGRID:
            from esp_hil.labgrid import from_url  # imported only here: it checks the serial package

            place = from_url(spec.port)
            self._live[spec.id] = replace(spec, port=place.acquire(timeout=wait))
            self._places[spec.id] = place
        else:
            return spec
        return self._live[spec.id]

    def _flash(self, spec: BoardSpec, force: bool = False) -> None:
        """Put the run's firmware on the board before its first test (auto skips what holds it)."""
        if self.firmware is None or self._flash_mode is FlashPolicy.NEVER:
            return
        from esp_hil.flash import Flasher

        fw, data = self.firmware
        always = force or self._flash_mode is FlashPolicy.ALWAYS
        self._say(Flasher(spec, self._steps).flash(fw, data, force=always).line())

    def _release_place(self, board_id: str) -> None:
        place = self._places.pop(board_id, None)
        if place is not None:
            self._live.pop(board_id, None)  # the place's port is the place's: acquired again, it may differ
            try:
                place.release()
            except HilError:
                pass  # the coordinator is gone; `hil labgrid release PLACE` clears it later

    def _mark(self, board_id: str, kind: Unavailable, exc: HilError) -> None:
        """Note why the board cannot be used, and let go of whatever of it this run held."""
        reason = exc.message.splitlines()[0] + (f" ({exc.hint})" if exc.hint else "")
        self.unavailable[board_id] = Trouble(kind, reason)
        self._revival_spent.setdefault(board_id, 0.0)
        board = self._open.pop(board_id, None)
        if board is not None:
            board.close()
        lease = self._leases.pop(board_id, None)
        if lease is not None:
            lease.release()
        self._release_place(board_id)

    def close(self) -> None:
        for board in self._open.values():
            board.close()
        self._open.clear()
        for lease in self._leases.values():
            lease.release()
        self._leases.clear()
        for board_id in list(self._places):
            self._release_place(board_id)
        for rack in self._racks:
            rack.stop()
        self._racks.clear()
