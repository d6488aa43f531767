"""Wi-Fi across resets on boards built from source, as the harness meets it on a rack.

The board's link is its Wi-Fi station's (esp_hil.virtual.radio): down until it has
joined the rack's access point. So:

- after an ESP32's hard reset its Wi-Fi is off: the harness must forget the board's
  address and join again before a network test, or the test's peers time out; the
  same after a reset the harness only sees happen (a panic's `Rebooting...` mid-test);
- an ESP32 reports NO_AP_FOUND for a moment of every join (the last disconnect reason,
  while it retries): a join that takes the first failure status as the answer fails;
- a soft reset keeps both chips joined;
- an ESP8266 joins again by itself after a hard reset, from the config it saved.
"""

from __future__ import annotations

import ast
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from esp_hil import wifi
from esp_hil.board import Board
from esp_hil.errors import BoardReset, HilError
from esp_hil.network import BOARD_SERVER_PORT, attach_network
from esp_hil.peer import Peers
from esp_hil.virtual import faults, radio
from esp_hil.virtual.rack import VirtualRack, specs_for
from esp_hil.virtual.source.build import Recipe

SRC = os.environ.get("HIL_MICROPYTHON_SRC", "")
pytestmark = pytest.mark.skipif(not SRC, reason="set HIL_MICROPYTHON_SRC to a MicroPython checkout "
                                                "(with lib/lwip, lib/axtls, lib/micropython-lib)")

ECHO = """
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', {port}))
s.listen(1)
s.settimeout(4)
try:
    c, _ = s.accept()
    c.send(c.recv(4))
    c.close()
finally:
    s.close()
"""


@pytest.fixture(scope="module")
def rack(tmp_path_factory) -> Iterator[VirtualRack]:
    with pytest.MonkeyPatch.context() as env:
        if not os.environ.get(radio.SSID_ENV):  # the rack's own access point, as the plugin names it
            env.setenv(radio.SSID_ENV, radio.DEFAULT_SSID)
            env.setenv(radio.PASSWORD_ENV, radio.DEFAULT_PASSWORD)
        r = VirtualRack(specs_for("esp32", 1) + specs_for("esp8266", 1), workdir=tmp_path_factory.mktemp("rack"),
                        source=Recipe(Path(SRC)))
        r.start()
        yield r
        r.close()


def _open(rack: VirtualRack, chip: str) -> Board:
    return Board.open(next(s for s in rack.inventory().boards if s.chip == chip))


def _sta(board: Board, expression: str):
    """`expression` about the board's station `w`, evaluated on the board."""
    out = board.exec(f"import network\nw = network.WLAN(network.STA_IF)\nprint(repr({expression}))")
    return ast.literal_eval(out.strip())


def _echo(board: Board) -> bytes:
    """A network test: a host peer connects to a server on the board at `board.ip` and gets its bytes back."""
    job = board.start(ECHO.format(port=BOARD_SERVER_PORT))
    peers = Peers(board.sockets)
    try:
        conn = peers.connect(board.ip, BOARD_SERVER_PORT, timeout=2)
        conn.send(b"ping")
        echoed = conn.recv_exactly(4, timeout=2)
    except TimeoutError:
        board.interrupt()  # the board's server waits still
        return b"the peer timed out"
    finally:
        peers.close()
    job.result(timeout=10)
    return echoed


def test_after_an_esp32_hard_reset_the_harness_joins_again_before_a_network_test(rack):
    board = _open(rack, "esp32")
    try:
        attach_network(board)
        assert _echo(board) == b"ping"
        board.soft_reset()
        assert _sta(board, "w.isconnected()"), "a soft reset keeps Wi-Fi up"
        board.hard_reset()
        assert _sta(board, "(w.active(), w.isconnected(), w.status() == network.STAT_IDLE)") == \
            (False, False, True), "an ESP32 comes up from a hard reset with Wi-Fi off"
        attach_network(board)
        assert _echo(board) == b"ping", "the network test after a hard reset"
    finally:
        board.close()


@pytest.mark.parametrize("seen_by", ["the job", "an interrupt"])
def test_after_an_esp32_reset_itself_mid_test_the_harness_joins_again(rack, seen_by):
    board = _open(rack, "esp32")
    try:
        attach_network(board)
        job = board.start("import time\nprint('RUNNING')\ntime.sleep(10)")
        job.wait_for("RUNNING")
        faults.inject(rack.board(board.id), "kill")  # the firmware dies: `Rebooting...`, and the chip boots
        if seen_by == "the job":
            with pytest.raises(BoardReset):
                job.result(timeout=10)
        else:
            board.interrupt()  # as a fixture's teardown does: what it drains says the board reset
        board.soft_reset()  # as the next test's `board` fixture does
        attach_network(board)
        assert _echo(board) == b"ping", "the network test after the board reset by itself"
    finally:
        board.close()


def test_an_esp32_join_outlasts_the_no_ap_found_it_reports_while_retrying(rack):
    board = _open(rack, "esp32")
    try:
        board.hard_reset()
        with pytest.raises(HilError, match="no access point"):
            wifi.join(board, settle=0)  # the first failure status taken as the answer
        assert wifi.join(board) == board.spec.address
    finally:
        board.close()


def test_an_esp8266_joins_again_by_itself_after_a_hard_reset(rack):
    board = _open(rack, "esp8266")
    try:
        attach_network(board)  # connect() saves the config in flash, as the SDK does
        board.soft_reset()
        assert _sta(board, "w.isconnected()"), "a soft reset keeps Wi-Fi up"
        board.hard_reset()
        first = _sta(board, "(w.active(), w.status() == network.STAT_CONNECTING)")
        assert first == (True, True), "station active from the saved config, joining"
        deadline = time.monotonic() + 10
        while not _sta(board, "w.isconnected()"):
            assert time.monotonic() < deadline, "the ESP8266 did not join again by itself"
            time.sleep(0.1)
        board.ip = board.spec.address  # no join: it is back on the access point at its old address
        assert _echo(board) == b"ping"
    finally:
        board.close()
