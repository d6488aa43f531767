"""Nothing outlives the run: whatever stops a run, none of its processes, ports or temp files stay.

Each check counts only the run's own (its processes by parent chain, recorded before
the kill; its listening sockets by inode; its temp files in a temp folder of its
own), so it holds on a host where other runs go on at the same time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from esp_hil.virtual.leftovers import process_start, sweep
from tests.support import runs

ROOT = Path(__file__).resolve().parent.parent.parent

SLEEPER = """
import os, time

def test_sleeps_on_a_board(board):
    with open(os.environ["HIL_TEST_READY"], "w") as f:
        f.write(board.spec.url)
    time.sleep(300)
"""
ONE_BOARD = '[[board]]\nid = "v"\nchip = "esp32"\nvirtual = true\nnetwork = "host"\n'


def _run_sleeping_on_a_board(tmp_path: Path, env: dict, args: list[str]) -> subprocess.Popen:
    """A pytest run whose only test holds a virtual board and sleeps; returned once the board is up."""
    (tmp_path / "test_sleeper.py").write_text(SLEEPER)
    (tmp_path / "rack.toml").write_text(ONE_BOARD)
    ready = tmp_path / "ready"
    with open(tmp_path / "run.log", "wb") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "pytest", "test_sleeper.py", "-q", "-p", "no:cacheprovider",
             "--hil-boards", "rack.toml", "--hil-results", str(tmp_path / "results.sqlite"), *args],
            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, env={**env, "HIL_TEST_READY": str(ready)})
    if not runs.wait_until(lambda: ready.exists() or run.poll() is not None, timeout=90) or not ready.exists():
        run.kill()
        pytest.fail("the run did not reach its test:\n" + (tmp_path / "run.log").read_text()[-2000:])
    return run


@pytest.mark.parametrize("signum, args, within", [
    (signal.SIGTERM, [], 15),
    (signal.SIGKILL, [], 15),
    (signal.SIGTERM, ["-n", "1"], 45),  # an xdist worker lives on until execnet gives up on it (seen: ~15 s)
], ids=["SIGTERM", "SIGKILL", "SIGTERM-xdist"])
def test_a_run_stopped_mid_test_leaves_nothing_of_its_own(tmp_path, signum, args, within):
    mark = uuid.uuid4().hex
    with runs.private_tmp() as tmp:
        run = _run_sleeping_on_a_board(tmp_path, {**os.environ, "TMPDIR": str(tmp), runs.RUN_MARK: mark}, args)
        try:
            processes = runs.descendants(run.pid)
            sockets = runs.listening(processes)
            files = set(tmp.glob("hil-*"))
            commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in processes]
            assert any(b"esp_hil.cli\0virtual" in c for c in commands) and any(b"micropython" in c for c in commands)
            assert sockets, "the board's RFC 2217 port"
            assert {f.name.split("-")[1] for f in files} == {"rack", "virtual", "fault"}
            assert runs.owned_by(processes, tmp) == files
            run.send_signal(signum)
            assert run.wait(timeout=30) == -signum
        finally:
            run.kill()
            run.wait()
        try:
            runs.wait_until(lambda: not runs.alive(processes) and not set(tmp.glob("hil-*")), timeout=within)
            assert runs.alive(processes) == {}
            assert runs.marked(mark) == set()
            assert sockets & runs.listening_sockets() == set()
            assert set(tmp.glob("hil-*")) == set()
        finally:
            runs.kill(processes)


def _rack(tmp_path: Path, env: dict, started: list[subprocess.Popen]) -> tuple[subprocess.Popen, str]:
    """`hil virtual` with one board (added to `started`), and its board's URL."""
    proc = subprocess.Popen([sys.executable, "-m", "esp_hil.cli", "virtual",
                             "--inventory-out", str(tmp_path / f"{len(started)}.toml")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    started.append(proc)
    return proc, proc.stdout.readline().split()[1]


def test_a_killed_rack_takes_its_interpreter_and_the_next_rack_sweeps_only_its_leftovers(tmp_path):
    started: list[subprocess.Popen] = []
    with runs.private_tmp() as tmp:
        env = {**os.environ, "TMPDIR": str(tmp)}
        try:
            killed, _ = _rack(tmp_path, env, started)
            live, live_url = _rack(tmp_path, env, started)
            processes = runs.descendants(killed.pid)
            assert len(processes) == 2  # the rack and its board's interpreter
            left, kept = runs.owned_by({killed.pid}, tmp), runs.owned_by({live.pid}, tmp)
            assert len(left) == len(kept) == 2  # a workdir and a fault-control socket each
            killed.kill()
            killed.wait()
            assert runs.wait_until(lambda: not runs.alive(processes), timeout=5)
            assert all(f.exists() for f in left)  # no one could remove them: the next rack does
            new, _ = _rack(tmp_path, env, started)
            new.send_signal(signal.SIGTERM)
            assert new.wait(timeout=15) == 0
            assert not any(f.exists() for f in left)
            assert all(f.exists() for f in kept)
            faulted = subprocess.run([sys.executable, "-m", "esp_hil.cli", "fault", live_url, "noise", "4"],
                                     cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
            assert faulted.returncode == 0, faulted.stderr
        finally:
            for proc in started:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=15)


PARENT = """
import subprocess, sys, threading, time
from esp_hil.virtual import lifetime

started = []
thread = threading.Thread(target=lambda: started.append(lifetime.popen(["sleep", "300"])))
thread.start()
thread.join()
direct = subprocess.Popen(["sleep", "300"], preexec_fn=lifetime.die_with_parent)
print(started[0].pid, direct.pid, flush=True)
time.sleep(300)
"""


def test_children_die_with_their_parent_though_a_thread_now_gone_started_them():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    children = {int(pid): process_start(int(pid)) for pid in parent.stdout.readline().split()}
    try:
        time.sleep(0.5)
        assert runs.alive(children) == children  # the thread that asked for one has ended: it lives on
        parent.kill()
        assert runs.wait_until(lambda: not runs.alive(children), timeout=5)
    finally:
        parent.kill()
        parent.wait()
        runs.kill(children)


ORPHAN = """
import os, signal, subprocess, sys, time
from esp_hil.virtual import lifetime

def parent_dies_first():
    parent = os.getppid()
    with open(sys.argv[1], "w") as f:
        f.write(str(os.getpid()))
    os.kill(parent, signal.SIGKILL)
    while os.getppid() == parent:
        time.sleep(0.01)

subprocess.Popen(["sleep", "300"], preexec_fn=lifetime.preexec(parent_dies_first, lifetime.die_with_parent))
"""


def test_a_child_whose_parent_died_before_it_started_does_not_run(tmp_path):
    subprocess.run([sys.executable, "-c", ORPHAN, str(tmp_path / "child")], cwd=ROOT, timeout=30)
    child = int((tmp_path / "child").read_text())
    orphan = {child: process_start(child)}
    try:
        assert runs.wait_until(lambda: not runs.alive(orphan), timeout=5), "the orphan ran `sleep 300`"
    finally:
        runs.kill(orphan)


# Each starts, as the harness does, a program that works for minutes, then waits on it.
MAKE = """
import sys
from pathlib import Path
from esp_hil.virtual.source.build import _run_make
folder = Path(sys.argv[1])
(folder / "Makefile").write_text("all:\\n\\tsleep 300\\n")
_run_make(["make", "-C", str(folder)], folder / "make.log", print, 0.0)
"""
SUITE = """
import sys
from pathlib import Path
from esp_hil.cli.mutations import run_suite
folder = Path(sys.argv[1])
(folder / "test_waits.py").write_text("import time\\ndef test_waits():\\n    time.sleep(300)\\n")
run_suite(folder / "tree", "--hil-port", "/dev/null", "--hil-chip", "esp32", suite="test_waits.py", cwd=folder)
"""
MULTITEST_PEER = """
import sys, time
from pathlib import Path
from esp_hil.multitest import HostInstance
HostInstance([sys.executable], Path(sys.argv[1]), "cpython1", "127.0.0.1").start("import time\\ntime.sleep(300)\\n")
time.sleep(300)
"""
UPSTREAM_TRUTH = """
import sys
from pathlib import Path
from esp_hil.upstream import expected_output
(Path(sys.argv[1]) / "waits.py").write_text("import time\\ntime.sleep(300)\\n")
expected_output(Path(sys.argv[1]) / "waits.py")
"""


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""  # gone meanwhile


@pytest.mark.parametrize("starter, working", [
    (MAKE, b"sleep\0" + b"300"),                 # a firmware build's make (and what it runs)
    (SUITE, b"test_waits.py"),                   # the suite `hil mutations` runs for each revert
    (MULTITEST_PEER, b"time.sleep(300)"),        # a multitest instance on this host
    (UPSTREAM_TRUTH, b"waits.py"),               # CPython, printing what an upstream file should print
], ids=["make", "mutations-suite", "multitest-peer", "upstream-truth"])
def test_what_a_run_starts_for_its_work_dies_with_it(tmp_path, starter, working):
    """SIGKILLed mid-work, the starter leaves no process, and its temp folders go with the next sweep."""
    processes: dict[int, int] = {}
    with runs.private_tmp() as tmp:
        parent = subprocess.Popen([sys.executable, "-c", starter, str(tmp_path)], cwd=ROOT,
                                  env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.DEVNULL)
        try:
            def started() -> bool:
                return any(working in _cmdline(pid) for pid in runs.descendants(parent.pid) if pid != parent.pid)
            assert runs.wait_until(started, timeout=30), "the work never started"
            processes = runs.descendants(parent.pid)
            parent.kill()
            parent.wait()
            assert runs.wait_until(lambda: not runs.alive(processes), timeout=10), \
                [_cmdline(pid) for pid in runs.alive(processes)]
            sweep(tmp)
            assert set(tmp.glob("hil-*")) == set()
        finally:
            parent.kill()
            parent.wait()
            runs.kill(processes)
