"""MicroPython's multitest format (`tests/run-multitests.py`), spoken by esp-hil.

A multitest file defines `instance0()`, `instance1()`, ...; each instance runs the
file with a `multitest` helper appended and talks to the runner in lines on its
stdout: `NEXT` (ready: start the next instance), `SKIP`, `BROADCAST msg` (written to
the other instances' stdin, where `multitest.wait` reads it), `SET name = value` (a
global for the instances started later), `WAIT_FOR_REBOOT resume delay_ms` and
`OUTPUT_METRIC data`. The verdict is upstream's, so a file gets the same one here
as there: the instances' output, one section each, equal to `<file>.exp`, or, where
there is none, to the same file run on CPython instances.

One thing differs on purpose: a file's fixed `PORT = 8000` is moved to a block of
ports this run holds (`esp_hil.ports`), so two runs on one host do not collide.
Instances are anything with the `Instance` methods: a board (`BoardInstance`,
through the board's own session) or a process on this host (`HostInstance`).
"""

from __future__ import annotations

import difflib
import os
import re
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence

from esp_hil.board import Board, DeviceError
from esp_hil.errors import HilError
from esp_hil.judgement import Judgement
from esp_hil.virtual import lifetime

READ_TIMEOUT = 10.0  # an instance silent this long gets a TIMEOUT line, and the run stops
_POLL = 0.01

# Lines some ports print on their own, dropped wherever they appear (upstream's list).
IGNORED = (
    "libusb: error ",                # unix btstack, no access to USB devices
    "hci_transport_h2_libusb.c",     # unix btstack error log
    "USB Path: ",                    # unix btstack libusb transport
    "hci_number_completed_packet",   # unix btstack warning
    "lld_pdu_get_tx_flush_nb HCI packet count mismatch (",  # ESP-IDF, espressif/esp-idf#5105
    " ets_task(",                    # ESP8266 SDK debug output
)
# py/pyexec.c's banner after a reset: where a rebooted board is back.
BANNER = re.compile(r"^MicroPython v\d+\.\d+\.\d+.* on .*; .* with .*$")

_INSTANCE_DEF = re.compile(r"def instance([0-9]+)\(\):")
_FIXED_PORT = re.compile(r"^PORT = (\d+)[ \t]*(#.*)?$", re.M)

# Appended to the file for each instance (the protocol's device side, as upstream defines it).
# {injected}: HOST_IP and the SET globals so far; {entry}: the instance function to call.
HELPER = """
import sys
class multitest:
    @staticmethod
    def flush():
        try:
            sys.stdout.flush()
        except AttributeError:
            pass
    @staticmethod
    def skip():
        print("SKIP")
        multitest.flush()
        raise SystemExit
    @staticmethod
    def next():
        print("NEXT")
        multitest.flush()
    @staticmethod
    def broadcast(msg):
        print("BROADCAST", msg)
        multitest.flush()
    @staticmethod
    def wait(msg):
        want = "BROADCAST " + msg
        while sys.stdin.readline().rstrip() != want:
            pass
    @staticmethod
    def globals(**values):
        for name in values:
            print("SET {{}} = {{!r}}".format(name, values[name]))
        multitest.flush()
    @staticmethod
    def get_network_ip():
        try:
            return nic.ifconfig()[0]
        except:
            pass
        try:
            import network
            nif = network.WLAN() if hasattr(network, "WLAN") else network.LAN()
            return nif.ifconfig()[0]
        except:
            return HOST_IP
    @staticmethod
    def expect_reboot(resume, delay_ms=0):
        print("WAIT_FOR_REBOOT", resume, delay_ms)
    @staticmethod
    def output_metric(data):
        print("OUTPUT_METRIC", data)

{injected}
{entry}()
multitest.flush()
"""


class MultitestError(Exception):
    """The file breaks the format (not a failure of the board)."""


def decode(line: bytes) -> str:
    """A line as upstream compares it: ASCII, other bytes escaped, trailing space stripped."""
    return str(line, "ascii", "backslashreplace").rstrip()


@dataclass(frozen=True)
class MultitestFile:
    path: Path
    name: str  # as in MicroPython's tree, e.g. multi_net/tcp_data.py
    source: str
    instances: int

    @classmethod
    def read(cls, path: Path, name: str) -> "MultitestFile":
        source = path.read_text(encoding="utf-8")
        numbers = [int(m.group(1)) for line in source.splitlines() if (m := _INSTANCE_DEF.match(line))]
        return cls(path, name, source, max(numbers) + 1 if numbers else 0)

    @property
    def fixed_port(self) -> int | None:
        """The `PORT = N` the file binds (and `PORT + i`), or None when it picks its own."""
        m = _FIXED_PORT.search(self.source)
        return int(m.group(1)) if m else None

    def moved_to(self, base: int | None) -> str:
        """The source with its fixed port moved to `base` (unchanged without one)."""
        if base is None or self.fixed_port is None:
            return self.source
        return _FIXED_PORT.sub(f"PORT = {base}  # esp-hil: was {self.fixed_port}", self.source, count=1)

    @property
    def expected_file(self) -> Path:
        return self.path.with_name(self.path.name + ".exp")


