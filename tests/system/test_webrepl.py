"""The WebREPL client against the virtual WebREPL endpoint, bridged to a real virtual board."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator

import pytest

from esp_hil.board import Board
from esp_hil.errors import BoardLost, HilError
from esp_hil.transcript import Transcript
from esp_hil.transport.webrepl import WebreplTransport, open_webrepl
from tests.support.webrepl_imitation import VirtualWebrepl

PASSWORD = "Pw4test9"  # 8 characters: a board takes 4 to 9


@pytest.fixture
def endpoint(spec, vboard) -> Iterator[VirtualWebrepl]:
    Board.open(spec).close()  # wait until the board's REPL answers, as WebREPL starts after boot on a board
    ep = VirtualWebrepl(vboard, PASSWORD)
    ep.start()
    yield ep
    ep.stop()


@pytest.fixture
def transcript(spec) -> Transcript:
    return Transcript(spec.id)


@pytest.fixture
def wboard(endpoint, spec, transcript) -> Iterator[Board]:
    transport = open_webrepl("127.0.0.1", endpoint.port, PASSWORD, transcript, spec.id)
    transport.enter_raw_repl(soft_reset=False)
    board = Board(spec, transport, transcript)
    yield board
    board.close()


def test_exec_and_eval_over_the_raw_repl(wboard, transcript):
    assert isinstance(wboard.transport, WebreplTransport)
    assert wboard.exec("print(6 * 7)") == "42\n"
    assert wboard.eval("{'a': [1, 2.5, None]}") == {"a": [1, 2.5, None]}
    wboard.soft_reset()
    assert wboard.eval("1 + 1") == 2
    text = transcript.render()
    assert "WebREPL connected" in text and "print(6 * 7)" in text
    assert PASSWORD not in text


def test_put_and_get_100k_with_sha256(wboard, vboard, tmp_path):
    data = os.urandom(100 * 1024)
    src, back = tmp_path / "src.bin", tmp_path / "back.bin"
    src.write_bytes(data)
    progress: list[tuple[int, int]] = []
    wboard.transport.fs_writefile("blob.bin", data, progress_callback=lambda n, total: progress.append((n, total)))
    assert progress[-1] == (len(data), len(data))
    assert hashlib.sha256((vboard.sandbox / "blob.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
    wboard.get("blob.bin", back)
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(data).digest()
    wboard.put(src, "again.bin")  # Board.put goes through the same binary put
    assert (vboard.sandbox / "again.bin").read_bytes() == data
    assert wboard.exec("print('still here')") == "still here\n"  # the REPL survived the transfers


def test_get_of_a_missing_file_raises_and_keeps_the_session(wboard):
    with pytest.raises(OSError):
        wboard.read_file("nope.bin")
    assert wboard.eval("3 * 3") == 9


def test_version_record(wboard):
    assert wboard.transport.webrepl_version() == (1, 27, 0)


def test_wrong_password_is_refused_clearly(endpoint, spec, transcript, monkeypatch):
    wrong = "Wr0ngPass"
    monkeypatch.setenv("HIL_WEBREPL_PASSWORD", wrong)
    with pytest.raises(HilError) as info:
        open_webrepl("127.0.0.1", endpoint.port, transcript=transcript, board_id=spec.id)  # from the secret
    text = str(info.value)
    assert text.startswith(f"board {spec.id!r}: WebREPL refused the password (Access denied)")
    assert "\n" not in text and wrong not in text and PASSWORD not in text
    monkeypatch.delenv("HIL_WEBREPL_PASSWORD")  # so render() cannot hide a leak by redaction
    assert wrong not in transcript.render() and "Access denied" in transcript.render()
    # The endpoint is free again: the right password gets in.
    open_webrepl("127.0.0.1", endpoint.port, PASSWORD, Transcript(spec.id), spec.id).close()


def test_second_client_is_turned_away(wboard, endpoint, spec, vboard):
    uart: list[bytes] = []
    remove = vboard.add_tap(uart.append)
    try:
        with pytest.raises(HilError) as info:
            open_webrepl("127.0.0.1", endpoint.port, PASSWORD, Transcript(spec.id), spec.id)
    finally:
        time.sleep(0.1)
        remove()
    assert "one client at a time" in str(info.value) and spec.id in str(info.value)
    assert b"Concurrent WebREPL connection from" in b"".join(uart)
    # The board prints that line to every REPL output, the first WebREPL session included,
    # so the first client resyncs (Ctrl-C, raw REPL) before its next exec.
    wboard.interrupt()
    assert wboard.exec("print('first')").endswith("first\n")  # the first client keeps its session


def test_drop_mid_put_gives_a_clear_error_without_hanging(wboard, endpoint):
    data = os.urandom(200 * 1024)

    def progress(done: int, total: int) -> None:
        if done >= 32 * 1024 and not endpoint._stopping.is_set():
            endpoint.stop()

    start = time.monotonic()
    with pytest.raises(HilError) as info:
        wboard.transport.fs_writefile("big.bin", data, progress_callback=progress)
    assert time.monotonic() - start < 8
    text = str(info.value)
    assert "WebREPL put of :big.bin failed after" in text and "connection dropped" in text
    assert wboard.transport.serial.closed
    with pytest.raises(BoardLost):  # and the session says the link is gone, rather than hanging
        wboard.exec("print(1)", timeout=3)


def test_connection_refused_names_the_board(spec):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(HilError) as info:
        open_webrepl("127.0.0.1", port, PASSWORD, Transcript(spec.id), spec.id)
    assert str(info.value).startswith(f"board {spec.id!r}: cannot connect to WebREPL at ws://127.0.0.1:{port}/")


def _raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data


def test_plain_http_gets_the_html_page(endpoint):
    page = _raw_request(endpoint.port, b"GET / HTTP/1.1\r\nHost: board\r\n\r\n")
    assert page.startswith(b"HTTP/1.0 200 OK\r\n") and b"<script" in page


def test_header_names_are_matched_case_sensitively(endpoint):
    """As on the board: lower-case header names are not a websocket request."""
    page = _raw_request(endpoint.port, b"GET / HTTP/1.1\r\nHost: b\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
                                       b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    assert b"<script" in page and b"101" not in page


def test_close_frame_is_answered_with_88_00(endpoint):
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        data = b""
        while b"Password: " not in data:
            data += s.recv(4096)
        assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in data
        s.sendall(b"\x88\x80\x00\x00\x00\x00")  # masked close frame, empty payload
        rest = b""
        while chunk := s.recv(4096):
            rest += chunk
    assert rest == b"\x88\x00"


def test_put_outside_the_sandbox_is_refused(wboard, vboard):
    with pytest.raises(HilError) as info:
        wboard.transport.fs_writefile("../escape.bin", b"x")
    assert "WebREPL put of :../escape.bin failed" in str(info.value)
    assert not (vboard.sandbox.parent / "escape.bin").exists()


def test_uart_and_webrepl_sessions_share_one_repl_and_resync(endpoint, spec):
    """What tests/hil/test_webrepl.py does on a board, against the virtual endpoint: two
    sessions on one REPL, each resynchronising after the other talked, a frame split in time."""
    from websockets.frames import Frame, Opcode

    from esp_hil.pytestplugin.fixtures.webrepl import WebreplServer

    uart = Board.open(spec)
    web = WebreplServer(uart, "127.0.0.1", endpoint.port, PASSWORD).connect()
    try:
        uart.interrupt()
        frame = Frame(Opcode.TEXT, b"\n\n").serialize(mask=True, extensions=[])
        web.transport.serial.send_raw(frame[:3])
        assert uart.exec("print(6 * 7)", timeout=5) == "42\n"
        web.transport.serial.send_raw(frame[3:])
        web.interrupt()
        data = os.urandom(5000)
        web.write_file("split.bin", data)
        uart.interrupt()
        digest = uart.exec("import hashlib, binascii\n"
                           "print(binascii.hexlify(hashlib.sha256(open('split.bin', 'rb').read()).digest()).decode())")
        assert digest.strip() == hashlib.sha256(data).hexdigest()
        web.interrupt()
        assert web.read_file("split.bin") == data
    finally:
        web.close()
        uart.close()
