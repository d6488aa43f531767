"""The behaviour suite on 1, 2 and 4 virtual boards in one run: wall time and speed-up.

Any mode (`--hil-mode any`): the same tests spread over N boards with N xdist
workers, so the speed-up is what a rack buys for fast feedback. Target: 4 boards
at least 3x faster than 1. This machine has 2 cores; each virtual board is a unix
port process plus its rack process, so CPU bounds the speed-up long before the
boards do. Most suite time is the device side sleeping in lockstep with the host
(waits for accept, stalled peers), which parallelises well.

The suite runs ROUNDS times over in each run (the soak test's plugin parametrises
every board test by round), so the work is long enough that xdist's worker start-up
and each worker's virtual rack start do not stand for the whole measurement.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 5


def _inventory(count: int, folder: Path) -> Path:
    path = folder / f"rack{count}.toml"
    path.write_text("\n".join(f'[[board]]\nid = "bench-{n}"\nchip = "esp32"\nvirtual = true\nnetwork = "host"\n'
                              for n in range(count)))
    return path


def _run(count: int, folder: Path) -> float:
    args = [sys.executable, "-m", "pytest", "tests/hil", "-q", "-p", "no:cacheprovider", "--hil-mode", "any",
            "-p", "tests.support.soak_plugin",
            "--hil-boards", str(_inventory(count, folder)), "--hil-results", str(folder / "results.sqlite")]
    if count > 1:
        args += ["-n", str(count)]
    env = {**os.environ, "HIL_SOAK_ROUNDS": str(ROUNDS), "HIL_SOAK_REPORT": str(folder / f"soak{count}.json")}
    start = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
        raise SystemExit(f"suite failed on {count} boards")
    return elapsed


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        times = {n: _run(n, folder) for n in (1, 2, 4)}
    base = times[1]
    for n, t in times.items():
        print(f"{n} board(s): {t:6.2f} s wall, speed-up {base / t:4.2f}x")
    print(f"target: 4 boards >= 3.00x faster than 1 -> {'OK' if base / times[4] >= 3 else 'NOT MET'} "
          f"(cores: {os.cpu_count()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
