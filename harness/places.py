"""Where a run's files are, one answer for `hil` and for pytest.

A project folder is the nearest folder, at or above where the command runs, laid
out as esp-hil's checkout is (a `boards/` or `firmware/` folder in it): a checkout,
or a lab's own folder. Without one, the folder the command runs in. The rack
defaults to the project's boards/virtual.toml, else the virtual rack the package
ships (`esp_hil.boards`), so an installed wheel runs too.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_MARKERS = ("boards", "firmware")


def project(start: Path | None = None) -> Path:
    """The project folder for a command run in `start` (default: the current folder)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).is_dir() for marker in _MARKERS):
            return folder
    return here


def rack(start: Path | None = None) -> Path:
    """The default rack: the project's boards/virtual.toml, else the packaged one."""
    local = project(start) / "boards" / "virtual.toml"
    return local if local.is_file() else Path(str(files("esp_hil.boards") / "virtual.toml"))


def results_db(start: Path | None = None) -> Path:
    return project(start) / "results" / "results.sqlite"


def manifest(start: Path | None = None) -> Path:
    return project(start) / "firmware" / "manifest.toml"
