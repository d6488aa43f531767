"""Temp files that name their owner, so a later run can remove what a dead run left.

A rack process killed by SIGKILL cannot remove its folders and sockets. Each
`hil-KIND-OWNER-...` name carries its owner as `PID.START.PIDNS`: the process start
time (from /proc/PID/stat) tells a reused pid from the owner, and the pid namespace
tells a pid we cannot see from one that is gone. `sweep` removes only what provably
has no owner any more: ours (same user), of our pid namespace, and whose process is
gone or a zombie. Names without an owner (older runs) are left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

_OWNED = re.compile(r"^hil-[a-z]+-(\d+)\.(\d+)\.(\d+)-")


def process_start(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot), None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def _pid_namespace() -> int:
    try:
        return int(os.readlink("/proc/self/ns/pid").strip("pid:[]"))
    except (OSError, ValueError):
        return 0


def owner_tag() -> str:
    """This process as a temp name's owner: `PID.START.PIDNS`."""
    pid = os.getpid()
    return f"{pid}.{process_start(pid)}.{_pid_namespace()}"


def owned_name(kind: str, rest: str) -> str:
    """`hil-KIND-OWNER-REST`: a temp file name owned by this process."""
    return f"hil-{kind}-{owner_tag()}-{rest}"


def owned_tempdir(kind: str) -> Path:
    """A new temp folder `hil-KIND-OWNER-XXXXXXXX`, owned by this process."""
    return Path(tempfile.mkdtemp(prefix=owned_name(kind, "")))


def owner(path: Path) -> tuple[int, int, int] | None:
    """The (pid, start, pid namespace) a temp name records as its owner, None when it records none."""
    found = _OWNED.match(path.name)
    return tuple(int(n) for n in found.groups()) if found else None


def owner_gone(path: Path) -> bool:
    """True only when `path` names an owner of ours that provably no longer runs."""
    recorded = owner(path)
    if recorded is None:
        return False
    pid, start, namespace = recorded
    try:
        ours = path.lstat().st_uid == os.getuid()
    except OSError:
        return False
    return ours and namespace == _pid_namespace() and process_start(pid) != start


def sweep(folder: Path | None = None) -> list[Path]:
    """Remove the `hil-*` entries of `folder` (the temp folder) whose owner is gone; returns them."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob("hil-*"):
        if not owner_gone(path):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)  # another run may be sweeping it too
        else:
            path.unlink(missing_ok=True)
        if not os.path.lexists(path):
            removed.append(path)
    return removed
