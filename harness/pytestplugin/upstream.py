"""MicroPython's own tests as tests of this run: `--hil-multitest=PATH` and `--hil-upstream=PATH` (each repeatable).

Each file under the paths becomes one test per board, named as in MicroPython's
tree with the board in brackets, as our own tests are: a multitest file by the
instance the board plays (`multi_net/tcp_data.py::instance0[virtual-esp32]`), a
single-instance file by its name (`net_hosted/accept_timeout.py::accept_timeout[virtual-esp32]`).
They stand on the `board`/`net_board` fixtures like any test, so leases, soft reset,
recovery, transcripts, results and reports are the same. The format's rules live
in `esp_hil.multitest` and `esp_hil.upstream`; this module only collects and calls.
"""

from __future__ import annotations

import contextlib
import glob
from enum import StrEnum
from pathlib import Path

import pytest

from esp_hil import boardfiles, multitest, ports, upstream
from esp_hil.board import Board
from esp_hil.spread import ANY_ID, Spread
from esp_hil.errors import HilError
from esp_hil.inventory import Network
from esp_hil.judgement import Judgement
from esp_hil.network import attach_network
from esp_hil.pytestplugin.keys import DEFECT_PROP, METRIC_PROP, POOL_KEY, UPSTREAM_KEY
_RUNNERS = ("run-multitests.py", "run-tests.py")


class Peer(StrEnum):
    """What runs a multitest's other instances (--hil-multitest-peer)."""

    CPYTHON = "cpython"  # CPython on this host
    UNIX = "unix"        # the MicroPython unix port on this host, as upstream's runner has it
    BOARD = "board"      # other boards of the run


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("esp-hil")
    group.addoption("--hil-multitest", metavar="PATH", nargs="+", action="extend", default=[],
                    help="run MicroPython's multitest files under these paths (e.g. tests/multi_net), the board as "
                         "instance0; write --hil-multitest=PATH (docs/multitest.md)")
    group.addoption("--hil-multitest-peer", type=Peer, choices=list(Peer), default=Peer.CPYTHON,
                    help="what runs the other instances: CPython (default) or the MicroPython unix port on this host, "
                         "or other boards of the run")
    group.addoption("--hil-multitest-permutations", metavar="N", type=int, default=1,
                    help="the board plays instance0..N-1 in turn (upstream's -p; default 1: instance0 only)")
    group.addoption("--hil-upstream", metavar="PATH", nargs="+", action="extend", default=[],
                    help="run MicroPython's single-instance test files under these paths or matching these patterns "
                         "(e.g. tests/net_hosted, 'tests/extmod/socket_*.py'); write --hil-upstream=PATH")


def pytest_configure(config: pytest.Config) -> None:
    """Asked only for upstream files, a run does not also collect our own testpaths.

    The paths, as MicroPython's tree names them (`multi_net`, `extmod/socket_*.py`), are
    the run's suite in the results, so a report compares it with runs of the same files.
    """
    paths = [Path(p).resolve() for p in [*config.getoption("--hil-multitest"), *config.getoption("--hil-upstream")]]
    if not paths:
        return
    config.stash[UPSTREAM_KEY] = tuple(tree_name(path, path) for path in paths)
    _refuse_rootdir_in_tree(config, paths)
    if config.getoption("--hil-multitest-peer") is Peer.BOARD and (
            hasattr(config, "workerinput") or config.getoption("numprocesses", None)):
        raise pytest.UsageError("--hil-multitest-peer=board needs the run's boards in one process: drop -n "
                                "(two workers would each hold a board and wait for the other's)")
    if not config.option.file_or_dir:
        config.args = []


def _refuse_rootdir_in_tree(config: pytest.Config, paths: list[Path]) -> None:
    """pytest picks its rootdir before our options exist, so `--hil-multitest PATH` reads as a path to it.

    The rootdir would be MicroPython's tree, and the run's cache and results would be
    written there: refuse, and say how to write it.
    """
    root, here = config.rootpath, config.invocation_params.dir
    if config.getoption("rootdir") or root == here or root in here.parents:
        return
    if any(root == p or root in p.parents for p in paths):
        raise pytest.UsageError(f"pytest took {root} as its rootdir from the path after an esp-hil option; "
                                "write --hil-multitest=PATH / --hil-upstream=PATH (one path each), or add --rootdir=.")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    """Add the upstream files' tests before -k, -m and --deselect filter the run's items."""
    files = [UpstreamFile.for_multitest(session, Path(root), path)
             for root in config.getoption("--hil-multitest") for path in _files(Path(root))]
    files += [UpstreamFile.for_single(session, Path(root), path)
              for root in config.getoption("--hil-upstream") for path in _files(Path(root))]
    for node in files:
        found = node.collect()
        session.ihook.pytest_collectreport(report=pytest.CollectReport(node.nodeid, "passed", None, found))
        items += found


