"""What every bench shares: interleaved rounds, medians, and a ratio printed with its goal.

Like with like: each round runs every contender once, the order rotating from round
to round, so a load that comes and goes on a shared host hits all of them alike; the
figure quoted is the median over the rounds, and the spread (min-max) is shown.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    """What a ratio must be: at most or at least a bound; neither for a figure quoted for reference."""

    at_most: float | None = None
    at_least: float | None = None

    def met(self, ratio: float) -> bool | None:
        if self.at_most is not None:
            return ratio <= self.at_most
        if self.at_least is not None:
            return ratio >= self.at_least
        return None

    def __str__(self) -> str:
        if self.at_most is not None:
            return f"goal <= {self.at_most:g}"
        if self.at_least is not None:
            return f"goal >= {self.at_least:g}"
        return "no goal, for reference"


REFERENCE = Goal()


def interleaved(contenders: Mapping[str, Callable[[], float]], rounds: int,
                progress: Callable[[str], None] = print) -> dict[str, list[float]]:
    """Each contender's figure (seconds) per round; a contender returns the figure it measured."""
    names = list(contenders)
    figures: dict[str, list[float]] = {name: [] for name in names}
    for n in range(rounds):
        order = names[n % len(names):] + names[:n % len(names)]
        for name in order:
            figures[name].append(contenders[name]())
        progress(f"round {n + 1}/{rounds}: " + ", ".join(f"{name} {_fmt(figures[name][-1])}" for name in names))
    return figures


def timed(work: Callable[[], object], repeat: int = 1) -> float:
    """Seconds per call of `work`, over `repeat` calls."""
    start = time.perf_counter()
    for _ in range(repeat):
        work()
    return (time.perf_counter() - start) / repeat


def median(figures: list[float]) -> float:
    return statistics.median(figures)


def ratio(what: str, ours: float, theirs: float, goal: Goal, per: str = "") -> str:
    """One line: the ratio ours/theirs, both figures, and whether the goal is met."""
    value = ours / theirs
    met = goal.met(value)
    verdict = "" if met is None else (" OK" if met else " NOT MET")
    return f"{what}: {value:.2f}x ({_fmt(ours)} against {_fmt(theirs)}{per}; {goal}){verdict}"


def spread(name: str, figures: list[float]) -> str:
    return f"  {name}: median {_fmt(median(figures))} (min {_fmt(min(figures))}, max {_fmt(max(figures))}, " \
           f"{len(figures)} rounds)"


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"
