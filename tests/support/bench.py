"""A pytest run in a subprocess against one virtual board used as a bench board, recording into a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from esp_hil.inventory import BoardSpec


def run_on(pytester: pytest.Pytester, spec: BoardSpec, db: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--hil-port", spec.url, "--hil-chip", "esp32", "--hil-results", str(db),
                                         "-p", "no:randomly", *args)