@pytest.fixture
def hil_board_id(request: pytest.FixtureRequest) -> str:
    """The board of an upstream test (our own tests get theirs by parametrization, which overrides this)."""
    board_id = getattr(request.node, "hil_board_id", None)
    if board_id is None:
        pytest.fail("hil_board_id: only board tests have one (use the board or net_board fixture)", pytrace=False)
    return board_id


class UpstreamFailure(Exception):
    """Output differs from what upstream expects; the message is the diff, shown as is."""


class UpstreamFile(pytest.File):
    """A file of MicroPython's tree: one test per board (and instance the board plays); never imported."""

    @classmethod
    def for_multitest(cls, session: pytest.Session, root: Path, path: Path) -> "UpstreamFile":
        node = cls.from_parent(session, path=path, nodeid=tree_name(path, root))
        node.test = multitest.MultitestFile.read(path, node.nodeid)
        return node

    @classmethod
    def for_single(cls, session: pytest.Session, root: Path, path: Path) -> "UpstreamFile":
        node = cls.from_parent(session, path=path, nodeid=tree_name(path, root))
        node.test = None
        return node

    def collect(self) -> list:
        boards = _board_ids(self.config)
        if self.test is None:
            return [UpstreamItem.from_parent(self, name=f"{self.path.stem}[{b}]", board_id=b, callobj=_single(self.path, self.nodeid))
                    for b in boards]
        plays = min(self.test.instances, max(1, self.config.getoption("--hil-multitest-permutations")))
        return [UpstreamItem.from_parent(self, name=f"instance{i}[{b}]", board_id=b, callobj=_multitest(self.test, i))
                for i in range(plays) for b in boards]


class UpstreamItem(pytest.Function):
    def __init__(self, *, board_id: str, **kwargs):
        super().__init__(**kwargs)
        self.hil_board_id = board_id

    def reportinfo(self):
        return self.path, 0, self.name

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, UpstreamFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _multitest(test: multitest.MultitestFile, position: int):
    def run_multitest(net_board: Board, request: pytest.FixtureRequest) -> None:
        peer = request.config.getoption("--hil-multitest-peer")
        tree = _tree_of(test.path)
        boards = _peer_boards(request, net_board, test.instances - 1) if peer is Peer.BOARD else []
        files = boardfiles.named_files(test.source, test.path.parent)  # certificates the TLS files open
        with ports.reserve() as block, contextlib.ExitStack() as on_boards:
            for board in [net_board, *boards]:
                on_boards.enter_context(boardfiles.staged(board, files))
            others = iter(boards)
            instances = [_on_board(net_board) if i == position
                         else _on_board(next(others)) if boards
                         else _host(peer, test.path.parent, f"{peer}{i}", net_board, tree)
                         for i in range(test.instances)]
            net_board.transcript.note(f"multitest {test.name}: this board is instance{position}, others on "
                                      f"{', '.join(b.id for b in boards) or peer}, port {test.fixed_port} -> {block.base}")
            done = multitest.run(test, test.moved_to(block.base), instances)
        for metric in done.metrics:
            request.node.user_properties.append((METRIC_PROP, metric))
        _known_defects(request, net_board, instances[position].dropped)
        verdict = multitest.judge(test, done, _TRUTH)
        if verdict.outcome is Judgement.SKIP:
            _skip(f"instance{done.skipped_by} printed SKIP")
        if verdict.outcome is Judgement.FAIL:
            tails = [f"--- board {b.id} (a peer) transcript tail ---\n{b.transcript.tail(30)}" for b in boards]
            raise UpstreamFailure("\n".join([verdict.explain(), *tails]))
    return run_multitest


def _on_board(board: Board) -> multitest.BoardInstance:
    drop = upstream.KNOWN_DEFECT if board.capabilities.source_build else b""
    return multitest.BoardInstance(board, board.id, board.ip, drop)


