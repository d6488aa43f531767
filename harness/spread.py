"""How a run spreads its board tests over boards: one type, shared by the plugin and the report.

matrix (default): each board test once on every board of the run (the regression
matrix). any: each board test once, on whichever matching board is free; its test id
carries `ANY_ID` where a board id would be.
"""

from __future__ import annotations

from enum import StrEnum


class Spread(StrEnum):
    MATRIX = "matrix"
    ANY = "any"


ANY_ID = "any-board"  # the board parameter of a test in any mode
