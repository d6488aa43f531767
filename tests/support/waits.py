"""How long a board session waits: seen from the port, and cut short where no wait can end well.

`PortWaits` sits under a session's recording, where the pyserial port was: every read
that got nothing is a wait the session allowed itself, for as long as the port's
timeout was then. Those add up to what the session waited on a board that said
nothing, with no clock, so no timed assertion.
"""

from __future__ import annotations

from typing import Any


def short_waits_for_a_silent_board(monkeypatch: Any, board: Any) -> None:
    """A board that cannot answer fails the interrupt and soft reset steps at any timeout: wait 0.5 s, not 3 and 5."""
    for name in ("interrupt", "soft_reset"):
        step = getattr(type(board), name)
        monkeypatch.setattr(board, name, lambda timeout=0.0, step=step: step(board, timeout=0.5))


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
