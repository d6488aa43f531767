"""Defects of the firmware itself that esp-hil found, each shown by a test that fails while it stands.

Each test is an expected failure (strict): it turns into an unexpected pass, and so
a failure, the day the defect is fixed upstream, so the mark comes off then. The
write-up with the evidence (a sanitizer build) is docs/firmware-defects.md.
"""

from __future__ import annotations

import pytest

from harness.network import server_port

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
