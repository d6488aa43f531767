"""Faults on demand for virtual boards: what a rack sees, so the recovery code runs for real.

kill     the interpreter dies (a brown-out or panic): the board reboots by itself
hang     the interpreter stops answering (SIGSTOP): only a hard reset brings it back
drop     the RFC 2217 connection is closed under the client (a rack host's link drops)
vanish   the port goes away for N seconds, then comes back (USB re-enumeration)
noise    N bytes of line noise on the UART
slow     the line slows to BAUD (0 restores full speed)
romlimit the bootloader's link cannot hold more than BAUD (0: no limit): esptool's sync fails above
brownout the supply dips during a flash write: the image's first sector is lost, the chip resets into
         "no firmware" (only a reflash brings it back)
netcut   the board's network link goes down (network = "netns" boards and boards built from source)
netup    ... and comes back

Each is reachable in-process (`inject(board, ...)`) and, for boards served by
`hil virtual`, through a control socket beside the board (`hil fault URL FAULT`),
named by the board's port and by the rack process (so a dead rack's can be swept).
"""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import threading
from pathlib import Path

from esp_hil.errors import HilError
from esp_hil.virtual.leftovers import owned_name

FAULTS = ("kill", "hang", "drop", "vanish", "noise", "slow", "romlimit", "brownout", "netcut", "netup")


def inject(board, fault: str, arg: float = 0) -> None:
    """Apply one fault to a VirtualBoard."""
    if fault == "kill":
        board.run.signal(signal.SIGKILL)
    elif fault == "hang":
        board.run.signal(signal.SIGSTOP)
    elif fault == "drop":
        board.server.drop_client()
    elif fault == "vanish":
        board.server.suspend(arg or 2.0)
    elif fault == "noise":
        board.emit(os.urandom(int(arg) or 64))
    elif fault == "slow":
        board.slow_baud = int(arg) or None
    elif fault == "romlimit":
        board.rom_max_baud = int(arg) or None
    elif fault == "brownout":
        board.brownout()
    elif fault in ("netcut", "netup"):
        link = board.netns or board.tap
        if link is None:
            raise HilError("the board shares the host's network; netcut needs network = \"netns\" "
                           "or a board built from source", board=board.id)
        link.cut() if fault == "netcut" else link.restore()
    else:
        raise HilError(f"unknown fault {fault!r}", hint=f"one of {', '.join(FAULTS)}")


def _port(url: str) -> str:
    return url.rsplit(":", 1)[-1].split("?")[0]


def control_path(url: str) -> Path:
    """Where this process serves the control socket of the virtual board at `url`."""
    return Path(tempfile.gettempdir()) / owned_name("fault", f"{_port(url)}.ctl")


def _served(url: str) -> list[Path]:
    """The control sockets for `url`'s port: the live rack's, and any a killed rack left."""
    return sorted(Path(tempfile.gettempdir()).glob(f"hil-fault-*-{_port(url)}.ctl"))


class FaultControl:
    """A Unix socket accepting `FAULT [ARG]` lines for one board.

    Its own accept loop rather than socketserver's: `serve_forever` notices a shutdown
    only at its next half-second poll, and every rack process paid that on the way out
    of every run.
    """

    def __init__(self, board):
        self.path = control_path(board.url)
        self.path.unlink(missing_ok=True)
        self._board = board
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        self._listener.listen()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"faults-{board.id}")

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() at once (EINVAL)
        except OSError:
            pass
        self._listener.close()
        self._thread.join(timeout=2)
        self.path.unlink(missing_ok=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._handle, args=(conn,), daemon=True, name="fault").start()

    def _handle(self, conn: socket.socket) -> None:
        """One request: a fault may take a while (vanish), so each has its own thread."""
        with conn, conn.makefile("rwb") as stream:
            words = stream.readline().decode().split()
            try:
                inject(self._board, words[0] if words else "", float(words[1]) if len(words) > 1 else 0)
                stream.write(b"ok\n")
            except (HilError, ValueError) as exc:
                stream.write(f"error: {exc}\n".encode())


def send(url: str, fault: str, arg: float = 0) -> None:
    """Ask the `hil virtual` process serving `url` to apply a fault."""
    for path in _served(url):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(str(path))
                s.sendall(f"{fault} {arg}\n".encode())
                answer = s.makefile().readline().strip()
        except OSError:
            continue  # a killed rack's socket: no one listens
        if answer != "ok":
            raise HilError(answer.removeprefix("error: "))
        return
    raise HilError(f"no virtual board serves {url}", hint="faults apply to boards served by `hil virtual`")
