"""`tox -e upstream`: MicroPython's own network tests, from the tree in $HIL_MICROPYTHON_SRC, on the default rack.

The files: multi_net's TCP and UDP tests without TLS (issue 15 asks CI for those; the
TLS files pass too with the unix peer, their certificates put on the board per test,
docs/multitest.md), and net_hosted's (those needing the internet skip with the
reason). The other instances run on the MicroPython unix port, as upstream's runner
fills them. Without the variable there is nothing to run: skipped, with the reason,
exit 0 (the tree is the developer's, not ours to fetch). Arguments go to pytest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ENV = "HIL_MICROPYTHON_SRC"


def arguments(tree: Path) -> list[str]:
    tests = tree / "tests"
    return [f"--hil-multitest={tests / 'multi_net'}", f"--hil-upstream={tests / 'net_hosted'}",
            "--hil-multitest-peer=unix", "-k", "not ssl and not tls", "-rs"]


def main(argv: list[str]) -> int:
    src = os.environ.get(ENV)
    if not src:
        print(f"upstream: skipped: {ENV} is not set (point it at a MicroPython tree, e.g. {ENV}=~/micropython)")
        return 0
    tree = Path(src).expanduser()
    if not (tree / "tests" / "run-multitests.py").is_file():
        print(f"upstream: {ENV}={src} is not a MicroPython tree (no tests/run-multitests.py)", file=sys.stderr)
        return 2
    return int(pytest.main([*arguments(tree), *argv]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
