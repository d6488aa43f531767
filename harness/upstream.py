"""MicroPython's single-instance tests (`tests/run-tests.py` style), judged as upstream judges them.

A file runs on the board as one script; its output (newlines made `\\n`) must equal
`<file>.exp`, or, where there is none, what CPython prints for the same file. A file
that prints exactly `SKIP` is skipped, as upstream skips it. A file that reaches
the internet (net_inet, or a public host name or address in its code) is skipped
with that reason before it runs: a board on a rack has no business failing for the
lab's uplink.
"""

from __future__ import annotations

import ast
import difflib
import ipaddress
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from esp_hil import device
from esp_hil.board import Board, DeviceError
from esp_hil.errors import BoardTimeout, HilError
from esp_hil.judgement import Judgement
from esp_hil.virtual import lifetime

TEST_TIMEOUT = 30.0  # upstream's MICROPY_TEST_TIMEOUT default
# Firmware without lwIP's asserts prints nothing there: not the test's output, it is reported apart.
KNOWN_DEFECT = device.KNOWN_DEFECT.encode()
_KNOWN_DEFECT_LINE = re.compile(rb"\r?\n(" + re.escape(KNOWN_DEFECT) + rb"[^\r\n]*)\r?\n")
# a host name: lowercase labels ending in a common top-level domain (not `CustomPollable.ioctl`, not `os.path`)
_HOSTNAME = re.compile(r"(?:[a-z0-9-]+\.)+(?:com|org|net|io|dev|edu|gov|info|app|co|uk|de|fr|cn|jp|ru|au|us)")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_UNITTEST_RAN = re.compile(rb"Ran (\d+) tests$")
_UNITTEST_RESULT = re.compile(rb"(OK)( \(skipped=\d+\))?$|FAILED \(failures=\d+, errors=\d+\)$")
# Files whose output depends on the host's timing, beside run-tests.py's own `flaky_tests_to_ignore`.
HOST_TIMING = {
    "net_hosted/asyncio_loopback.py": "two asyncio.sleep(0.1) race: which task wakes first depends on the host's load",
}
# Files that fail on a board built from source for a limit of the virtual board, not of MicroPython (docs/multitest.md).
SOURCE_BUILD_LIMITS = {
    "net_hosted/asyncio_loopback.py": "the build's lwIP has no loopback interface (EHOSTUNREACH to 127.0.0.1), and "
                                      "the board says sys.platform == 'linux', so the file does not skip",
}


def needs_internet(path: Path, source: str) -> str | None:
    """Why the file needs the internet, or None: net_inet, or a public name or address it reaches."""
    if "net_inet" in path.parts:
        return "needs the internet (net_inet)"
    try:
        strings = [n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    except SyntaxError:
        strings = re.findall(r"[\"']([^\"'\n]+)[\"']", source)
    for text in strings:
        if _IPV4.fullmatch(text):
            try:
                if ipaddress.ip_address(text).is_global:
                    return f"needs the internet (connects to {text})"
            except ValueError:
                continue
        elif _HOSTNAME.fullmatch(text):
            return f"needs the internet (resolves {text})"
    return None


def known_failure(name: str, tree: Path | None, source_build: bool) -> str | None:
    """Why a failure of `name` is expected and not the board's (`virtual board: ...`, `flaky: ...`), or None."""
    if source_build and name in SOURCE_BUILD_LIMITS:
        return f"virtual board: {SOURCE_BUILD_LIMITS[name]}"
    flaky = flaky_reason(name, tree)
    return f"flaky: {flaky}" if flaky else None


def flaky_reason(name: str, tree: Path | None) -> str | None:
    """Why a failure of `name` (as the tree names it) counts as flaky, as run-tests.py reclassifies it, or None.

    Upstream's list is read from the tree's own run-tests.py, so a developer's tree
    decides; its platforms are the host's, as upstream compares them.
    """
    known = {name: (reason, None) for name, reason in HOST_TIMING.items()}
    runner = tree / "tests" / "run-tests.py" if tree else None
    if runner and runner.is_file():
        known.update(_upstream_flaky(runner.read_text(encoding="utf-8")))
    reason, platforms = known.get(name, (None, None))
    if reason is None or (platforms is not None and sys.platform not in platforms):
        return None
    return reason


def _upstream_flaky(source: str) -> dict[str, tuple[str, tuple[str, ...] | None]]:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "flaky_tests_to_ignore" for t in node.targets):
            try:
                return dict(ast.literal_eval(node.value))
            except ValueError:
                return {}
    return {}