def _peer_boards(request: pytest.FixtureRequest, board: Board, count: int) -> list[Board]:
    """Other boards of the run for the other instances (--hil-multitest-peer=board), soft-reset, on the network.

    This process holds them while the test runs: in a run with -n, a board another
    worker holds is waited for, as any board is.
    """
    pool = request.config.stash[POOL_KEY]
    ids = [b.id for b in pool.inventory.boards if b.id != board.id and b.id not in pool.lost][:count]
    if len(ids) < count:
        _skip(f"needs {count} other board(s) in the run to play the other instances (--hil-multitest-peer=board)")
    peers = []
    for board_id in ids:
        try:
            peer = pool.acquire(board_id)
            peer.soft_reset(timeout=5)
            attach_network(peer)
        except HilError as exc:
            pytest.fail(f"peer board: {str(exc).splitlines()[0]}", pytrace=False)
        peer.transcript.note(f"test {request.node.nodeid}: a peer instance")
        peers.append(peer)
    return peers


def _single(path: Path, name: str):
    def run_upstream(board: Board, request: pytest.FixtureRequest) -> None:
        reason = upstream.needs_internet(path, path.read_text(encoding="utf-8"))
        if reason:
            _skip(reason)
        shared = board.spec.network == Network.HOST  # its fixed ports are this host's
        with ports.host_stack() if shared else contextlib.nullcontext():
            output, defects = upstream.strip_known_defects(upstream.run_on_board(board, path))
        _known_defects(request, board, defects)
        outcome = upstream.judge(output, path)
        if outcome.outcome is Judgement.SKIP:
            _skip(outcome.reason)
        if outcome.outcome is Judgement.FAIL:
            known = upstream.known_failure(name, _tree_of(path), board.capabilities.source_build)
            _fail_unless_known(board, upstream.explain(outcome), known)
    return run_upstream


def _fail_unless_known(board: Board, explanation: str, known: str | None) -> None:
    """A failure; of a file whose failure is known, an expected one with the reason (the diff kept in the transcript)."""
    if known is None:
        raise UpstreamFailure(explanation)
    board.transcript.note(f"known failure ({known}), not counted:\n{explanation}")
    pytest.xfail(known)


def _known_defects(request: pytest.FixtureRequest, board: Board, lines: list[str]) -> None:
    """lwIP's asserts in a source build caught a misuse MicroPython is known to commit: kept, not compared."""
    for line in lines:
        board.transcript.note(f"known firmware defect, left out of the comparison: {line}")
        request.node.user_properties.append((DEFECT_PROP, line))


def _skip(reason: str) -> None:
    """Skip, reported at the upstream file (not at this module's line)."""
    raise pytest.skip.Exception(reason, _use_item_location=True)


def _host(kind: Peer, cwd: Path, label: str, board: Board, tree: Path | None) -> multitest.HostInstance:
    """Another instance, on this host, where the board is reached (a source-built board's namespace)."""
    if kind is Peer.UNIX:
        return multitest.unix_port(cwd, label, board.host_ip, tree, board.sockets.command)
    return multitest.cpython(cwd, label, board.host_ip, board.sockets.command)


def _truth_instances(test: multitest.MultitestFile):
    """CPython for every instance, on this host, with a port block of its own."""
    block = ports.reserve()
    instances = [multitest.cpython(test.path.parent, f"cpython{i}", "127.0.0.1") for i in range(test.instances)]
    return test.moved_to(block.base), instances, block.release


_TRUTH = multitest.Truth(_truth_instances)


def _board_ids(config: pytest.Config) -> list[str]:
    if config.getoption("--hil-mode") is Spread.ANY:
        return [ANY_ID]
    return [b.id for b in config.stash[POOL_KEY].inventory.boards]


def _files(root: Path) -> list[Path]:
    """The test files under `root`, `root` itself, or those matching it (`tests/extmod/socket_*.py`), sorted."""
    if root.is_file():
        return [root.resolve()]
    if any(c in str(root) for c in "*?["):
        return sorted(Path(p).resolve() for p in glob.glob(str(root)) if p.endswith(".py"))
    return sorted(p.resolve() for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _tree_of(path: Path) -> Path | None:
    """The MicroPython tree holding `path` (the parent of the tests/ folder with its runners)."""
    for folder in path.parents:
        if any((folder / runner).is_file() for runner in _RUNNERS):
            return folder.parent
    return None


def tree_name(path: Path, root: Path) -> str:
    """The file as MicroPython's tree names it (relative to tests/), else relative to `root`'s folder."""
    for folder in path.parents:
        if any((folder / runner).is_file() for runner in _RUNNERS):
            return path.relative_to(folder).as_posix()
    base = root.resolve().parent if root.is_dir() else path.parent.parent
    return path.relative_to(base).as_posix()
