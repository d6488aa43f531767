"""A source-built board's network: a TAP device in a namespace of its own, reached through a socket broker.

The board's lwIP sends and receives Ethernet frames on a TAP device. The device
lives in a network namespace made for this board alone, so nothing touches this
host's own interfaces. A small broker process runs inside that namespace: it
creates the namespace's TAP device (`hil0`, 10.213.0.1/24 on the host side; the
board is 10.213.0.2), hands the TAP's descriptor to the rack process, and then
makes sockets inside the namespace for whoever asks on its UNIX socket, passing
them back as descriptors (SCM_RIGHTS). Host peers talk TCP to the board with
those sockets exactly as they would to a board on Wi-Fi.

The namespace has no name (it is not under /run/netns): it exists while the broker,
the TAP descriptor or a socket made in it is open, so it cannot outlive the run.
As root it is made with `unshare --net`; without root, inside a user namespace
(`unshare --user --map-root-user --net`) where the kernel allows that.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import selectors
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

from esp_hil.errors import HilError
from esp_hil.virtual.lifetime import die_with_parent

HOST_IP = "10.213.0.1"   # this host's side of the TAP, inside the namespace
BOARD_IP = "10.213.0.2"  # the board's lwIP
NETMASK = "255.255.255.0"
BOARD_MAC = "02:68:69:6c:00:02"
TAP_NAME = "hil0"
START_TIMEOUT = 10.0

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


class TapNetwork:
    """The namespace, TAP and broker of one board (owned by the rack process)."""

    def __init__(self, board_id: str, workdir: Path):
        self.board_id = board_id
        self.socket_path = workdir / "net.sock"
        self.tap_fd = -1
        self._control: socket.socket | None = None
        self._proc: subprocess.Popen | None = None

    @classmethod
    def start(cls, board_id: str, workdir: Path) -> "TapNetwork":
        net = cls(board_id, workdir)
        try:
            net._start()
        except BaseException:
            net.close()
            raise
        return net

    def _start(self) -> None:
        for tool in ("unshare", "ip"):
            if shutil.which(tool) is None:
                raise HilError(f"a board built from source needs `{tool}` (util-linux, iproute2)",
                               board=self.board_id, hint="apt-get install util-linux iproute2")
        ours, theirs = socket.socketpair()
        self._control = ours
        unshare = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--net"]
        self.socket_path.unlink(missing_ok=True)
        self._proc = subprocess.Popen(
            [*unshare, "--", sys.executable, "-m", "esp_hil.virtual.tapnet", "--control-fd", str(theirs.fileno()),
             "--listen", str(self.socket_path)],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, preexec_fn=die_with_parent,
        )
        theirs.close()
        ours.settimeout(START_TIMEOUT)
        try:
            msg, fds, _, _ = socket.recv_fds(ours, 1024, 1)
        except TimeoutError:
            msg, fds = b"", []
        if not fds:
            raise HilError(f"cannot set up its network: {self._why(msg)}", board=self.board_id,
                           hint=_FIX)
        self.tap_fd = fds[0]
        os.set_inheritable(self.tap_fd, False)
        ours.settimeout(None)

    def _why(self, msg: bytes) -> str:
        text = msg.decode(errors="replace").strip()
        if not text and self._proc is not None:
            self._proc.kill()
            _, err = self._proc.communicate(timeout=5)
            text = err.decode(errors="replace").strip().splitlines()[-1:] or ["the namespace helper said nothing"]
            text = text[0]
        return text

    def env(self) -> dict[str, str]:
        """What the board's firmware reads at start: its link and address."""
        return {"HIL_TAP_FD": str(self.tap_fd), "HIL_TAP_IP": BOARD_IP, "HIL_TAP_NETMASK": NETMASK,
                "HIL_TAP_GW": HOST_IP, "HIL_TAP_MAC": BOARD_MAC}

    def cut(self) -> None:
        """The link goes down (fault `netcut`): frames stop both ways."""
        self._command(b"down")

    def restore(self) -> None:
        self._command(b"up")

    def _command(self, what: bytes) -> None:
        assert self._control is not None
        self._control.sendall(what + b"\n")
        reply = self._control.recv(256)
        if not reply.startswith(b"ok"):
            raise HilError(f"network helper: {reply.decode(errors='replace').strip()}", board=self.board_id)

    def close(self) -> None:
        if self._control is not None:
            self._control.close()  # the broker exits when its control socket closes
            self._control = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stderr:
                self._proc.stderr.close()
            self._proc = None
        if self.tap_fd >= 0:
            os.close(self.tap_fd)
            self.tap_fd = -1
        self.socket_path.unlink(missing_ok=True)


_FIX = ("run as root; or allow unprivileged user namespaces (Debian: sysctl kernel.unprivileged_userns_clone=1) "
        "and let users open /dev/net/tun (mode 0666, as most distributions ship it)")


# ---- the broker, inside the namespace --------------------------------------------------


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _open_tap() -> int:
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR)
    except OSError as exc:
        raise OSError(f"cannot open /dev/net/tun: {exc.strerror}") from None
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", TAP_NAME.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def _serve(control: socket.socket, listen_path: str) -> None:
    """Make sockets in this namespace on request; leave when the control socket closes."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(listen_path)
    listener.listen(16)
    tap = _open_tap()
    _ip("link", "set", "lo", "up")
    _ip("addr", "add", f"{HOST_IP}/24", "dev", TAP_NAME)
    _ip("link", "set", TAP_NAME, "up")
    socket.send_fds(control, [b"ok\n"], [tap])
    os.close(tap)
    sel = selectors.DefaultSelector()
    sel.register(control, selectors.EVENT_READ, "control")
    sel.register(listener, selectors.EVENT_READ, "listen")
    while True:
        for key, _ in sel.select():
            if key.data == "control":
                line = control.recv(256)
                if not line:
                    return
                _ip("link", "set", TAP_NAME, "down" if line.strip() == b"down" else "up")
                control.sendall(b"ok\n")
            elif key.data == "listen":
                conn, _ = listener.accept()
                sel.register(conn, selectors.EVENT_READ, "client")
            else:
                _answer(sel, key.fileobj)


def _answer(sel: selectors.BaseSelector, conn) -> None:
    """One request: `FAMILY TYPE PROTO\\n`; the answer is the new socket's descriptor."""
    request = conn.recv(64)
    if not request:
        sel.unregister(conn)
        conn.close()
        return
    try:
        family, kind, proto = (int(x) for x in request.split())
        made = socket.socket(family, kind, proto)
    except (ValueError, OSError) as exc:
        conn.sendall(f"error {exc}\n".encode())
        return
    socket.send_fds(conn, [b"ok\n"], [made.fileno()])
    made.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m esp_hil.virtual.tapnet")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--listen", required=True)
    args = parser.parse_args(argv)
    control = socket.socket(fileno=args.control_fd)
    try:
        _serve(control, args.listen)
    except OSError as exc:
        control.sendall(f"{exc}\n".encode())
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
