"""Boards held through labgrid places, against a real labgrid coordinator and exporter.

The exporter (``--hostname 127.0.0.1``) exports a virtual board's RFC 2217 port as a
NetworkSerialPort, exactly as a rack owner exports esptool's ``esp_rfc2217_server``; the
harness acquires the place through labgrid's client API and runs on the URL it resolves.
Everything listens on 127.0.0.1. Run without pytest-embedded (``-p no:pytest_embedded``),
which clashes with labgrid's plugin.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

pytest.importorskip("labgrid.remote.client", reason="labgrid not installed (pip install 'esp-hil[labgrid]')")

from esp_hil.cli import build_parser  # noqa: E402
from esp_hil.board import Board  # noqa: E402
from esp_hil.errors import HilError  # noqa: E402
from esp_hil.inventory import BoardSpec  # noqa: E402
from esp_hil.labgrid import (  # noqa: E402
    LabgridPlace, _pb, _run, _with_session, from_url, release_stale, serial_package_problem, show,
)
from esp_hil.port import PortKind  # noqa: E402
from esp_hil.virtual.rack import VirtualRack, specs_for  # noqa: E402

BIN = Path(sys.executable).parent
PLACE = "esp-a"
HOLD = """\
import sys, time
from esp_hil.labgrid import LabgridPlace
print(LabgridPlace(sys.argv[1], sys.argv[2]).acquire(10), flush=True)
time.sleep(120)
"""


@dataclass
class Lab:
    coordinator: str
    board_port: int
    spec: BoardSpec
    workdir: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _until(what: str, check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (OSError, HilError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f}s")
        time.sleep(0.2)


def _setup_place(coordinator: str, name: str, pattern: str) -> None:
    """What a rack owner does once with labgrid-client create / add-match, through the API."""
    pb = _pb()

    def work(session):
        if name not in session.places:
            _run(session, session.stub.AddPlace(pb.AddPlaceRequest(name=name)))
        _run(session, session.stub.AddPlaceMatch(pb.AddPlaceMatchRequest(placename=name, pattern=pattern)))
        _run(session, session.sync_with_coordinator())

    _with_session(coordinator, work)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("labgrid")
    rack = VirtualRack(specs_for("esp32", 1), workdir=workdir / "rack")
    procs: list[subprocess.Popen] = []
    logs = [open(workdir / "coordinator.log", "w"), open(workdir / "exporter.log", "w")]
    try:
        spec = rack.start().boards[0]
        board_port = int(spec.port.rsplit(":", 1)[1])
        coordinator = f"127.0.0.1:{_free_port()}"
        procs.append(subprocess.Popen([BIN / "labgrid-coordinator", "-l", coordinator], cwd=workdir,
                                      stdout=logs[0], stderr=subprocess.STDOUT))
        host, port = coordinator.split(":")
        _until("coordinator listening", lambda: socket.create_connection((host, int(port)), timeout=1).close() or True)
        (workdir / "exporter.yaml").write_text(
            f"esp:\n  NetworkSerialPort:\n    host: 127.0.0.1\n    port: {board_port}\n    speed: 115200\n")
        procs.append(subprocess.Popen(
            [BIN / "labgrid-exporter", "-c", coordinator, "--hostname", "127.0.0.1", "-n", "rack1", "exporter.yaml"],
            cwd=workdir, stdout=logs[1], stderr=subprocess.STDOUT))
        _setup_place(coordinator, PLACE, "rack1/esp/NetworkSerialPort")
        _until("exporter's serial port visible on the place", lambda: show(PLACE, coordinator).serial_ports)
        yield Lab(coordinator, board_port, spec, workdir)
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for log in logs:
            log.close()
        rack.close()


@pytest.fixture(autouse=True)
def own_leases(tmp_path, monkeypatch) -> Path:
    """Local leases of this test only (a subprocess given another dir plays another host)."""
    monkeypatch.setenv("HIL_LEASE_DIR", str(tmp_path / "leases"))
    return tmp_path / "leases"


@pytest.fixture
def holders(lab) -> Iterator[list[subprocess.Popen]]:
    """Processes that hold the place; killed, and their place released, whatever the test did."""
    procs: list[subprocess.Popen] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
        proc.stdout.close()
    release_stale(PLACE, lab.coordinator)


def _hold_in_subprocess(lab: Lab, procs: list, **env: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, PLACE, lab.coordinator], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore", **env})
    procs.append(proc)
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(20), "holder subprocess did not acquire the place within 20s"
    assert proc.stdout.readline().startswith("rfc2217://127.0.0.1:")
    return proc


def test_acquire_gives_the_boards_rfc2217_url_and_release_frees_the_place(lab):
    place = LabgridPlace(PLACE, lab.coordinator)
    url = place.acquire()
    try:
        assert url == f"rfc2217://127.0.0.1:{lab.board_port}?ign_set_control"
        assert show(PLACE, lab.coordinator).holder == place.holder
        board = Board.open(replace(lab.spec, port=url, virtual=False))
        try:
            assert board.exec("print(6*7)") == "42\n"
            board.hard_reset()  # DTR/RTS reach the board though their answers are not awaited
            assert board.exec("print(6*7)") == "42\n"
        finally:
            board.close()
    finally:
        place.release()
    assert show(PLACE, lab.coordinator).holder is None
    place.release()  # twice is harmless
    with LabgridPlace(PLACE, lab.coordinator) as again:
        assert again.url == url
    assert show(PLACE, lab.coordinator).holder is None


def test_second_acquire_waits_then_names_the_holder(lab, tmp_path, holders):
    # a run on another rack host (its own host name, its own local leases)
    _hold_in_subprocess(lab, holders, LG_HOSTNAME="rack-ci", HIL_LEASE_DIR=str(tmp_path / "other-host"))
    start = time.monotonic()
    with pytest.raises(HilError, match=r"held by rack-ci/\S+ for more than 2s.*hil labgrid release esp-a"):
        LabgridPlace(PLACE, lab.coordinator).acquire(timeout=2)
    assert 2 <= time.monotonic() - start < 10

    # a run on this host: named by its pid
    holders[0].kill()
    holders[0].wait(5)
    release_stale(PLACE, lab.coordinator)
    first = LabgridPlace(PLACE, lab.coordinator)
    first.acquire()
    try:
        with pytest.raises(HilError, match=rf"held by pid {os.getpid()} on "):
            LabgridPlace(PLACE, lab.coordinator).acquire(timeout=1)
    finally:
        first.release()


def test_release_stale_clears_the_place_of_a_killed_run(lab, holders):
    proc = _hold_in_subprocess(lab, holders)
    with pytest.raises(HilError, match=rf"held by a live run: pid {proc.pid} "):
        release_stale(PLACE, lab.coordinator)  # never pulls the board from under a live run
    proc.send_signal(signal.SIGKILL)
    proc.wait(5)
    with pytest.raises(HilError, match="held by"):  # SIGKILL released nothing at the coordinator
        LabgridPlace(PLACE, lab.coordinator).acquire(timeout=0)
    assert release_stale(PLACE, lab.coordinator)  # the former holder, host/user
    with LabgridPlace(PLACE, lab.coordinator) as place:
        assert place.url.startswith("rfc2217://127.0.0.1:")
    assert release_stale(PLACE, lab.coordinator) is None  # nothing left to clear


def test_bad_places_and_coordinators_are_one_line_errors(lab):
    with pytest.raises(HilError, match="has no place 'nope'.*known places: .*esp-a") as err:
        LabgridPlace("nope", lab.coordinator).acquire(timeout=1)
    assert "\n" not in str(err.value)
    with pytest.raises(HilError, match=r"coordinator 127\.0\.0\.1:\d+ is unreachable.*LG_COORDINATOR"):
        LabgridPlace(PLACE, f"127.0.0.1:{_free_port()}").acquire(timeout=1)

    _setup_place(lab.coordinator, "no-serial", "rack1/esp/USBPowerPort")
    with pytest.raises(HilError, match="'no-serial' has no serial port.*add-match"):
        LabgridPlace("no-serial", lab.coordinator).acquire(timeout=1)
    assert show("no-serial", lab.coordinator).holder is None  # given back at once


def test_hil_labgrid_commands(lab, capsys, holders):
    parser = build_parser(["labgrid"])

    def hil(*argv: str) -> str:
        args = parser.parse_args([*argv, "--coordinator", lab.coordinator])
        assert args.func(args) == 0
        return capsys.readouterr().out

    proc = _hold_in_subprocess(lab, holders)
    out = hil("labgrid", "show", PLACE)
    assert "held by: " in out and f"live run on this host: pid {proc.pid}" in out
    assert f"rfc2217://127.0.0.1:{lab.board_port}?ign_set_control" in out
    proc.kill()
    proc.wait(5)
    assert "released place esp-a" in hil("labgrid", "release", PLACE)
    assert "was not acquired" in hil("labgrid", "release", PLACE)


def test_labgrid_missing_is_one_line_with_the_install_order(monkeypatch):
    monkeypatch.setitem(sys.modules, "labgrid.remote", None)  # as if labgrid were not installed
    with pytest.raises(HilError, match=r"labgrid is not installed .*pip install 'esp-hil\[labgrid\]'.*"
                                       r"--force-reinstall --no-deps pyserial-labgrid") as err:
        LabgridPlace(PLACE, "127.0.0.1:1").acquire(timeout=0)
    assert "\n" not in str(err.value)


def test_labgrid_urls_and_the_serial_package_check():
    assert PortKind.of("labgrid://esp-a") is PortKind.LABGRID and PortKind.of("rfc2217://rack3:4001") is PortKind.RFC2217
    place = from_url("labgrid://esp-a/uart0", "10.0.0.1:20408")
    assert (place.place, place.resource, place.coordinator) == ("esp-a", "uart0", "10.0.0.1:20408")
    with pytest.raises(HilError, match="bad labgrid port"):
        from_url("labgrid://")
    import serial

    problem = serial_package_problem()
    if serial.__version__.count(".") >= 3:  # pyserial-labgrid's files are in place
        assert problem is None
    else:  # plain pyserial was installed over them (as in a venv where esptool came last)
        assert "pip install --force-reinstall --no-deps pyserial-labgrid" in problem
