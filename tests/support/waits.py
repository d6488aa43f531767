"""How long a board session waits: seen from the port, and cut short where no wait can end well (`short_ladder`).

`PortWaits` sits under a session's recording, where the pyserial port was: every read
that got nothing is a wait the session allowed itself, for as long as the port's
timeout was then. Those add up to what the session waited on a board that said
nothing, with no clock, so no timed assertion.
"""

from __future__ import annotations

from typing import Any

from esp_hil import recovery
from esp_hil.recoveries import Step


_LADDER = recovery.ladder


def short_ladder(board: Any, reflash: Any = None) -> list:
    """The recovery ladder with the waits that cannot end well cut short: a board that does not answer
    fails the interrupt and soft reset rungs at any timeout (0.5 s, not 6 and 5), and a port gone for
    good does not come back in 20 s more than in 1. Put in place of `esp_hil.recovery.ladder`."""
    short = {Step.INTERRUPT: lambda: board.interrupt(timeout=0.5), Step.SOFT_RESET: lambda: board.soft_reset(timeout=0.5),
             Step.REOPEN: lambda: board.reopen(wait=1)}
    return [(name, short.get(name, step)) for name, step in _LADDER(board, reflash)]


def use_short_ladder(monkeypatch: Any) -> None:
    """`short_ladder` as the recovery ladder, for the rest of the test."""
    monkeypatch.setattr(recovery, "ladder", short_ladder)


class PortWaits:
    """The port under a session's recording; `idle` holds (timeout, what had come before) per empty read."""

    def __init__(self, port: Any):
        object.__setattr__(self, "_port", port)
        object.__setattr__(self, "idle", [])
        object.__setattr__(self, "received", b"")

    @classmethod
    def under(cls, board: Any, monkeypatch: Any) -> "PortWaits":
        """Put one under `board`'s recording, for the rest of the test."""
        waits = cls(board.port.unrecorded)
        monkeypatch.setattr(board.port, "_port", waits)
        return waits

    def read(self, size: int = 1) -> bytes:
        timeout = self._port.timeout
        data = self._port.read(size)
        if data:
            object.__setattr__(self, "received", self.received + data)
        else:
            self.idle.append((timeout, self.received))
        return data

    def waited(self) -> list[float]:
        return [timeout for timeout, _ in self.idle]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._port, name, value)
