"""Child processes that die with the process that started them, however it dies.

A run stopped by SIGKILL (a CI timeout, the OOM killer) runs no cleanup of its own:
without this its rack process and interpreters would be reparented to init and serve
their ports forever. Two mechanisms, for two kinds of child:

- any program: `die_with_parent` as `preexec_fn` asks the kernel (prctl
  PR_SET_PDEATHSIG) to SIGKILL the child when its parent goes. The kernel's "parent"
  is the *thread* that forked, so a child forked from a short-lived thread (an
  RFC 2217 client's, a reader's) would die with that thread: `popen` forks from the
  main thread or from one thread that lives as long as the process. A call that
  waits for its child to end (`subprocess.run`, a loop over its output) outlives it
  anyway and passes `die_with_parent` itself.
- a Python child that must clean up first (the rack process): it holds the read end
  of a pipe whose write end only its parent holds; end of file on it means the
  parent is gone (`on_parent_exit`), and it shuts down as on SIGTERM.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_forking_pid = os.getpid()  # the pid a child forked now has as parent (kept current by the hook below)
_forker: ThreadPoolExecutor | None = None
_forker_lock = threading.Lock()


def _before_fork() -> None:
    global _forking_pid
    _forking_pid = os.getpid()


os.register_at_fork(before=_before_fork)  # subprocess runs this hook whenever a preexec_fn is given


class ParentGone(RuntimeError):
    """The parent died between the fork and the parent-death signal taking effect."""


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """A `preexec_fn`: the child gets `signum` when the thread that forked it ends.

    The parent may die before prctl takes effect (the kernel then never sends the
    signal): the child checks it is still the forking process's child, and fails
    otherwise. Fork from a thread that outlives the child (see `popen`).
    """
    if _libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != _forking_pid:
        raise ParentGone(f"parent {_forking_pid} died before the child started")


def preexec(*steps: Callable[[], None] | None) -> Callable[[], None]:
    """One `preexec_fn` running each of `steps` (None skipped) in order."""
    def run() -> None:
        for step in steps:
            if step is not None:
                step()
    return run


def popen(args: list[str], *, preexec_fn: Callable[[], None] | None = None, **kwargs) -> subprocess.Popen:
    """`subprocess.Popen` whose child is SIGKILLed when this process dies, from whatever thread it is called.

    The fork happens on the main thread or on a thread of this module that lives as
    long as the process, so the parent-death signal means "this process died", not
    "the calling thread ended".
    """
    kwargs["preexec_fn"] = preexec(preexec_fn, die_with_parent)
    if threading.current_thread() is threading.main_thread():
        return subprocess.Popen(args, **kwargs)
    return _lasting_thread().submit(subprocess.Popen, args, **kwargs).result()


def _lasting_thread() -> ThreadPoolExecutor:
    global _forker
    with _forker_lock:
        if _forker is None:
            _forker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hil-forker")
        return _forker


def on_parent_exit(fd: int, then: Callable[[], None]) -> None:
    """Call `then` (on a thread) once the pipe `fd` reads end of file: whoever held its write end is gone."""
    def watch() -> None:
        try:
            while os.read(fd, 512):
                pass
        except OSError:
            pass
        then()
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
