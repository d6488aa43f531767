"""One error type the user sees: one line that names the board and the fix."""

from __future__ import annotations


class HilError(Exception):
    """An error meant for a person: `str()` is one line naming the board and what to do.

    Raised for bad input (inventory, firmware, options) and for boards that are lost;
    the CLI and the pytest plugin print it as is, without a traceback.
    """

    def __init__(self, message: str, *, board: str | None = None, hint: str | None = None):
        self.board = board
        self.message = message
        self.hint = hint
        text = f"board {board!r}: {message}" if board else message
        if hint:
            text = f"{text} ({hint})"
        super().__init__(text)


class BoardTimeout(HilError):
    """The board did not answer in time; the transcript tail is attached for the report."""

    def __init__(self, message: str, *, board: str, tail: str = ""):
        super().__init__(message, board=board)
        self.tail = tail

    def __str__(self) -> str:
        line = super().__str__()
        return f"{line}\n--- transcript tail ---\n{self.tail}" if self.tail else line


class BoardLost(HilError):
    """The board stopped answering and could not be brought back."""


class BoardBusy(HilError):
    """Another run holds the board: nothing is wrong with it, it is tried again later."""


class BoardReset(HilError):
    """The board reset while a test ran (boot banner, ROM reset cause, a virtual board's dying interpreter).

    Ends the test at once, with the line the board printed, instead of a timeout;
    the results record it among the recoveries (`esp_hil.recoveries.board_reset`).
    """

    def __init__(self, line: str, *, board: str):
        super().__init__(f"board reset during the test: {line}", board=board)
        self.line = line
