"""`hil report` and `hil results merge|list`: reading the results store from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from esp_hil import places
from esp_hil.errors import HilError
from esp_hil.report import fmt, model, render_html, render_json, render_md
from esp_hil.results import ResultsStore, merge
from esp_hil.outbound import clean

RENDERERS = {"html": render_html.render, "md": render_md.render, "json": render_json.render}
SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".json": "json"}


def add_report(report: argparse.ArgumentParser) -> None:
    report.description = "Render a run of the results database, compared with a baseline run of the same suite."
    report.add_argument("--db", type=Path, default=places.results_db(), help="results database (default: %(default)s)")
    report.add_argument("--run", default="latest",
                        help="run id (or a unique prefix), or 'latest' (default: the last run that ran tests)")
    report.add_argument("--baseline", default="previous",
                        help="run id to compare with: 'previous' (default: the last earlier run of the suite), "
                             "or 'none'")
    report.add_argument("--format", choices=sorted(RENDERERS),
                        help="html, md or json (default: from the -o suffix, else md)")
    report.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    report.add_argument("--history", type=int, default=10, metavar="N", help="runs in the pass-rate chart (default 10)")
    report.add_argument("--fail-on-regression", action="store_true",
                        help="exit 1 when there is a regression, or the run was cut short (interrupted, killed)")
    report.set_defaults(func=run_report)


def add_results(results: argparse.ArgumentParser) -> None:
    sub = results.add_subparsers(dest="results_command", required=True)
    merging = sub.add_parser("merge", help="bring results databases (and their transcripts) together",
                             description="Copy every run of the sources into the output; merging twice adds nothing.")
    merging.add_argument("sources", nargs="+", type=Path, help="results databases to read")
    merging.add_argument("-o", "--output", type=Path, required=True, help="database to write (created or added to)")
    merging.set_defaults(func=run_merge)
    listing = sub.add_parser("list", help="the runs in a results database, oldest first",
                             description="The runs in a results database, oldest first.")
    listing.add_argument("--db", type=Path, default=places.results_db(), help="results database (default: %(default)s)")
    listing.add_argument("--suite", help="only runs of this suite, e.g. tests/hil (default: every suite)")
    listing.set_defaults(func=run_list)


def run_report(args: argparse.Namespace) -> int:
    fmt = args.format or (SUFFIXES.get(args.output.suffix.lower(), "html") if args.output else "md")
    with ResultsStore(args.db, create=False) as store:
        report = model.build(store, args.run, args.baseline, history=args.history)
    text = clean(RENDERERS[fmt](report))  # secrets masked in every form, control characters visible
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"{args.output}: {len(report.regressions)} regressions, run {report.run.id}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 1 if args.fail_on_regression and (report.regressions or not report.run.complete) else 0


def run_merge(args: argparse.Namespace) -> int:
    if args.output.resolve() in {s.resolve() for s in args.sources}:
        raise HilError(f"{args.output} is both a source and the output", hint="write the merge to a new file")
    counts = merge(args.sources, args.output)
    print(f"{args.output}: added {counts.runs} runs, {counts.results} results, {counts.transcripts} transcripts")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with ResultsStore(args.db, create=False) as store:
        runs = store.runs(args.suite)
        for run in runs:
            state = f"  ({fmt.ending(run)})" if fmt.ending(run) else ""
            print(f"{run.id}  {run.started[:19]}  {run.host}  {run.suite}  "
                  f"{len(store.results(run.id))} results{state}")
    if not runs:
        print(f"no runs in {args.db}" + (f" for suite {args.suite!r}" if args.suite else "")
              + " (a pytest run records itself there, or where --hil-results PATH says)")
    return 0
