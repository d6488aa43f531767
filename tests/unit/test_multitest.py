"""The multitest format without a board: CPython instances speak the whole line protocol."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from esp_hil import multitest, ports
from esp_hil.multitest import MultitestFile
from esp_hil.upstream import KNOWN_DEFECT

PROTOCOL = '''
PORT = 8000


def instance0():
    multitest.globals(IP="10.0.0.1", N=3)
    print("esp8266 noise ets_task(4020, 28, ...)")
    multitest.next()
    print("server", PORT)
    multitest.broadcast("ready")
    multitest.wait("done")
    multitest.output_metric("rate 42")
    print("server end")


def instance1():
    multitest.next()
    multitest.wait("ready")
    print("client", IP, N)
    multitest.broadcast("done")
'''


def _file(tmp_path: Path, body: str, exp: str | None = None, name: str = "proto.py") -> MultitestFile:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    if exp is not None:
        path.with_name(name + ".exp").write_text(exp)
    return MultitestFile.read(path, f"multi_net/{name}")


def _cpython(test: MultitestFile) -> list[multitest.HostInstance]:
    return [multitest.cpython(test.path.parent, f"cpython{i}", "127.0.0.1") for i in range(test.instances)]


def test_protocol_set_next_broadcast_wait_metric_and_ignored_lines(tmp_path):
    test = _file(tmp_path, PROTOCOL)
    assert test.instances == 2
    done = multitest.run(test, test.moved_to(23456), _cpython(test))
    assert not done.error and not done.skipped
    assert done.text() == "--- instance0 ---\nserver 23456\nserver end\n--- instance1 ---\nclient 10.0.0.1 3\n"
    assert done.metrics == ["rate 42"]
    assert any("i1 : BROADCAST done" in line for line in done.trace)


def test_skip_from_any_instance_skips(tmp_path):
    test = _file(tmp_path, "def instance0():\n    multitest.next()\n\ndef instance1():\n    multitest.skip()\n")
    done = multitest.run(test, test.source, _cpython(test))
    assert done.skipped and done.skipped_by == 1
    assert multitest.judge(test, done, multitest.Truth(None)).outcome == "skip"


def test_silent_instance_times_out(tmp_path, monkeypatch):
    monkeypatch.setattr(multitest, "READ_TIMEOUT", 0.5)
    test = _file(tmp_path, "import time\ndef instance0():\n    multitest.next()\n    time.sleep(30)\n")
    done = multitest.run(test, test.source, _cpython(test))
    assert done.error and done.output == [["TIMEOUT"]]


def test_fixed_port_is_moved_and_nothing_else(tmp_path):
    test = _file(tmp_path, "PORT = 8000\nOTHER_PORT = 8000\ndef instance0():\n    print(PORT + 1)\n")
    moved = test.moved_to(30000)
    assert "PORT = 30000  # esp-hil: was 8000" in moved and "OTHER_PORT = 8000" in moved
    random_port = _file(tmp_path, "PORT = 10000 + 5\ndef instance0():\n    pass\n", name="r.py")
    assert random_port.fixed_port is None and random_port.moved_to(30000) == random_port.source


def test_verdict_from_exp_file_shows_a_diff_per_instance(tmp_path):
    exp = "--- instance0 ---\nserver 8000\nserver end\n--- instance1 ---\nclient 10.0.0.1 4\n"
    test = _file(tmp_path, PROTOCOL, exp=exp)
    done = multitest.run(test, test.source, _cpython(test))
    verdict = multitest.judge(test, done, multitest.Truth(None))
    assert verdict.outcome == "fail" and verdict.expected_from == "proto.py.exp"
    text = verdict.explain()
    assert "--- instance1 expected" in text and "-client 10.0.0.1 4" in text and "+client 10.0.0.1 3" in text
    assert "instance0 expected" not in text  # instance0 matched
    assert "the exchange" in text


def test_verdict_without_exp_file_is_a_cpython_run(tmp_path):
    test = _file(tmp_path, PROTOCOL)
    truth = multitest.Truth(lambda t: (t.moved_to(23456), _cpython(t), lambda: None))
    done = multitest.run(test, test.moved_to(23456), _cpython(test))
    verdict = multitest.judge(test, done, truth)
    assert verdict.outcome == "pass" and "CPython" in verdict.expected_from


def test_port_blocks_are_never_shared(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_LEASE_DIR", str(tmp_path))
    blocks = [ports.reserve(4) for _ in range(20)]
    try:
        assert len({b.base for b in blocks}) == 20
    finally:
        for b in blocks:
            b.release()


@pytest.mark.parametrize("source, reason", [
    ('socket.getaddrinfo("micropython.org", 80)', "resolves micropython.org"),
    ('socket.getaddrinfo("1.1.1.1", 8000)', "connects to 1.1.1.1"),
    ('socket.getaddrinfo("192.0.2.1", 80)', None),  # TEST-NET: nowhere, on purpose
    ('socket.getaddrinfo("127.0.0.1", 8123)\nopen("cert.der")', None),
    ('print("CustomPollable.ioctl", "os.path")', None),
])
def test_internet_is_recognised(source, reason):
    from esp_hil.upstream import needs_internet

    found = needs_internet(Path("net_hosted/x.py"), source)
    assert (found is None) if reason is None else (reason in found)


def test_single_instance_verdicts(tmp_path):
    from esp_hil.upstream import judge

    path = tmp_path / "t.py"
    path.write_text("print('hi')\n")
    assert judge(b"SKIP\n", path).outcome == "skip"
    assert judge(b"hi\n", path).outcome == "pass"  # CPython prints the same
    assert judge(b"ho\n", path).outcome == "fail"
    path.with_name("t.py.exp").write_text("ho\n")
    assert judge(b"ho\n", path).outcome == "pass"
    summary = b"x\n" + b"-" * 70 + b"\nRan 2 tests\n\nOK\n"
    assert judge(summary, path).outcome == "pass"
    no_unittest = b"Traceback (most recent call last):\nImportError: no module named 'unittest'\nCRASH"
    assert "needs unittest" in judge(no_unittest, path).reason


def test_names_as_in_micropythons_tree(tmp_path):
    from esp_hil.pytestplugin.upstream import tree_name

    tests = tmp_path / "micropython" / "tests"
    (tests / "multi_net").mkdir(parents=True)
    (tests / "run-multitests.py").write_text("")
    assert tree_name(tests / "multi_net" / "tcp_data.py", tests / "multi_net") == "multi_net/tcp_data.py"
    loose = tmp_path / "mine"
    loose.mkdir()
    assert tree_name(loose / "a.py", loose) == "mine/a.py"


class _Rebooting:
    """A fake board instance: asks for a reboot, then prints what the resumed function prints."""

    label, address = "fake", "127.0.0.1"

    def __init__(self):
        self.started: list[str] = []
        self.lines: list[str] = []

    def start(self, code: str) -> None:
        self.started.append(code.rsplit("\n", 3)[-3])  # the entry point called at the end
        self.lines = ["NEXT", "WAIT_FOR_REBOOT instance0_after 0"] if len(self.started) == 1 else ["resumed"]

    def readline(self):
        return (self.lines.pop(0), None) if self.lines else (None, None)

    def write(self, data: bytes) -> None:
        pass

    def finished(self) -> bool:
        return not self.lines and len(self.started) > 1

    def stop(self) -> None:
        pass

    def await_reboot(self, delay_ms: float) -> bool:
        return True


def test_expect_reboot_resumes_the_named_function(tmp_path):
    test = _file(tmp_path, "def instance0():\n    multitest.next()\n    multitest.expect_reboot('instance0_after')\n")
    fake = _Rebooting()
    done = multitest.run(test, test.source, [fake])
    assert fake.started == ["instance0()", "instance0_after()"]
    assert done.output == [["WAIT_FOR_REBOOT instance0_after 0", "resumed"]]  # upstream keeps the line


class _Job:
    """A board job fed in chunks, as a serial line delivers them."""

    def __init__(self, chunks: list[bytes]):
        self.chunks, self.raw_output, self.done = chunks, b"", False

    @property
    def stdout_ended(self) -> bool:
        return not self.chunks and self.raw_output.endswith(b"\n")

    def read_for(self, seconds: float) -> None:
        if self.chunks:
            self.raw_output += self.chunks.pop(0)

    def result(self, timeout: float) -> str:
        self.done = True
        return ""


class _Board:
    def __init__(self, job):
        self.job = job

    def start(self, code: str, timeout: float):
        return self.job


def test_a_source_builds_known_defect_report_is_not_output_even_split_across_reads():
    diag = b"\r\n" + KNOWN_DEFECT + b": invalid socket state (tcp.c:2070)\r\n"
    job = _Job([b"one\r\n", diag[:3], diag[3:20], diag[20:], b"\r\ntwo\r\n"])
    inst = multitest.BoardInstance(_Board(job), "b", "127.0.0.1", drop=KNOWN_DEFECT)
    inst.start("")
    lines = []
    while not inst.finished():
        line, error = inst.readline()
        if line is not None:
            lines.append(line)
    assert lines == ["one", "", "two"]  # the test's own empty line stays
    assert inst.dropped == [KNOWN_DEFECT.decode() + ": invalid socket state (tcp.c:2070)"]


def test_tox_upstream_is_skipped_with_the_reason_without_a_tree(monkeypatch, capsys, tmp_path):
    from tests.support.upstream_suite import ENV, main

    monkeypatch.delenv(ENV, raising=False)
    assert main([]) == 0 and "skipped: HIL_MICROPYTHON_SRC is not set" in capsys.readouterr().out
    monkeypatch.setenv(ENV, str(tmp_path))
    assert main([]) == 2 and "is not a MicroPython tree" in capsys.readouterr().err


def test_a_board_whose_session_reports_the_reset_is_rebooted_and_back(monkeypatch):
    from esp_hil.errors import HilError

    class Resetting(_Job):
        stdout_ended = False  # the program never ends: the board resets under it

        def read_for(self, seconds: float) -> None:
            if not self.chunks:
                raise HilError("board reset during the test: MicroPython v1.24.1 on 2024-11-29; ESP32 with ESP32",
                               board="b")
            super().read_for(seconds)

    board = _Board(Resetting([b"WAIT_FOR_REBOOT instance0_after 0\r\n"]))
    board.soft_resets = 0
    monkeypatch.setattr(board, "soft_reset", lambda: setattr(board, "soft_resets", board.soft_resets + 1),
                        raising=False)
    inst = multitest.BoardInstance(board, "b", "127.0.0.1")
    inst.start("")
    assert inst.readline() == ("WAIT_FOR_REBOOT instance0_after 0", None)
    assert inst.await_reboot(0) is True and board.soft_resets == 1


def test_flaky_files_are_upstreams_list_from_the_tree_and_ours(tmp_path, monkeypatch):
    from esp_hil.upstream import flaky_reason
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "run-tests.py").write_text(textwrap.dedent("""\
        flaky_tests_to_ignore = {
            "thread/thread_gc1.py": ("GC race condition", None),
            "thread/stress_heap.py": ("flaky on macOS", ("darwin",)),
        }
    """))
    monkeypatch.setattr("sys.platform", "linux")
    assert flaky_reason("thread/thread_gc1.py", tmp_path) == "GC race condition"
    assert flaky_reason("thread/stress_heap.py", tmp_path) is None  # another host's flake
    assert "host's load" in flaky_reason("net_hosted/asyncio_loopback.py", None)
    assert flaky_reason("net_hosted/accept_timeout.py", tmp_path) is None


def test_a_virtual_boards_limit_is_a_known_failure_only_on_the_boards_that_have_it():
    from esp_hil.upstream import known_failure
    assert known_failure("net_hosted/asyncio_loopback.py", None, source_build=True).startswith("virtual board: ")
    assert known_failure("net_hosted/asyncio_loopback.py", None, source_build=False).startswith("flaky: ")
    assert known_failure("net_hosted/accept_timeout.py", None, source_build=True) is None