class Instance(Protocol):
    label: str
    address: str  # where the other instances reach this one: its HOST_IP

    def start(self, code: str) -> None: ...
    def readline(self) -> tuple[str | None, str | None]: ...  # (a line, an error), or (None, None)
    def write(self, data: bytes) -> None: ...
    def finished(self) -> bool: ...
    def stop(self) -> None: ...
    def await_reboot(self, delay_ms: float) -> bool: ...


class HostInstance:
    """CPython or the MicroPython unix port, a process on this host, run in the test's folder."""

    def __init__(self, argv: list[str], cwd: Path, label: str, address: str, env: dict[str, str] | None = None):
        self.argv, self.cwd, self.label, self.address, self.env = argv, cwd, label, address, env
        self._proc: subprocess.Popen | None = None
        self._buf = b""
        self._eof = True

    def start(self, code: str) -> None:
        self.stop()
        # the test's folder is its cwd, but not a place to import from (tests/io would shadow io)
        script = "import sys\nsys.path.remove('')\n\n" + code
        self._proc = lifetime.popen([*self.argv, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, cwd=self.cwd, env=self.env)  # dies with the run
        self._buf, self._eof = b"", False

    def readline(self) -> tuple[str | None, str | None]:
        if b"\n" not in self._buf and not self._eof and self._proc is not None:
            fd = self._proc.stdout.fileno()
            if select.select([fd], [], [], 0.001)[0]:
                data = os.read(fd, 65536)
                self._buf += data
                self._eof = not data
        if b"\n" in self._buf or (self._eof and self._buf):
            line, _, self._buf = self._buf.partition(b"\n")
            return decode(line), None
        return None, None

    def write(self, data: bytes) -> None:
        try:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except (BrokenPipeError, AttributeError, ValueError):
            pass  # the instance has ended: nobody reads

    def finished(self) -> bool:
        if self._proc is None:
            return True
        if self._eof and not self._buf:
            try:
                self._proc.wait(timeout=READ_TIMEOUT)
            except subprocess.TimeoutExpired:
                return False
            return True
        return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        self._eof = True

    def await_reboot(self, delay_ms: float) -> bool:
        return False  # a process does not reboot


class BoardInstance:
    """A board, through its session (`Board.start` jobs): transcript, recovery and all."""

    def __init__(self, board: Board, label: str, address: str, drop: bytes = b""):
        self.board, self.label, self.address = board, label, address
        self._drop = drop  # the start of a firmware diagnostic line (after an empty line), not the test's output
        self.dropped: list[str] = []
        self._job = None
        self._seen = 0
        self._ended = True
        self._reset = ""  # the session's word that the board reset while the code ran

    def start(self, code: str) -> None:
        self._job = self.board.start(code, timeout=10)
        self._seen, self._ended, self._reset = 0, False, ""

    def readline(self) -> tuple[str | None, str | None]:
        job = self._job
        if job is None or self._ended:
            return None, None
        if not job.stdout_ended and not self._reset:
            try:
                job.read_for(0.005)
            except HilError as exc:  # the session saw the board reset: a SystemExit's soft reboot, or worse
                self._reset = str(exc).splitlines()[0]
        raw = job.raw_output
        while (end := raw.find(b"\n", self._seen)) >= 0:
            line = raw[self._seen:end]
            if self._drop and not line.rstrip(b"\r"):
                skip = self._diagnostic(raw, end + 1, job.stdout_ended)
                if skip is None:
                    return None, None  # perhaps a diagnostic on its way: wait for all of it
                if skip:
                    self._seen = skip
                    continue
            self._seen = end + 1
            return decode(line), None
        if not job.stdout_ended and not self._reset:
            return None, None
        # the code has ended: what is left of its last line, then its traceback
        rest, self._seen, self._ended = raw[self._seen:], len(raw), True
        return (decode(rest) if rest.strip() else None), self._ending(job)

    def _ending(self, job) -> str | None:
        """How the code ended: None when it simply ended, else its traceback or the reset that ended it."""
        if self._reset:  # after the raw REPL's end markers, a SystemExit (multitest.skip()) soft-reboots
            return None if job.stdout_ended else self._reset
        try:
            job.result(timeout=READ_TIMEOUT)
        except DeviceError as exc:
            return exc.traceback.replace("\r\n", "\n").rstrip()
        return None

    def _diagnostic(self, raw: bytes, start: int, ended: bool) -> int | None:
        """Where output resumes past a diagnostic line at `start`; 0 if there is none; None: too early to say."""
        rest = raw[start:]
        if rest.startswith(self._drop):
            close = raw.find(b"\n", start)
            if close >= 0:
                self.dropped.append(decode(raw[start:close]))
                return close + 1
            return 0 if ended else None
        return None if not ended and self._drop.startswith(rest) else 0

    def write(self, data: bytes) -> None:
        if self._job is not None and not self._ended:
            self._job.send(data)

    def finished(self) -> bool:
        return self._ended

    def stop(self) -> None:
        if self._job is not None and (self._reset or not self._job.done):
            self.board.interrupt()
        self._ended = True

    def await_reboot(self, delay_ms: float) -> bool:
        """Read the board's lines until the reset banner, then get its raw REPL back (soft reset)."""
        extra = delay_ms / 1000
        start = last = time.monotonic()
        while True:
            line, error = self.readline()
            if self._reset:  # the session saw the reset itself (a reset line ends the job)
                break
            now = time.monotonic()
            if error is not None:
                return False
            if line:
                last = now
                if BANNER.match(line):
                    break
            elif now - start > (1 + extra if last == start else 5 + extra):
                return False
            else:
                time.sleep(_POLL)
        self.board.soft_reset()
        return True


@dataclass
class Run:
    """What the instances printed, section by section, and how the run went."""

    output: list[list[str]]
    skipped: bool = False
    skipped_by: int | None = None  # the instance that printed SKIP
    error: bool = False
    metrics: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)  # every line as it came: "   ms iN : line"

    def text(self) -> str:
        return "".join(f"--- instance{i} ---\n" + "\n".join(lines) + "\n" for i, lines in enumerate(self.output))


