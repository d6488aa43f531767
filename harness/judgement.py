"""What MicroPython's own runners decide about a test file, as esp-hil decides it too.

`run-tests.py` and `run-multitests.py` each end a file in one of three ways; a
single-instance file (`esp_hil.upstream`) and a multitest (`esp_hil.multitest`)
are judged alike, and the pytest layer turns the judgement into an outcome.
"""

from __future__ import annotations

from enum import StrEnum


class Judgement(StrEnum):
    PASS = "pass"  # the output is what upstream expects (its .exp file, or CPython's run)
    FAIL = "fail"  # it differs
    SKIP = "skip"  # the file printed SKIP (or cannot run on the board, for a reason upstream gives too)
