"""`hil mutations`: prove the behaviour suite can fail, by reverting each fix it guards.

For the pristine tree and then each revert in `mutations.MUTATIONS`, build the board
(incrementally: one object and a link), run the behaviour suite on it, and compare
which test modules failed with the ones the revert `guards`. A revert is *caught*
when each module it guards fails and every other module passes; the pristine tree
must pass everything. Any other outcome is a weak test (missed) or a revert that
breaks more than it should (collateral), and the command fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from esp_hil.errors import HilError
from esp_hil.virtual import leftovers, lifetime
from esp_hil.virtual.source import mutations
from esp_hil.virtual.source.build import Recipe, build

PRISTINE = "none (pristine tree)"


@dataclass(frozen=True)
class Outcome:
    revert: str
    guards: tuple[str, ...]
    failed: tuple[str, ...]      # test modules with a failure or error
    ran: int
    seconds: float
    also: tuple[str, ...] = ()  # modules that may fail too (the revert's `also`)

    @property
    def verdict(self) -> str:
        if not self.ran:
            return "no test ran"
        missed, collateral = mutations.judge(self.guards, self.also, set(self.failed))
        if collateral:
            return "collateral: " + ", ".join(sorted(collateral))
        if missed:
            return "missed by " + ", ".join(sorted(missed))
        return "caught" if self.guards else "all pass"

    @property
    def ok(self) -> bool:
        return self.verdict in ("caught", "all pass")


def add_mutations(p: argparse.ArgumentParser) -> None:
    p.add_argument("--micropython-src", type=Path, metavar="DIR", help="the MicroPython tree (never written)")
    p.add_argument("--revert", action="append", default=[], metavar="NAME",
                   help="only this revert (repeatable; default: the pristine tree and every revert)")
    p.add_argument("--suite", default="tests/hil", help="the behaviour suite to run (default: tests/hil)")
    p.add_argument("--markdown", type=Path, metavar="FILE", help="also write the outcome table here")
    p.add_argument("--list", action="store_true", help="list the reverts and what each guards, then stop")
    p.add_argument("pytest_args", nargs="*", help="passed to pytest after --, e.g. -- --hil-board virtual-esp8266")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        for m in mutations.MUTATIONS:
            print(f"{m.name:30} {m.file:24} guarded by {', '.join(m.guards)}\n{'':30} {m.summary}")
        return 0
    if args.micropython_src is None:
        raise HilError("--micropython-src DIR is required", hint="a MicroPython checkout")
    chosen = [mutations.get(name) for name in args.revert] or [None, *mutations.MUTATIONS]
    outcomes = []
    for mutation in chosen:
        label = mutation.name if mutation else PRISTINE
        print(f"== {label}", flush=True)
        build(Recipe(args.micropython_src, mutation.name if mutation else ""), progress=lambda line: print(line, flush=True))
        outcome = _run_suite(args, mutation)
        print(f"   {outcome.verdict} ({outcome.ran} tests, failed: {', '.join(outcome.failed) or 'none'}, "
              f"{outcome.seconds:.0f} s)", flush=True)
        outcomes.append(outcome)
    table = render(outcomes)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    return 0 if all(o.ok for o in outcomes) else 1


def _run_suite(args: argparse.Namespace, mutation: mutations.Mutation | None) -> Outcome:
    extra = [f"--hil-micropython-revert={mutation.name}"] if mutation else []
    run = run_suite(args.micropython_src, *args.pytest_args, *extra, suite=args.suite,
                    env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return Outcome(mutation.name if mutation else PRISTINE, mutation.guards if mutation else (),
                   run.failed_modules, run.ran, run.seconds, mutation.also if mutation else ())


@dataclass(frozen=True)
class SuiteRun:
    """One run of the behaviour suite on source-built boards, as pytest's JUnit XML tells it."""

    cases: dict[str, str]  # test id -> passed | failure | error | xfailed | skipped <reason>
    output: str
    seconds: float

    @property
    def ran(self) -> int:
        return sum(not o.startswith(("skipped", "xfailed")) for o in self.cases.values())

    @property
    def failed_modules(self) -> tuple[str, ...]:
        return tuple(sorted({t.split("::")[0].rsplit(".", 1)[-1] for t, o in self.cases.items()
                             if o.startswith(("failure", "error"))}))


def run_suite(src: Path | str, *pytest_args: str, suite: str = "tests/hil", cwd: Path | None = None,
              env: dict[str, str] | None = None, timeout: float | None = None) -> SuiteRun:
    """pytest `suite` on boards built from `src`, in a process of its own, with a results file of its own.

    The run dies with this process, and its folder names this process as its owner: a
    `hil mutations` killed mid-suite leaves neither a suite running on nor, once the next
    rack starts, a folder (`esp_hil.virtual.leftovers`).
    """
    tmp = leftovers.owned_tempdir("mutation")
    try:
        junit = tmp / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", suite, "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
               f"--hil-results={tmp / 'results.sqlite'}", f"--hil-micropython-src={src}", *pytest_args]
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, preexec_fn=lifetime.die_with_parent)
        return SuiteRun(_junit_cases(junit), done.stdout + done.stderr, time.monotonic() - started)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _junit_cases(path: Path) -> dict[str, str]:
    cases: dict[str, str] = {}
    for case in ET.parse(path).iter("testcase") if path.is_file() else ():
        found = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
        kind = "passed" if found is None else found.tag
        if found is not None and found.get("type") == "pytest.xfail":
            kind = "xfailed"
        reason = found.get("message", "") if found is not None and kind == "skipped" else ""
        cases[f"{case.get('classname')}::{case.get('name')}"] = f"{kind} {reason}".strip()
    return cases


def render(outcomes: list[Outcome]) -> str:
    """The outcome table, as Markdown (docs/mutations.md)."""
    rows = ["| revert | guarded by | failed | verdict |", "| --- | --- | --- | --- |"]
    for o in outcomes:
        rows.append(f"| {o.revert} | {', '.join(o.guards) or '-'} | {', '.join(o.failed) or '-'} | {o.verdict} |")
    return "\n".join(rows)
