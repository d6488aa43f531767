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


def test_a_ctrl_c_while_the_port_starts_does_not_kill_it_at_its_exit():
    """A SIGINT before the port has its own handler must not wait in Python and end `sys.exit()` as a crash."""
    binary = find_micropython()
    argv = list(command(binary))
    if len(argv) < 5 or "-c" not in argv:
        pytest.skip(f"{binary} is started as it is")
    code = argv.index("-c") + 1
    argv[code] = argv[code].replace("from micropython_run", "import os; os.kill(os.getpid(), signal.SIGINT); "
                                    "from micropython_run")  # as a Ctrl-C through the pty would, at that moment
    done = subprocess.run(argv, input="import sys\nprint('up')\nsys.exit()\n", capture_output=True, text=True,
                          timeout=30)
    assert (done.returncode, done.stdout.split()) == (0, ["up"]), done.stderr


def test_any_other_binary_is_started_as_it_is(tmp_path):
    own = tmp_path / "micropython"
    own.write_text("#!/bin/sh\nexec true\n")
    assert command(str(own)) == (str(own),)
    assert command("/nonexistent/micropython") == ("/nonexistent/micropython",)
