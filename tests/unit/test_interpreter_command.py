"""How a virtual board starts the unix port: PyPI's console script replaced by what it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from esp_hil.virtual.interpreter import command, find_micropython


def test_pypis_console_script_is_started_without_itself():
    binary = find_micropython()
    if "from micropython_unix import main" not in Path(binary).read_text(errors="replace"):
        pytest.skip(f"{binary} is not PyPI's console script")
    argv = command(binary)
    assert Path(argv[0]).parent == Path(sys.executable).parent and argv[-1] == binary  # argv[0] of the port
    done = subprocess.run(argv, input="import sys\nprint(1 + 1, sys.implementation.name)\n", capture_output=True,
                          text=True, timeout=30)
    assert done.stdout.split() == ["2", "micropython"]


def test_any_other_binary_is_started_as_it_is(tmp_path):
    own = tmp_path / "micropython"
    own.write_text("#!/bin/sh\nexec true\n")
    assert command(str(own)) == (str(own),)
    assert command("/nonexistent/micropython") == ("/nonexistent/micropython",)
