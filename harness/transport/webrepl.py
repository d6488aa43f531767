"""The WebREPL transport: MicroPython's WebREPL (websocket, port 8266) behind mpremote's interface.

WebREPL is a dupterm stream on the board, so the raw REPL works through it unchanged:
we reuse mpremote's raw-REPL code (SerialTransport's methods, which only touch
`self.serial`) over a `WebsocketPort` that turns REPL text frames into a byte stream
like a pyserial port. Files go by WebREPL's own binary put/get records, which are
far faster than mpremote's exec-based `fs_*` (those are inherited for everything else).
Every byte each way is recorded in the board's transcript, except the password.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Any, Callable

from mpremote.transport import Transport, TransportError
from mpremote.transport_serial import SerialTransport
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.sync.client import ClientConnection, connect

from esp_hil import secrets
from esp_hil.errors import HilError
from esp_hil.sockets import HOST, SocketMaker
from esp_hil.transcript import NOTE, RX, TX, Transcript
from esp_hil.transport.waits import Deadlines

DEFAULT_PORT = 8266
PASSWORD_ENV = "HIL_WEBREPL_PASSWORD"
READ_TIMEOUT = 3.0  # a pyserial-like read timeout, as in esp_hil.transport.serial
MAX_FRAME = 65535  # the board's websocket takes 16-bit frame lengths only
REQUEST = struct.Struct("<2sBBQLH64s")  # WA, op, 0, 0, size, name length, name
MAX_NAME = 63  # bytes: the name field is 64, and the board needs a NUL after the name
RESPONSE = struct.Struct("<2sH")  # WB, status
PUT, GET, VERSION = 1, 2, 3
CONNECTED = b"WebREPL connected\r\n"
DENIED = b"Access denied"


class WebreplClosed(OSError):
    """The websocket is gone; an OSError so `esp_hil.board` reports it as a lost link."""


class _Connection(ClientConnection):
    """A websockets client that hands each data frame, with its opcode, to a callback.

    The stock `recv()` merges frames into messages and UTF-8-decodes text; the board's
    text frames are raw REPL bytes, which may split a character or not be UTF-8 at all.
    """

    port: "WebsocketPort"  # set on a per-connection subclass: frames may come before connect() returns
    _text = True

    def process_event(self, event: Any) -> None:
        if self.response is None or not isinstance(event, Frame):
            super().process_event(event)
            return
        if event.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._text = event.opcode is Opcode.TEXT
        elif event.opcode is not Opcode.CONT:
            return  # pings, pongs and close are websockets' business
        self.port._frame(self._text, bytes(event.data))

    def recv_events(self) -> None:
        try:
            super().recv_events()
        finally:
            self.port._closed()


class WebsocketPort:
    """The transport's `serial`: REPL text frames as a byte stream (read/write/in_waiting/unread).

    Binary frames (file transfer replies) go to a second buffer read with `read_binary`.
    """

    def __init__(self, transcript: Transcript, board_id: str, timeout: float = READ_TIMEOUT):
        self.timeout = timeout
        self._transcript = transcript
        self._board_id = board_id
        self._ws: _Connection | None = None
        self._cond = threading.Condition()
        self._text = bytearray()
        self._binary = bytearray()
        self._pushback = b""
        self.closed = False

    def attach(self, ws: _Connection) -> None:
        self._ws = ws

    def _frame(self, text: bool, data: bytes) -> None:
        self._transcript.add(RX, data)
        with self._cond:
            (self._text if text else self._binary).extend(data)
            self._cond.notify_all()

    def _closed(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    # --- the pyserial face (REPL text) ---------------------------------------------

    def read(self, size: int = 1) -> bytes:
        """Up to `size` bytes, waiting at most `timeout` for them all (as pyserial does)."""
        if self._pushback:
            data, self._pushback = self._pushback[:size], self._pushback[size:]
            return data
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while len(self._text) < size and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            if self.closed and not self._text:
                raise WebreplClosed("the WebREPL connection was closed")
            data = bytes(self._text[:size])
            del self._text[:size]
            return data

    def unread(self, data: bytes) -> None:
        """Give back bytes read past a boundary (already in the transcript)."""
        self._pushback = data + self._pushback

    @property
    def in_waiting(self) -> int:
        with self._cond:
            if self.closed and not self._text and not self._pushback:
                raise WebreplClosed("the WebREPL connection was closed")
            return len(self._pushback) + len(self._text)

    def inWaiting(self) -> int:  # noqa: N802 - the name mpremote calls
        return self.in_waiting

    def write(self, data: bytes) -> int:
        """Bytes to the REPL, as text frames (raw bytes, not re-encoded)."""
        data = bytes(data)
        self._transcript.add(TX, data)
        for i in range(0, len(data), MAX_FRAME):
            self._send(data[i:i + MAX_FRAME], text=True)
        return len(data)

    def reset_input_buffer(self) -> None:
        with self._cond:
            self._text.clear()
        self._pushback = b""

    # --- the file channel (binary frames) ------------------------------------------

    def send_binary(self, data: bytes) -> None:
        self._transcript.add(TX, data)
        self._send(data, text=False)

    def read_binary(self, size: int, timeout: float) -> bytes:
        """Exactly `size` bytes of binary frames; WebreplClosed or TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._binary) < size:
                if self.closed:
                    raise WebreplClosed("the WebREPL connection was closed")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no reply within {timeout:g}s")
                self._cond.wait(left)
            data = bytes(self._binary[:size])
            del self._binary[:size]
            return data

    def text_until(self, endings: tuple[bytes, ...], timeout: float) -> bytes:
        """REPL text up to the first of `endings` (the login dialogue); b'' if closed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ending in endings:
                    at = self._text.find(ending)
                    if at >= 0:
                        data = bytes(self._text[:at + len(ending)])
                        del self._text[:at + len(ending)]
                        return data
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    return b""
                self._cond.wait(left)

    def send_raw(self, data: bytes) -> None:
        """Bytes straight onto the TCP stream, outside websocket framing: a frame split in time."""
        if self._ws is None or self.closed:
            raise WebreplClosed("the WebREPL connection was closed")
        self._transcript.add(TX, data)
        self._ws.socket.sendall(data)

    def _send(self, data: bytes, text: bool) -> None:
        if self._ws is None or self.closed:
            raise WebreplClosed("the WebREPL connection was closed")
        try:
            self._ws.send(data, text=text)
        except (ConnectionClosed, OSError) as exc:
            self._closed()
            raise WebreplClosed(f"the WebREPL connection was closed ({type(exc).__name__})") from None

    def close(self) -> None:
        r"""End the session with an empty close frame.

        The board's websocket hands a control frame's payload to the REPL a byte at a
        time (extmod/modwebsocket.c): status 1000 is `\x03\xe8`, and its `\x03` would
        arrive as Ctrl-C, interrupting whatever the board runs. An empty close frame
        reaches it as EOF only: WebREPL detaches, answers `\x88\x00` and closes.
        """
        if self._ws is not None:
            self._ws.close(code=None)  # type: ignore[arg-type]  # None: a close frame without a status
        self._closed()


class WebreplTransport(Deadlines, Transport):
    """mpremote's transport interface over WebREPL, as `esp_hil.board.Board` uses it.

    Its waits are the serial transport's (`Deadlines`): they block on the websocket's
    buffer until a byte or the deadline comes.
    """

    # The raw REPL, raw-paste and exec/eval protocol, shared with the serial transport.
    enter_raw_repl = SerialTransport.enter_raw_repl
    exit_raw_repl = SerialTransport.exit_raw_repl
    follow = SerialTransport.follow
    raw_paste_write = SerialTransport.raw_paste_write
    exec_raw_no_follow = SerialTransport.exec_raw_no_follow
    exec_raw = SerialTransport.exec_raw
    exec = SerialTransport.exec
    eval = SerialTransport.eval

    is_pty = False

    def __init__(self, port: WebsocketPort, url: str, board_id: str, transfer_timeout: float = 10.0):
        self.serial = port
        self.device_name = url
        self.board_id = board_id
        self.transfer_timeout = transfer_timeout
        self.in_raw_repl = False
        self.use_raw_paste = True
        self.mounted = False

    def close(self) -> None:
        self.serial.close()

    # --- WebREPL's own file transfer ------------------------------------------------

    def fs_writefile(self, dest: str, data: bytes, chunk_size: int = 1024,
                     progress_callback: Callable[[int, int], None] | None = None) -> None:
        """Put `data` at `dest` with WebREPL's binary put (webrepl_cli's 1 KiB frames)."""
        name = self._name(dest)
        data = bytes(data)
        port = self.serial
        port._transcript.add(NOTE, f"webrepl put :{dest} ({len(data)} bytes)".encode())
        done = 0
        try:
            port.send_binary(REQUEST.pack(b"WA", PUT, 0, 0, len(data), len(name), name))
            self._response("put", dest)
            for done in range(0, len(data), chunk_size):
                port.send_binary(data[done:done + chunk_size])
                if progress_callback:
                    progress_callback(min(done + chunk_size, len(data)), len(data))
            done = len(data)
            self._response("put", dest)
        except (WebreplClosed, TimeoutError) as exc:
            raise self._lost("put", dest, done, len(data), exc) from None

    def fs_readfile(self, src: str, chunk_size: int = 256,
                    progress_callback: Callable[[int, int], None] | None = None) -> bytes:
        """Get `src` with WebREPL's binary get.

        The board ends the whole session when asked for a missing file, so in the raw
        REPL we stat it first (which raises OSError(ENOENT) as mpremote's fs_* do).
        """
        name = self._name(src)
        size = self.fs_stat(src).st_size if self.in_raw_repl else 0
        port = self.serial
        port._transcript.add(NOTE, f"webrepl get :{src}".encode())
        contents = bytearray()
        try:
            port.send_binary(REQUEST.pack(b"WA", GET, 0, 0, 0, len(name), name))
            self._response("get", src)
            while True:
                port.send_binary(b"\x00")
                (length,) = struct.unpack("<H", port.read_binary(2, self.transfer_timeout))
                if not length:
                    break
                contents += port.read_binary(length, self.transfer_timeout)
                if progress_callback:
                    progress_callback(len(contents), max(size, len(contents)))
            self._response("get", src)
        except (WebreplClosed, TimeoutError) as exc:
            raise self._lost("get", src, len(contents), size, exc) from None
        return bytes(contents)

    def webrepl_version(self) -> tuple[int, int, int]:
        """The firmware's MicroPython version, by WebREPL's get-version record."""
        try:
            self.serial.send_binary(REQUEST.pack(b"WA", VERSION, 0, 0, 0, 0, b""))
            return tuple(self.serial.read_binary(3, self.transfer_timeout))  # type: ignore[return-value]
        except (WebreplClosed, TimeoutError) as exc:
            raise self._lost("version", "", 0, 0, exc) from None

    def _name(self, path: str) -> bytes:
        """The name for the request's 64-byte field, which the board reads up to a NUL (`strlen`)."""
        name = path.encode()
        if len(name) > MAX_NAME:
            raise HilError(f"WebREPL file names are at most {MAX_NAME} bytes (the board needs a NUL in its "
                           f"64-byte field): {path!r} is {len(name)}", board=self.board_id)
        return name

    def _response(self, op: str, path: str) -> None:
        sig, status = RESPONSE.unpack(self.serial.read_binary(RESPONSE.size, self.transfer_timeout))
        if sig != b"WB" or status != 0:
            raise HilError(f"WebREPL {op} of :{path} refused (reply {sig!r}, status {status})", board=self.board_id)

    def _lost(self, op: str, path: str, done: int, total: int, exc: Exception) -> HilError:
        what = "the connection dropped" if isinstance(exc, WebreplClosed) else f"the board stopped answering ({exc})"
        return HilError(f"WebREPL {op} of :{path} failed after {done} of {total} bytes: {what}",
                        board=self.board_id,
                        hint="a missing file or unwritable path also ends the board's WebREPL session; "
                             "check the board is up, then reconnect")


def open_webrepl(host: str, port: int = DEFAULT_PORT, password: str | None = None,
                 transcript: Transcript | None = None, board_id: str = "webrepl",
                 timeout: float = 10.0, sockets: SocketMaker = HOST) -> WebreplTransport:
    """Connect to `ws://host:port/`, log in, and return the transport at the friendly REPL.

    `password` defaults to the HIL_WEBREPL_PASSWORD secret. `sockets` makes the TCP
    connection (the board's `board.sockets`). Call `enter_raw_repl()` (or hand the
    transport to `esp_hil.board.Board`) to run code.
    """
    if password is None:
        password = secrets.get(PASSWORD_ENV)
    if not password:
        raise HilError(f"no WebREPL password: set {PASSWORD_ENV}", board=board_id)
    transcript = transcript if transcript is not None else Transcript(board_id)
    url = f"ws://{host}:{port}/"
    transcript.note(f"open {url}")
    stream = WebsocketPort(transcript, board_id)
    try:
        bound = type("_BoundConnection", (_Connection,), {"port": stream})
        sock = sockets.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
        except BaseException:
            sock.close()
            raise
        ws = connect(url, sock=sock, create_connection=bound, compression=None, proxy=None,
                     ping_interval=None, open_timeout=timeout, close_timeout=2, max_size=None,
                     legacy=True)  # a long-lived connection the transport closes
    except InvalidStatus as exc:
        raise HilError(f"{url} is not a WebREPL endpoint (HTTP {exc.response.status_code})", board=board_id,
                       hint="check the host and port; WebREPL listens on 8266") from None
    except InvalidHandshake as exc:
        raise HilError(f"WebREPL handshake with {url} failed: {type(exc).__name__}", board=board_id,
                       hint="the board may have turned this client away; check no other client is attached") from None
    except (OSError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or type(exc).__name__
        raise HilError(f"cannot connect to WebREPL at {url}: {reason}", board=board_id,
                       hint="is the board on the network and WebREPL started (webrepl.start())?") from None
    stream.attach(ws)
    transport = WebreplTransport(stream, url, board_id)
    try:
        _login(stream, password, board_id, timeout)
    except BaseException:
        transport.close()
        raise
    return transport


def _login(stream: WebsocketPort, password: str, board_id: str, timeout: float) -> None:
    """Answer the `Password: ` prompt; never let the password reach an error or the transcript."""
    if not stream.text_until((b"Password: ",), timeout):
        if stream.closed:
            raise HilError("WebREPL closed the connection before the password prompt: it takes one client "
                           "at a time and another is attached", board=board_id,
                           hint="close the other WebREPL session (browser tab, webrepl_cli, another run)")
        raise HilError(f"no WebREPL password prompt within {timeout:g}s", board=board_id)
    stream._transcript.note("password sent")
    try:
        stream._send(password.encode() + b"\r", text=True)  # not through write(): it would be recorded
    except WebreplClosed:
        pass  # reported below
    reply = stream.text_until((CONNECTED, DENIED), timeout)
    if reply.endswith(CONNECTED):
        return
    if reply.endswith(DENIED):
        raise HilError("WebREPL refused the password (Access denied)", board=board_id,
                       hint=f"set {PASSWORD_ENV} to the password given to webrepl_setup or webrepl.start()")
    raise HilError("WebREPL closed the connection after the password without an answer", board=board_id)


__all__ = ["WebreplTransport", "WebsocketPort", "WebreplClosed", "open_webrepl", "TransportError"]
