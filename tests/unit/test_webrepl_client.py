"""The WebREPL client's wire rules the board depends on: a close without a status, names of 63 bytes.

The board's websocket hands a close frame's payload to its REPL (status 1000 is `\\x03\\xe8`:
a Ctrl-C), and reads a transfer's name field with `strlen`. A loopback websocket server
stands in for the board here; tests/hil/test_webrepl.py shows both on the firmware.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.sync.server import Server, ServerConnection, serve

from esp_hil.errors import HilError
from esp_hil.transport.webrepl import MAX_NAME, WebreplTransport, open_webrepl

PASSWORD = "Pw4test9"


class _Board:
    """A websocket server that logs in as WebREPL does and keeps the close frame it gets."""

    def __init__(self) -> None:
        self.closes: list[int | None] = []  # each close frame's status; 1005 stands for none
        self.done = threading.Event()

    def handle(self, ws: ServerConnection) -> None:
        ws.send("Password: ")
        ws.recv()
        ws.send("\r\nWebREPL connected\r\n>>> ")
        try:
            while True:
                ws.recv()
        except ConnectionClosed as exc:
            self.closes.append(exc.rcvd.code if exc.rcvd else None)
        finally:
            self.done.set()


@pytest.fixture
def websocket_board() -> Iterator[tuple[_Board, Server]]:
    fake = _Board()
    with serve(fake.handle, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield fake, server
        server.shutdown()
        thread.join(5)


def test_close_sends_a_close_frame_without_a_status(websocket_board):
    """Our close frame carries no payload: no byte of it can reach the board's REPL."""
    fake, server = websocket_board
    transport = open_webrepl("127.0.0.1", server.socket.getsockname()[1], PASSWORD, board_id="b1")
    transport.close()
    assert fake.done.wait(5)
    assert fake.closes == [CloseCode.NO_STATUS_RCVD]  # websockets' name for a close frame with no payload


def test_a_name_of_64_bytes_is_refused_before_anything_is_sent():
    transport = WebreplTransport(None, "ws://board:8266/", "b1")  # type: ignore[arg-type]  # never reached
    with pytest.raises(HilError, match=rf"at most {MAX_NAME} bytes .*: 'a{{64}}' is 64$"):
        transport.fs_writefile("a" * 64, b"data")
    with pytest.raises(HilError, match="is 64$"):
        transport.fs_readfile("é" * 32)  # bytes count, not characters


def test_a_name_of_63_bytes_fits_the_field():
    assert WebreplTransport(None, "ws://board:8266/", "b1")._name("a" * 63) == b"a" * 63  # type: ignore[arg-type]