class _Runner:
    """One run of a file on its instances: upstream's two phases, start in order, then lockstep."""

    def __init__(self, test: MultitestFile, source: str, instances: Sequence[Instance]):
        if len(instances) < test.instances:
            raise MultitestError(f"{test.name} needs {test.instances} instances, got {len(instances)}")
        self.test, self.source = test, source
        self.instances = list(instances[:test.instances])
        self.run = Run([[] for _ in self.instances])
        self.shared = ""  # SET globals so far
        self.t0 = time.monotonic()

    def code(self, index: int, entry: str) -> str:
        injected = f"HOST_IP = {self.instances[index].address!r}\n" if "get_network_ip" in self.source else ""
        return self.source + "\n" + HELPER.format(injected=injected + self.shared, entry=entry)

    def note(self, index: int, line: str) -> None:
        self.run.trace.append(f"{(time.monotonic() - self.t0) * 1000:6.0f} i{index} : {line}")

    def go(self) -> Run:
        try:
            self._start_all()
            if not (self.run.error or self.run.skipped):
                self._lockstep()
        finally:
            for index, inst in enumerate(self.instances):
                try:
                    inst.stop()
                except OSError as exc:
                    self.run.output[index].append(f"Runner failed to stop instance: {exc}")
        return self.run

    def _start_all(self) -> None:
        run = self.run
        for index, inst in enumerate(self.instances):
            inst.start(self.code(index, f"instance{index}"))
            last = time.monotonic()
            while not inst.finished():
                line, error = inst.readline()
                if line is None and error is None:
                    if time.monotonic() > last + READ_TIMEOUT:
                        run.output[index].append("TIMEOUT")
                        run.error = True
                        break
                    time.sleep(_POLL)
                    continue
                last = time.monotonic()
                if line is not None and not _ignored(line):
                    self.note(index, line)
                    if line.startswith("SET "):
                        self.shared += line[4:] + "\n"
                    elif line == "SKIP":
                        run.skipped, run.skipped_by = True, index
                        break
                    elif line == "NEXT":
                        break
                    else:
                        run.output[index].append(line)
                if error is not None:
                    self.note(index, error)
                    run.output[index].append(error)
                    run.error = True
            if run.error or run.skipped:
                return

    def _lockstep(self) -> None:
        run = self.run
        last = [time.monotonic()] * len(self.instances)
        while True:
            running = produced = 0
            for index, inst in enumerate(self.instances):
                if inst.finished():
                    continue
                running += 1
                line, error = inst.readline()
                if line is None and error is None:
                    if time.monotonic() > last[index] + READ_TIMEOUT:
                        run.output[index].append("TIMEOUT")
                        run.error = True
                    continue
                produced += 1
                last[index] = time.monotonic()
                if line is not None and not _ignored(line):
                    self.note(index, line)
                    self._line(index, inst, line)
                    last[index] = time.monotonic()
                if error is not None:
                    self.note(index, error)
                    run.output[index].append(error)
                    run.error = True
            if not produced:
                time.sleep(_POLL)
            if not running or run.error:
                return

    def _line(self, index: int, inst: Instance, line: str) -> None:
        if line.startswith("WAIT_FOR_REBOOT"):
            _, resume, delay_ms = line.split(" ")
            if inst.await_reboot(float(delay_ms)):
                if not resume.startswith(f"instance{index}"):
                    raise MultitestError(f'{self.test.name}: resume function must start with "instance{index}"')
                inst.start(self.code(index, resume))
        if line.startswith("BROADCAST "):
            for other in self.instances:
                if other is not inst:
                    other.write(line.encode("ascii") + b"\r\n")
        elif line.startswith("OUTPUT_METRIC "):
            self.run.metrics.append(line.split(" ", 1)[1])
        else:  # WAIT_FOR_REBOOT stays in the output too, as upstream keeps it
            self.run.output[index].append(line)


