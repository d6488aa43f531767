"""--hil-multitest and --hil-upstream as a MicroPython developer meets them, on a virtual board."""

from __future__ import annotations

import threading

import pytest

# A server on the board at upstream's fixed port, a client on the host; holds the port a while.
TCP = '''
import socket, time
PORT = 8000

def instance0():
    multitest.globals(IP=multitest.get_network_ip())
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(socket.getaddrinfo("0.0.0.0", PORT)[0][-1])
    s.listen(1)
    multitest.next()
    c, _ = s.accept()
    print(c.recv(5))
    time.sleep(1)
    c.close()
    s.close()

def instance1():
    multitest.next()
    s = socket.socket()
    s.connect(socket.getaddrinfo(IP, PORT)[0][-1])
    s.send(b"hello")
    s.close()
'''

WRONG_EXP = "--- instance0 ---\nb'HELLO'\n--- instance1 ---\n"

SKIPS = "def instance0():\n    multitest.next()\n\ndef instance1():\n    multitest.skip()\n"
BOARD_SKIPS = "def instance0():\n    multitest.skip()\n\ndef instance1():\n    multitest.next()\n"

RAISES = "def instance0():\n    multitest.next()\n    raise ValueError('on the board')\n\ndef instance1():\n    multitest.next()\n"


@pytest.fixture
def tree(pytester):
    """A MicroPython-like tree: tests/ with its runner, and a multi_net folder."""
    tests = pytester.path / "micropython" / "tests"
    (tests / "multi_net").mkdir(parents=True)
    (tests / "run-multitests.py").write_text("")
    return tests


def _inventory(pytester, url: str, name: str = "rack") -> str:
    """A bench board with this host's network: the virtual board shares it."""
    pytester.makefile(".toml", **{name: f'[[board]]\nid = "bench"\nchip = "esp32"\nport = "{url}"\nnetwork = "host"\n'})
    return f"--hil-boards={name}.toml"


def _run(pytester, spec, *args):
    return pytester.runpytest_subprocess(_inventory(pytester, spec.url), "-rsf", *args)


def test_pass_fail_skip_with_a_diff_per_instance(pytester, tree, spec):
    (tree / "multi_net" / "tcp_ok.py").write_text(TCP)
    (tree / "multi_net" / "tcp_wrong.py").write_text(TCP)
    (tree / "multi_net" / "tcp_wrong.py.exp").write_text(WRONG_EXP)
    (tree / "multi_net" / "skips.py").write_text(SKIPS)
    (tree / "multi_net" / "raises.py").write_text(RAISES)
    (tree / "multi_net" / "board_skips.py").write_text(BOARD_SKIPS)
    result = _run(pytester, spec, f"--hil-multitest={tree / 'multi_net'}")
    result.assert_outcomes(passed=1, failed=2, skipped=2)
    out = result.stdout.str()
    assert "multi_net/tcp_ok.py::instance0[bench] PASSED" in out or "1 passed" in out
    assert "output differs from tcp_wrong.py.exp" in out
    assert "--- instance0 expected" in out and "-b'HELLO'" in out and "+b'hello'" in out
    assert "instance1 expected" not in out.split("tcp_wrong")[1].split("raises")[0]  # instance1 matched
    assert "the exchange" in out and "i0 : NEXT" in out
    assert "board bench transcript" in out and "port 8000 ->" in out
    assert "ValueError: on the board" in out  # the board's traceback, in its section
    assert "instance1 printed SKIP" in out and "instance0 printed SKIP" in out


def test_two_runs_at_once_do_not_collide_on_ports(pytester, tree, rack, tmp_path):
    """Both boards share this host's stack; each run moves PORT = 8000 to a block of its own."""
    (tree / "multi_net" / "tcp_ok.py").write_text(TCP)
    from esp_hil.virtual.rack import VirtualRack, specs_for

    other = VirtualRack(specs_for("esp32", 1), workdir=tmp_path / "rack2")
    other.start()
    try:
        boards = [_inventory(pytester, r.inventory().boards[0].url, f"rack{i}") for i, r in enumerate((rack, other))]
        results = [None, None]

        def run(index: int) -> None:
            results[index] = pytester.runpytest_subprocess(
                boards[index], f"--hil-multitest={tree / 'multi_net'}", f"--hil-results={tmp_path / f'r{index}.sqlite'}")
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        other.close()
    for result in results:
        result.assert_outcomes(passed=1)


