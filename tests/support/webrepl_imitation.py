"""A virtual WebREPL endpoint: the firmware's WebREPL server, imitated on the host for our own tests.

The unix port has no WebREPL, so a virtual board gets this beside it. It emulates
the firmware's own minimal server (micropython-lib webrepl.py + extmod/modwebrepl.c +
extmod/modwebsocket.c), quirks included, so its framing is written here by hand
rather than taken from a websockets library that would be more correct than the
board: header names matched case-sensitively, an HTML page for a plain HTTP
request, the `Password: ` prompt with only the first 10 characters kept,
`Access denied` then EOF, one client at a time (a second is accepted, handshaken,
then closed, with a line on the REPL), a close frame answered with `\\x88\\x00` and
then EOF, pings ignored, frames of at most 65535 bytes, and the binary put/get/
version records with `WB` replies; a failing file open ends the session as the
exception inside WebREPL's read does on a board.

It is bridged to a `VirtualBoard`: text frames go to `board.receive`, the board's
output comes back through `board.add_tap`, files live in `board.sandbox`.
Only tests/system/test_webrepl.py uses it, so it is not installed; boards built from
source run the firmware's own modwebrepl.c.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
import struct
import threading
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HTML = (b'HTTP/1.0 200 OK\r\n\r\n<base href="https://micropython.org/webrepl/"></base>\r\n'
        b'<script src="webrepl_content.js"></script>\r\n')
REQUEST = struct.Struct("<2sBBQLH64s")
PUT, GET, VERSION = 1, 2, 3
MAX_FRAME = 65535
TEXT, BINARY, CLOSE = 0x1, 0x2, 0x8


class SessionEnd(Exception):
    """The session is over; `uart` is what the board prints about it on its UART."""

    def __init__(self, uart: bytes = b""):
        super().__init__(uart)
        self.uart = uart


class VirtualWebrepl:
    """WebREPL for one virtual board on `ws://host:port/` (port 0: any free port)."""

    def __init__(self, board: Any, password: str, host: str = "127.0.0.1", port: int = 0,
                 version: tuple[int, int, int] = (1, 27, 0)):
        self.board = board
        self.password = password.encode()
        self.host = host
        self.version = version
        self._want_port = port
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._active: _Session | None = None
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        assert self._listener is not None, "start() first"
        return self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self._want_port))
        listener.listen(2)
        listener.settimeout(0.1)
        self._listener = listener
        self._spawn(self._accept_loop)

    def stop(self) -> None:
        """Stop listening and drop any client at once (as a board losing power or Wi-Fi)."""
        self._stopping.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock, close=False)
        for thread in self._threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=f"webrepl-{self.board.id}")
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, addr = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            sock.settimeout(None)
            with self._lock:
                self._sockets.add(sock)
            self._spawn(self._serve, sock, addr)

    def release(self, session: "_Session") -> None:
        """Free the dupterm slot (if this session still holds it) for the next client."""
        with self._lock:
            if self._active is session:
                self._active = None

    def _serve(self, sock: socket.socket, addr: tuple[str, int]) -> None:
        try:
            if not _handshake(sock):
                sock.sendall(HTML)
                return
            with self._lock:
                busy = self._active is not None
                session = None if busy else _Session(self, sock)
                self._active = session or self._active
            if session is None:  # webrepl.py checks dupterm after the handshake, then prints and closes
                self.board.emit(f"\r\nConcurrent WebREPL connection from {addr} rejected\r\n".encode())
                return
            self.board.emit(f"\r\nWebREPL connection from: {addr}\r\n".encode())
            try:
                session.run()
            finally:
                self.release(session)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(sock)
            _shutdown(sock)


class _Session:
    """One logged-in (or logging-in) client: modwebrepl's state machine over the websocket."""

    def __init__(self, server: VirtualWebrepl, sock: socket.socket):
        self.server = server
        self.board = server.board
        self.sock = sock
        self.send_lock = threading.Lock()
        self.authed = False
        self.typed = b""
        self.header = b""
        self.file: BinaryIO | None = None
        self.op = 0
        self.remaining = 0
        self.remove_tap = lambda: None

    def run(self) -> None:
        self.send_frame(TEXT, b"Password: ")
        try:
            while True:
                opcode, payload = self.read_frame()
                if opcode == CLOSE:
                    self.send_raw(b"\x88\x00")
                    raise SessionEnd(b"dupterm: EOF received, deactivating\r\n")
                if opcode in (TEXT, BINARY, 0x0):
                    self.feed(opcode == BINARY, payload)
                # pings and pongs: ignored, as the board does
        except SessionEnd as end:
            self.finish(end.uart)
        except OSError:
            self.finish(b"dupterm: EOF received, deactivating\r\n")

    def finish(self, uart: bytes) -> None:
        """Detach from the REPL, print what the board prints, close (EOF for the client).

        In that order, as os_dupterm.c does it: the slot is free before the client
        sees its connection end, so a client that reconnects at once is not turned away.
        """
        self.remove_tap()
        if self.file is not None:
            self.file.close()
        self.server.release(self)
        if uart and not self.server._stopping.is_set():
            self.board.emit(uart)
        _shutdown(self.sock, close=False)  # _serve closes it

    # --- modwebrepl's read side ------------------------------------------------------

    def feed(self, binary: bool, data: bytes) -> None:
        if not self.authed:
            self.password(data)
        elif not binary and not self.file and self.op == 0:
            self.board.receive(data)
        else:
            self.file_bytes(data)

    def password(self, data: bytes) -> None:
        for i, byte in enumerate(data):
            if byte in b"\r\n":
                if self.typed != self.server.password:
                    self.send_frame(TEXT, b"\r\nAccess denied\r\n")
                    raise SessionEnd(b"dupterm: EOF received, deactivating\r\n")
                self.authed = True
                self.send_frame(TEXT, b"\r\nWebREPL connected\r\n>>> ")
                self.remove_tap = self.board.add_tap(self.output)
                if data[i + 1:]:
                    self.feed(False, data[i + 1:])
                return
            if len(self.typed) < 10:  # modwebrepl keeps the first 10 characters only
                self.typed += bytes([byte])

    def file_bytes(self, data: bytes) -> None:
        while data:
            if self.op == PUT:
                take, data = data[:self.remaining], data[self.remaining:]
                self.file.write(take)
                self.remaining -= len(take)
                if not self.remaining:
                    self.done()
            elif self.op == GET:  # each byte the client sends asks for the next chunk
                data = data[1:]
                chunk = self.file.read(256)
                self.send_frame(BINARY, struct.pack("<H", len(chunk)) + chunk)
                if not chunk:
                    self.done()
            else:
                need = REQUEST.size - len(self.header)
                self.header, data = self.header + data[:need], data[need:]
                if len(self.header) == REQUEST.size:
                    header, self.header = self.header, b""
                    self.request(header)

    def request(self, header: bytes) -> None:
        sig, op, _, _, size, name_len, name = REQUEST.unpack(header)
        if sig != b"WA":
            return  # modwebrepl ignores a record without its signature
        if op == VERSION:
            self.send_frame(BINARY, bytes(self.server.version))
            return
        path = self.path(name[:name_len].decode("utf-8", "replace"))
        try:
            self.file = open(path, "wb" if op == PUT else "rb")
        except OSError as exc:  # mp_builtin_open raised inside WebREPL's read: dupterm detaches it
            name = {2: "ENOENT", 21: "EISDIR", 13: "EACCES"}.get(exc.errno or 0, "EIO")
            raise SessionEnd(f"dupterm: Exception in read() method, deactivating: "
                             f"OSError: [Errno {exc.errno}] {name}\r\n".encode()) from None
        self.op, self.remaining = op, size
        self.respond(0)
        if op == PUT and not size:
            self.done()

    def path(self, name: str) -> Path:
        root = Path(self.board.sandbox).resolve()
        path = (root / name.lstrip("/")).resolve()
        if path == root or root not in path.parents:
            log.warning("webrepl %s: refused path %r outside the sandbox", self.board.id, name)
            raise SessionEnd(b"dupterm: Exception in read() method, deactivating: OSError: [Errno 13] EACCES\r\n")
        return path

    def done(self) -> None:
        self.file.close()
        self.file, self.op = None, 0
        self.respond(0)

    def respond(self, status: int) -> None:
        self.send_frame(BINARY, struct.pack("<2sH", b"WB", status))

    # --- the write side (REPL output) and framing ------------------------------------

    def output(self, data: bytes) -> None:
        """A board output tap: REPL output to the client as text frames."""
        try:
            self.send_frame(TEXT, data)
        except OSError:
            _shutdown(self.sock, close=False)  # the read loop sees it and ends the session

    def send_frame(self, opcode: int, data: bytes) -> None:
        for i in range(0, max(len(data), 1), MAX_FRAME):
            chunk = data[i:i + MAX_FRAME]
            head = bytes([0x80 | opcode])
            head += bytes([len(chunk)]) if len(chunk) < 126 else b"\x7e" + struct.pack(">H", len(chunk))
            self.send_raw(head + chunk)

    def send_raw(self, data: bytes) -> None:
        with self.send_lock:
            self.sock.sendall(data)

    def read_frame(self) -> tuple[int, bytes]:
        b0, b1 = _recv_exact(self.sock, 2)
        length = b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack(">H", _recv_exact(self.sock, 2))
        elif length == 127:  # modwebsocket has no 64-bit lengths
            raise SessionEnd(b"dupterm: EOF received, deactivating\r\n")
        mask = _recv_exact(self.sock, 4) if b1 & 0x80 else b""
        payload = _recv_exact(self.sock, length)
        if mask:
            key = (mask * (length // 4 + 1))[:length]
            payload = (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(length, "little")
        return b0 & 0x0F, payload


def _handshake(sock: socket.socket) -> bool:
    """webrepl.py's server_handshake: exact header names, else False (the caller sends HTML)."""
    sock.settimeout(5)
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(1024)
        if not data:
            return False
        buf += data
        if len(buf) > 8192:
            return False
    sock.settimeout(None)
    key, upgrade, websocket = None, False, False
    for line in buf.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        if b":" not in line:
            continue
        name, value = (part.strip() for part in line.split(b":", 1))
        if name == b"Sec-WebSocket-Key":
            key = value
        elif name == b"Connection" and b"Upgrade" in value:
            upgrade = True
        elif name == b"Upgrade" and value == b"websocket":
            websocket = True
    if not (key and upgrade and websocket):
        return False
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    return True


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise SessionEnd(b"dupterm: EOF received, deactivating\r\n")
        data += chunk
    return data


def _shutdown(sock: socket.socket, close: bool = True) -> None:
    """Shut a socket down (wakes a thread blocked in recv); close it only from its own thread."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    if close:
        try:
            sock.close()
        except OSError:
            pass
