"""Defects of the firmware itself that esp-hil found, each shown by a test that fails while it stands.

Each test is an expected failure (strict): it turns into an unexpected pass, and so
a failure, the day the defect is fixed upstream, so the mark comes off then. The
write-up with the evidence (a sanitizer build) is docs/firmware-defects.md.
"""

from __future__ import annotations

import threading

import pytest
from websockets.frames import Frame, Opcode

from esp_hil.errors import HilError
from esp_hil.network import server_port

ASSERTION = "lwIP assertion failed"


@pytest.mark.needs("lwip_asserts")
@pytest.mark.xfail(strict=True, reason="MicroPython extmod/modlwip.c:1681-1683 (1c3c2011) calls tcp_err() and "
                                       "tcp_recv() on a listening pcb (a smaller struct tcp_pcb_listen) when the "
                                       "socket is closed: lwIP asserts, and firmware without asserts writes past "
                                       "the end of the listen pcb")
def test_closing_a_listening_socket_does_not_misuse_lwip(net_board):
    """A listening socket that is closed must be torn down with calls lwIP allows on a listening pcb."""
    out = net_board.exec("import socket\ns = socket.socket()\n"
                         f"s.bind(socket.getaddrinfo('0.0.0.0', {server_port(net_board)})[0][-1])\n"
                         "s.listen(1)\ns.close()\nprint('CLOSED')\n")
    assert "CLOSED" in out
    assert ASSERTION not in out, out


# The board connects again and again to a host peer that is already waiting in accept()
# and closes each connection at once: the FIN follows the handshake within microseconds.
CONNECT_TO_A_CLOSING_PEER = """
import socket, errno
addr = socket.getaddrinfo({host!r}, {port})[0][-1]
for i in range({rounds}):
    s = socket.socket()
    try:
        s.connect(addr)
        print('CONNECTED', i)
    except OSError as e:
        print('CONNECT FAILED', i, e.errno)
    s.close()
"""
ROUNDS = 40


@pytest.mark.needs("lwip")
@pytest.mark.xfail(strict=False, reason="MicroPython extmod/modlwip.c:1249-1253,1268-1269 (1c3c2011): connect() takes "
                                        "any state but STATE_CONNECTED for an lwIP error and raises "
                                        "error_lookup_table[-state]; when the peer's FIN arrived before the wait loop "
                                        "looked, the state is STATE_PEER_CLOSED (5) and the index falls outside the "
                                        "table: a garbage errno (0) for a connection that succeeded. Timing-dependent "
                                        "on a board, so not strict")
def test_connect_succeeds_when_the_peer_closes_at_once(net_board, peer):
    """A connection the peer accepts and closes straight away was still made: connect() returns."""
    listener = peer.listen(net_board.host_ip)
    closer = _accept_and_close(listener, ROUNDS)
    out = net_board.exec(CONNECT_TO_A_CLOSING_PEER.format(host=net_board.host_ip, port=listener.port, rounds=ROUNDS),
                         timeout=60)
    closer.join(timeout=10)
    failed = [line for line in out.splitlines() if line.startswith("CONNECT FAILED")]
    assert not failed, f"connect() raised for a connection the peer had accepted: {failed}"


def _accept_and_close(listener, rounds: int) -> threading.Thread:
    def run() -> None:
        for _ in range(rounds):
            try:
                listener.accept(timeout=20).close()
            except OSError:
                return
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.needs("webrepl")
@pytest.mark.xfail(strict=True, reason="MicroPython extmod/modwebsocket.c (FRAME_HEADER) takes the data type from "
                                       "a control frame's header too, so extmod/modwebrepl.c reads the first byte "
                                       "of a ping's (or a close's) payload as file-transfer input: the next file "
                                       "request is read one byte off (docs/firmware-defects.md, 3)")
def test_a_ping_does_not_disturb_the_next_file_request(board, webrepl):
    """A keepalive ping (4 bytes, as Python's websockets sends them) is a ping: the next request is served."""
    webrepl.transport.serial.send_raw(Frame(Opcode.PING, b"keep").serialize(mask=True, extensions=[]))
    try:
        version = webrepl.transport.webrepl_version()
    except HilError as exc:
        pytest.fail(f"after a ping, a get-version request failed: {exc}")
    board.interrupt()  # resync the UART session after the WebREPL session's traffic
    assert version == tuple(board.eval("list(__import__('sys').implementation.version[:3])"))