def test_the_other_instance_on_a_second_board(pytester, tree, rack, tmp_path):
    """--hil-multitest-peer=board: each board in turn is instance0, the other one instance1."""
    (tree / "multi_net" / "tcp_ok.py").write_text(TCP)
    from esp_hil.virtual.rack import VirtualRack, specs_for

    other = VirtualRack(specs_for("esp8266", 1), workdir=tmp_path / "rack2")
    other.start()
    try:
        boards = "".join(f'[[board]]\nid = "{name}"\nchip = "esp32"\nport = "{r.inventory().boards[0].url}"\n'
                         f'network = "host"\n' for name, r in (("a", rack), ("b", other)))
        pytester.makefile(".toml", two=boards)
        result = pytester.runpytest_subprocess("--hil-boards=two.toml", f"--hil-multitest={tree / 'multi_net'}",
                                               "--hil-multitest-peer=board", "-v")
    finally:
        other.close()
    result.assert_outcomes(passed=2)
    assert "tcp_ok.py::instance0[a] PASSED" in result.stdout.str()


def test_single_instance_files_skip_what_needs_the_internet(pytester, tree, spec):
    hosted = tree / "net_hosted"
    hosted.mkdir()
    (hosted / "local.py").write_text("import socket\nprint(len(socket.getaddrinfo('127.0.0.1', 80)) > 0)\n")
    (hosted / "local.py.exp").write_text("True\n")
    (hosted / "outside.py").write_text("import socket\nsocket.getaddrinfo('micropython.org', 80)\n")
    (hosted / "skips.py").write_text("print('SKIP')\nraise SystemExit\n")
    result = _run(pytester, spec, f"--hil-upstream={hosted}")
    result.assert_outcomes(passed=1, skipped=2)
    out = result.stdout.str()
    assert "needs the internet (resolves micropython.org)" in out
    assert "the test printed SKIP" in out


def test_a_path_after_the_option_is_refused_before_pytest_writes_into_the_tree(pytester, tree, spec):
    (tree / "multi_net" / "tcp_ok.py").write_text(TCP)
    (tree.parent / "pyproject.toml").write_text("")
    result = pytester.runpytest_subprocess(_inventory(pytester, spec.url), "--hil-multitest", str(tree / "multi_net"))
    assert "write --hil-multitest=PATH" in result.stderr.str()


METRIC = '''
def instance0():
    multitest.next()
    multitest.output_metric("Sent 3 lines in 0 ms")
    multitest.output_metric("board says | hello")
    print("done")

def instance1():
    multitest.next()
'''


def test_metrics_reach_the_results_and_the_suite_is_named_as_in_the_tree(pytester, tree, spec, tmp_path):
    """OUTPUT_METRIC lines are kept with the result; the run's suite is MicroPython's folder, not `tests`."""
    (tree / "multi_net" / "metric.py").write_text(METRIC)
    db = tmp_path / "r.sqlite"
    _run(pytester, spec, f"--hil-multitest={tree / 'multi_net'}", f"--hil-results={db}").assert_outcomes(passed=1)
    from esp_hil.report import build
    from esp_hil.results import ResultsStore

    with ResultsStore(db, create=False) as store:
        run = store.run("latest")
        [result] = store.results(run.id)
        assert run.suite == "multi_net"
        assert (result.test_id, result.metrics) == (
            "multi_net/metric.py::instance0[bench]", ("Sent 3 lines in 0 ms", "board says | hello"))
        _run(pytester, spec, f"--hil-multitest={tree / 'multi_net'}", f"--hil-results={db}")
        report = build(store)
        assert report.baseline is not None and report.baseline.id == run.id  # the same files: a baseline
        assert [m.baseline for m in report.metrics] == [result.metrics]


READS_FILES = '''
certfile = "cert.der"

def instance0():
    multitest.next()
    with open(certfile, "rb") as f:
        print(f.read())
    with open("kept.der", "rb") as f:
        print(f.read())

def instance1():
    multitest.next()
    print("peer")
'''


def test_files_the_test_opens_are_put_on_the_board_and_removed_after(pytester, tree, spec, vboard):
    """As upstream's TLS files open their certificates: the board has them for the test, not after."""
    (tree / "multi_net" / "reads.py").write_text(READS_FILES)
    (tree / "multi_net" / "reads.py.exp").write_text("--- instance0 ---\nb'CERT'\nb'KEPT'\n--- instance1 ---\npeer\n")
    (tree / "multi_net" / "cert.der").write_bytes(b"CERT")
    (tree / "multi_net" / "kept.der").write_bytes(b"KEPT")
    (vboard.sandbox / "kept.der").write_bytes(b"OLD")  # the board had this one: it stays
    _run(pytester, spec, f"--hil-multitest={tree / 'multi_net'}").assert_outcomes(passed=1)
    assert not (vboard.sandbox / "cert.der").exists()
    assert (vboard.sandbox / "kept.der").read_bytes() == b"KEPT"
