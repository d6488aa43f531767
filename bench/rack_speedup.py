"""The behaviour suite on 1, 2 and 4 virtual boards in one run: wall time and speed-up.

Any mode (`--hil-mode any`): the same tests spread over N boards with N xdist
workers, so the speed-up is what a rack buys for fast feedback. Goal (issue 17): 4 boards
at least 3.5x faster than 1.

Where the time goes, measured rather than guessed: each board count also runs one
short test alone, which is the run's fixed start-up (the rack process booting its
boards, xdist starting its workers, each worker's first session). What is left is
the suite's work, which spreads over the boards. The ceiling printed is what
perfect spreading of that work would give with the measured start-up, and the
CPU line says whether the machine (2 cores here) is what holds it back: most suite
time is the board side sleeping in lockstep with a host peer, not computing.

The suite runs ROUNDS times over in each run (the soak test's plugin parametrises
every board test by round): the skeleton suite is ten short tests, far shorter than
a night's run on a rack, and a single round would measure mostly start-up. The runs
of each board count are interleaved REPEATS times and the median is quoted, as the
other benches do. They share one results store, as a lab's runs do: from its second
run on, the store knows which tests are long, and any mode starts those first
(`esp_hil.pytestplugin.longest_first`).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rounds import Goal, interleaved, median, ratio

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 10
REPEATS = 3
COUNTS = (1, 2, 4)
ONE_SHORT_TEST = "tests/hil/test_recv_errors.py::test_recv_on_never_connected_socket_raises_enotconn"


def _inventory(count: int, folder: Path) -> Path:
    path = folder / f"rack{count}.toml"
    path.write_text("\n".join(f'[[board]]\nid = "bench-{n}"\nchip = "esp32"\nvirtual = true\nnetwork = "host"\n'
                              for n in range(count)))
    return path


def _run(count: int, folder: Path, tests: str, rounds: int) -> tuple[float, float]:
    """Wall time of the run, and the CPU time its processes used (user + system)."""
    args = [sys.executable, "-m", "pytest", tests, "-q", "-p", "no:cacheprovider", "--hil-mode", "any",
            "-p", "tests.support.soak_plugin",
            "--hil-boards", str(_inventory(count, folder)), "--hil-results", str(folder / "results.sqlite")]
    if count > 1:
        args += ["-n", str(count)]
    env = {**os.environ, "HIL_SOAK_ROUNDS": str(rounds), "HIL_SOAK_REPORT": str(folder / f"soak{count}.json")}
    cpu_before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
        raise SystemExit(f"suite failed on {count} boards")
    return elapsed, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    cores = os.cpu_count() or 1
    cpu: dict[int, list[float]] = {n: [] for n in COUNTS}

    def suite(count: int, folder: Path) -> float:
        wall, used = _run(count, folder, "tests/hil", ROUNDS)
        cpu[count].append(used)
        return wall

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        startup = {n: _run(n, folder, ONE_SHORT_TEST, 1)[0] for n in COUNTS}
        walls = interleaved({f"{n} board(s)": (lambda n=n: suite(n, folder)) for n in COUNTS}, REPEATS)
    times = {n: median(walls[f"{n} board(s)"]) for n in COUNTS}
    base = times[1]
    work = base - startup[1]  # the suite itself, on one board
    for n, wall in times.items():
        ceiling = base / (startup[n] + work / n)
        used = median(cpu[n])
        print(f"{n} board(s): {wall:6.2f} s wall (median of {REPEATS}), speed-up {base / wall:4.2f}x "
              f"(start-up {startup[n]:4.2f} s; ceiling with that start-up {ceiling:4.2f}x), "
              f"CPU {used:5.1f} s = {100 * used / (wall * cores):3.0f}% of {cores} cores")
    print(f"suite work on one board: {work:.2f} s for {ROUNDS} rounds")
    print(ratio("one board / four boards, wall time", base, times[4], Goal(at_least=3.5)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