@dataclass(frozen=True)
class Outcome:
    outcome: Judgement
    output: bytes
    expected: bytes | None
    expected_from: str
    reason: str = ""


def strip_known_defects(output: bytes) -> tuple[bytes, list[str]]:
    """The output without the known-defect lines of a source build, and those lines."""
    found = [m.decode("ascii", "backslashreplace") for m in _KNOWN_DEFECT_LINE.findall(output)]
    return _KNOWN_DEFECT_LINE.sub(b"", output), found


def run_on_board(board: Board, path: Path, timeout: float = TEST_TIMEOUT) -> bytes:
    """The file's output on the board, as upstream collects it (a crash ends in CRASH)."""
    script = path.read_text(encoding="utf-8")
    # a marker first: a file too large to even start shows as no marker (upstream's SKIP-TOO-LARGE)
    script = ("print('START TEST')" if script.startswith("#") else "print('START TEST')\n") + script
    job = board.start(script, timeout=10)
    try:
        job.result(timeout=timeout)
        output = job.raw_output
    except DeviceError as exc:
        output = job.raw_output
        if not output and "MemoryError" in exc.traceback:
            return b"SKIP-TOO-LARGE\n"
        output += exc.traceback.encode() + b"CRASH"
    except BoardTimeout:
        output = job.raw_output + b"TIMEOUT"  # the job interrupted the code; the board is back in raw REPL
    except HilError:
        if not job.stdout_ended:
            raise  # the board reset while the code ran: the board's problem, not the test's verdict
        output = job.raw_output  # the code ended with SystemExit (upstream's SKIP), and the REPL soft-rebooted
        board.interrupt()
    if output.startswith(b"START TEST\r\n"):
        output = output[len(b"START TEST\r\n"):]
    elif output.startswith(b"START TEST\n"):
        output = output[len(b"START TEST\n"):]
    return output.replace(b"\r\r\n", b"\n").replace(b"\r\n", b"\n")


def expected_output(path: Path) -> tuple[bytes, str]:
    """`<file>.exp`, or what CPython prints for the file (run in its folder, as upstream does)."""
    exp = path.with_name(path.name + ".exp")
    if exp.is_file():
        return exp.read_bytes().replace(b"\r\n", b"\n"), exp.name
    try:  # a network test may wait forever: it dies with the run
        out = subprocess.check_output([sys.executable, "-BS", str(path)], cwd=path.parent, stderr=subprocess.STDOUT,
                                      timeout=TEST_TIMEOUT, preexec_fn=lifetime.die_with_parent)
    except subprocess.CalledProcessError as exc:
        out = b"CPYTHON3 CRASH:\n" + exc.output
    except subprocess.TimeoutExpired as exc:
        out = b"CPYTHON3 TIMEOUT:\n" + (exc.output or b"")
    return out.replace(b"\r\n", b"\n"), "the same file run on CPython"


def judge(output: bytes, path: Path) -> Outcome:
    """Upstream's decision: SKIP, a unittest summary, or equality with the expected output."""
    if output in (b"SKIP\n", b"SKIP-TOO-LARGE\n"):
        reason = "too large for the board" if output.startswith(b"SKIP-TOO") else "the test printed SKIP"
        return Outcome(Judgement.SKIP, output, None, "", reason)
    lines = output.splitlines()
    if b"ImportError: no module named 'unittest'" in lines[-3:]:
        return Outcome(Judgement.SKIP, output, None, "", "needs unittest on the board (mpremote mip install "
                                                          "unittest), which upstream's runner requires too")
    if len(lines) > 4 and lines[-4] == b"-" * 70 and lines[-2] == b"" and _UNITTEST_RAN.match(lines[-3]):
        result = _UNITTEST_RESULT.match(lines[-1])
        if result:
            return Outcome(Judgement.PASS if result.group(1) else Judgement.FAIL, output, None, "its unittest summary")
    expected, origin = expected_output(path)
    return Outcome(Judgement.PASS if output == expected else Judgement.FAIL, output, expected, origin)


def explain(outcome: Outcome) -> str:
    """For a failure: the diff against the expected output (- expected, + the board)."""
    want = (outcome.expected or b"").decode("utf-8", "replace").splitlines()
    got = outcome.output.decode("utf-8", "replace").splitlines()
    lines = difflib.unified_diff(want, got, f"expected ({outcome.expected_from})", "this board", lineterm="")
    return f"output differs from {outcome.expected_from}\n" + "\n".join(lines)
