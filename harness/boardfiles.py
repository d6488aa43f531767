"""Files a test opens on the board (MicroPython's TLS multitests read `ec_cert.der`), put there for it.

Upstream's runner leaves this to the developer (`mpremote rtc --set cp multi_net/*.der :`,
tests/README.md). esp-hil does it per test: the files beside the test that its code
names are written to the board's working folder first, and the board's clock is set
to this host's (a board's RTC starts at 2000, before any certificate is valid). Files
the board did not have before are removed after, so the board is left as it was found.
"""

from __future__ import annotations

import ast
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

from esp_hil.board import Board, DeviceError
from esp_hil.errors import HilError

_SKIP_SUFFIXES = (".py", ".exp")

# Boards with machine.RTC (ESP32, ESP8266) get this host's time, as `mpremote rtc --set` does; the unix
# port has none and keeps the host's clock.
_SET_CLOCK = """
try:
    import machine
    machine.RTC().datetime({now!r})
except (ImportError, AttributeError):
    pass
"""
_PRESENT = """
import os
for n in {names!r}:
    try:
        os.stat(n)
        print(n)
    except OSError:
        pass
"""
_REMOVE = "import os\nfor n in {names!r}:\n    os.remove(n)\n"


def named_files(source: str, folder: Path) -> list[Path]:
    """The files in `folder` that the test's code names in a string constant (`"ec_cert.der"`), sorted."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    return sorted(folder / name for name in names
                  if name and "/" not in name and not name.endswith(_SKIP_SUFFIXES) and (folder / name).is_file())


@contextmanager
def staged(board: Board, files: Sequence[Path]) -> Iterator[None]:
    """`files` in the board's working folder while the test runs, its clock set; those it lacked removed after."""
    if not files:
        yield
        return
    names = [f.name for f in files]
    had = set(board.exec(_PRESENT.format(names=names)).split())
    now = datetime.now(timezone.utc)
    board.exec(_SET_CLOCK.format(now=(now.year, now.month, now.day, now.weekday(), now.hour, now.minute,
                                      now.second, 0)))
    for path in files:
        board.put(path, path.name)
    added = [n for n in names if n not in had]
    try:
        yield
    finally:
        if added:
            try:
                board.exec(_REMOVE.format(names=added))
            except (HilError, DeviceError) as exc:  # the board is in trouble: the test's own error says more
                board.transcript.note(f"could not remove {', '.join(added)}: {str(exc).splitlines()[0]}")