def _ignored(line: str) -> bool:
    return any(marker in line for marker in IGNORED)


def run(test: MultitestFile, source: str, instances: Sequence[Instance]) -> Run:
    """Run `source` (the file, ports moved) on `instances`, index = instance number."""
    return _Runner(test, source, instances).go()


@dataclass(frozen=True)
class Verdict:
    outcome: Judgement
    run: Run
    expected: str | None  # None when skipped
    expected_from: str  # "<file>.exp" or "CPython"

    def explain(self, tail: int = 30) -> str:
        """For a failure: the diff of each instance's section, then the last lines of the exchange."""
        parts = [f"output differs from {self.expected_from} (- expected, + this run)"]
        parts += diff(self.expected or "", self.run.text())
        if self.run.trace:
            parts.append(f"--- the exchange, last {min(tail, len(self.run.trace))} lines (ms, instance, line) ---")
            parts += self.run.trace[-tail:]
        return "\n".join(parts)


def judge(test: MultitestFile, done: Run, truth: "Truth") -> Verdict:
    """Upstream's decision: SKIP from any instance is a skip; else equal to the expected text."""
    if done.skipped:
        return Verdict(Judgement.SKIP, done, None, "")
    expected, origin = truth.expected(test)
    return Verdict(Judgement.PASS if done.text() == expected else Judgement.FAIL, done, expected, origin)


class Truth:
    """The expected output of files: `<file>.exp`, or a run on CPython instances (kept per file)."""

    def __init__(self, make_instances):
        self._make = make_instances  # (test) -> (source with ports moved, CPython instances, release)
        self._known: dict[Path, tuple[str, str]] = {}

    def expected(self, test: MultitestFile) -> tuple[str, str]:
        if test.path not in self._known:
            if test.expected_file.is_file():
                self._known[test.path] = (test.expected_file.read_text(encoding="utf-8"), test.expected_file.name)
            else:
                source, instances, release = self._make(test)
                try:
                    self._known[test.path] = (run(test, source, instances).text(), "the same file run on CPython")
                finally:
                    release()
        return self._known[test.path]


def sections(text: str) -> dict[str, list[str]]:
    """A run's text split by its `--- instanceN ---` headers."""
    found: dict[str, list[str]] = {}
    current = found.setdefault("(before any instance)", [])
    for line in text.splitlines():
        m = re.fullmatch(r"--- (instance\d+) ---", line)
        if m:
            current = found.setdefault(m.group(1), [])
        else:
            current.append(line)
    if not found["(before any instance)"]:
        del found["(before any instance)"]
    return found


def diff(expected: str, actual: str) -> list[str]:
    """A unified diff per instance, for the instances whose sections differ."""
    want, got = sections(expected), sections(actual)
    out: list[str] = []
    for label in list(dict.fromkeys([*want, *got])):
        a, b = want.get(label, []), got.get(label, [])
        if a != b:
            out += list(difflib.unified_diff(a, b, f"{label} expected", f"{label} this run", lineterm=""))
    return out


Launcher = Callable[[list[str]], list[str]]  # where a host instance runs: as is, or in a board's namespace


def cpython(cwd: Path, label: str, address: str, launch: Launcher = list) -> HostInstance:
    return HostInstance(launch([sys.executable]), cwd, label, address)


def unix_port(cwd: Path, label: str, address: str, tree: Path | None, launch: Launcher = list) -> HostInstance:
    """The MicroPython unix port; with a tree, importing from its extmod as upstream does."""
    from esp_hil.virtual.interpreter import find_micropython

    path = ".frozen" + (os.pathsep + str(tree / "extmod") if tree and (tree / "extmod").is_dir() else "")
    return HostInstance(launch([find_micropython()]), cwd, label, address, env={**os.environ, "MICROPYPATH": path})
