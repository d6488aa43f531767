"""`hil --help` and `hil X` import only what X needs: the skip path pays for no subcommand it does not run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from esp_hil.cli import COMMANDS

HEAVY = ("esptool", "serial", "mpremote")


def _imported_after(code: str) -> list[str]:
    """The heavy packages in sys.modules after `code` ran in a fresh interpreter."""
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [name for name in json.loads(done.stdout.splitlines()[-1]) if name in HEAVY]


def test_building_the_parser_imports_no_subcommand():
    assert _imported_after("import esp_hil.cli\nesp_hil.cli.build_parser([])") == []
    assert _imported_after("import esp_hil.cli\ntry:\n    esp_hil.cli.main(['--help'])\nexcept SystemExit:\n    pass") == []


@pytest.mark.parametrize("command", ["report", "results", "labgrid", "boards"])
def test_a_command_that_opens_no_board_imports_no_board_tool(command):
    """`hil boards` imports esptool and the REPL only for --probe, when it opens a board."""
    assert command in COMMANDS
    assert _imported_after(f"import esp_hil.cli\nesp_hil.cli.build_parser([{command!r}])") == []
