"""Regression reports: what changed between a run and its baseline, rendered for people and tools."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from esp_hil.errors import HilError
from esp_hil.outbound import clean
from esp_hil.cli import build_parser
from esp_hil.report import build, fmt, render_html, render_json, render_md
from esp_hil.report.cells import row_name
from esp_hil.results import Ending, ResultsStore

BOARD = dict(chip="esp32", url="rfc2217://rack3:4001", virtual=False, firmware_name="ESP32_GENERIC")


def _night(store: ResultsStore, outcomes: dict[str, str], *, board: str = "esp32-a", version: str = "v1.24.0",
           git_rev: str | None = "rev1", suite: str = "tests/hil", durations: dict[str, float] | None = None,
           **board_info) -> str:
    """One recorded run: test name -> outcome, each on `board` (its id in the test id, as in matrix mode)."""
    run_id = store.start_run(suite=suite, command="pytest tests/hil", git_rev=git_rev, host="rack3")
    store.add_board(run_id, board_id=board, firmware_version=version, **{**BOARD, **board_info})
    for name, outcome in outcomes.items():
        failing = outcome in ("failed", "error")
        store.record(run_id, test_id=f"tests/hil/test_send.py::{name}[{board}]", board_id=board, outcome=outcome,
                     duration=(durations or {}).get(name, 1.0), message="AssertionError: boom" if failing else "",
                     transcript="tx send()\nrx EAGAIN\n" if failing else None)
    store.end_run(run_id)
    return run_id


@pytest.fixture
def store(tmp_path):
    with ResultsStore(tmp_path / "results.sqlite") as s:
        yield s


def test_pass_then_fail_is_exactly_that_regression(store):
    _night(store, {"test_a": "passed", "test_b": "passed", "test_c": "failed"}, version="v1.24.0", git_rev="r1")
    run_id = _night(store, {"test_a": "failed", "test_b": "passed", "test_c": "failed"}, version="v1.25.0",
                    git_rev="r2")
    report = build(store)
    assert report.run.id == run_id
    [reg] = report.regressions
    assert (reg.test_id, reg.board_id) == ("tests/hil/test_send.py::test_a[esp32-a]", "esp32-a")
    assert (reg.baseline_outcome, reg.outcome) == ("passed", "failed")
    assert (reg.baseline_firmware, reg.firmware) == ("v1.24.0", "v1.25.0")
    assert reg.message == "AssertionError: boom" and "rx EAGAIN" in reg.transcript
    assert not reg.flaky
    assert report.fixes == report.new == report.removed == report.flaky == []


def test_fixes_new_and_removed(store):
    _night(store, {"test_a": "failed", "test_gone": "passed"}, git_rev="r1")
    _night(store, {"test_a": "passed", "test_new_bad": "failed", "test_new_ok": "passed"}, git_rev="r2")
    report = build(store)
    assert [c.test_id.split("::")[1] for c in report.fixes] == ["test_a[esp32-a]"]
    assert [(c.test_id.split("::")[1], c.outcome) for c in report.new] == [
        ("test_new_bad[esp32-a]", "failed"), ("test_new_ok[esp32-a]", "passed")]  # failing new tests first
    assert [(c.test_id.split("::")[1], c.baseline_outcome, c.outcome) for c in report.removed] == [
        ("test_gone[esp32-a]", "passed", None)]
    assert report.regressions == []


def test_a_test_is_compared_on_the_same_board_and_firmware_build(store):
    _night(store, {"test_a": "passed"}, firmware_name="ESP32_GENERIC", git_rev="r1")
    _night(store, {"test_a": "failed"}, firmware_name="ESP32_GENERIC_SPIRAM", git_rev="r2")
    report = build(store)
    assert report.regressions == []
    assert len(report.new) == len(report.removed) == 1


def test_an_explicit_baseline_and_no_baseline(store):
    first = _night(store, {"test_a": "passed"}, git_rev="r1")
    _night(store, {"test_a": "passed"}, git_rev="r2")
    _night(store, {"test_a": "failed"}, git_rev="r3")
    assert build(store, baseline=first).baseline.id == first
    assert len(build(store, baseline=first).regressions) == 1
    alone = build(store, baseline="none")
    assert alone.baseline is None and alone.regressions == [] and alone.new == []


def test_the_first_run_of_a_suite_has_no_baseline(store):
    _night(store, {"test_a": "failed"})
    report = build(store)
    assert report.baseline is None and report.regressions == [] and report.totals["failed"] == 1
    assert "nothing to compare" in render_html.render(report)


def test_flaky_on_retry(store):
    _night(store, {"test_a": "passed"}, git_rev="r1")
    run_id = store.start_run(suite="tests/hil", command="pytest", git_rev="r2", host="rack3")
    store.add_board(run_id, board_id="esp32-a", firmware_version="v1.24.0", **BOARD)
    for attempt, outcome in ((1, "failed"), (2, "passed")):
        store.record(run_id, test_id="tests/hil/test_send.py::test_a[esp32-a]", board_id="esp32-a",
                     outcome=outcome, duration=1, attempt=attempt)
    report = build(store)
    [flaky] = report.flaky
    assert (flaky.kind, flaky.outcomes) == ("retry", ("failed", "passed"))
    assert report.regressions == report.fixes == []
    assert report.matrix.at("tests/hil/test_send.py::test_a", "esp32-a").outcome == "passed"


def test_flaky_across_identical_runs_is_flagged_on_its_change(store):
    ids = [_night(store, {"test_a": o, "test_b": "passed"}, git_rev="same")
           for o in ("passed", "failed", "passed")]
    report = build(store)
    [flaky] = report.flaky
    assert (flaky.kind, flaky.outcomes, flaky.runs) == ("runs", ("passed", "failed", "passed"), tuple(ids))
    [fix] = report.fixes
    assert fix.flaky
    # a different firmware image is not an identical run: a plain regression, not flaky
    _night(store, {"test_a": "failed", "test_b": "passed"}, git_rev="same", version="v9")
    report = build(store)
    assert report.flaky == [] and [r.flaky for r in report.regressions] == [False]


def test_a_teardown_error_after_a_pass_counts_as_error(store):
    _night(store, {"test_a": "passed"}, git_rev="r1")
    run_id = store.start_run(suite="tests/hil", command="pytest", git_rev="r2", host="rack3")
    for outcome, message in (("passed", ""), ("error", "teardown: board did not answer")):
        store.record(run_id, test_id="tests/hil/test_send.py::test_a[esp32-a]", board_id="esp32-a",
                     outcome=outcome, duration=1, message=message)
    [reg] = build(store).regressions
    assert (reg.outcome, reg.message) == ("error", "teardown: board did not answer")


def test_lost_and_absent_boards_and_skips_with_what_the_board_lacked(store):
    run1 = store.start_run(suite="tests/hil", command="pytest", git_rev="r1", host="rack3")
    for board in ("esp32-a", "esp8266-a", "virt"):
        store.add_board(run1, board_id=board, chip="esp32", url=None, virtual=board == "virt")
        store.record(run1, test_id=f"t.py::test_x[{board}]", board_id=board, outcome="passed", duration=1)
        store.record(run1, test_id=f"t.py::test_y[{board}]", board_id=board, outcome="passed", duration=1)
    run2 = store.start_run(suite="tests/hil", command="pytest", git_rev="r2", host="rack3")
    store.add_board(run2, board_id="esp32-a", chip="esp32", url=None, virtual=False)
    store.add_board(run2, board_id="virt", chip="esp32", url=None, virtual=True)
    store.record(run2, test_id="t.py::test_x[esp32-a]", board_id="esp32-a", outcome="error", duration=1,
                 message="BoardLost: no answer")
    store.record(run2, test_id="t.py::test_y[esp32-a]", board_id="esp32-a", outcome="skipped", duration=0,
                 message="board 'esp32-a' was lost earlier in the run")
    for name in ("test_x", "test_y"):
        store.record(run2, test_id=f"t.py::{name}[virt]", board_id="virt", outcome="skipped", duration=0,
                     message="virtual board lacks os.dupterm")
    store.add_board(run2, board_id="esp32-a", chip="esp32", url=None, virtual=False, lost="stopped answering")
    store.end_run(run2)
    report = build(store)
    assert [(b.board_id, b.reason, b.tests) for b in report.lost] == [
        ("esp32-a", "stopped answering", 0), ("esp8266-a", "not in this run", 2)]
    assert report.removed == []  # the absent board's tests are counted on its line instead
    assert [(s.board_id, s.reason, s.tests) for s in report.skipped] == [
        ("esp32-a", "board 'esp32-a' was lost earlier in the run", ("t.py::test_y",)),
        ("virt", "virtual board lacks os.dupterm", ("t.py::test_x", "t.py::test_y"))]


def test_a_board_brought_back_before_a_test_is_in_every_format(store):
    from esp_hil.recoveries import Attempt, Outcome, Recovery, Step

    run_id = store.start_run(suite="tests/hil", command="pytest", git_rev="r1", host="rack3")
    store.add_board(run_id, board_id="esp32-a", **{**BOARD, "firmware_version": "v1.24.0"})
    store.record(run_id, test_id="t.py::test_x[esp32-a]", board_id="esp32-a", outcome="passed", duration=1,
                 recovery="soft reset")  # a result recorded before attempts were kept: the bare step
    event = Recovery("esp32-a", "soft reset before the test: no answer in 5 s",
                     (Attempt(Step.INTERRUPT, Outcome.SILENT), Attempt(Step.HARD_RESET, Outcome.ANSWERED)))
    store.record(run_id, test_id="t.py::test_y[esp32-a]", board_id="esp32-a", outcome="passed", duration=1,
                 recovery=event.to_json(), transcript="-- recovery: interrupt\n-- recovery: hard reset\n")
    report = build(store)
    assert [(r.board_id, r.test_id, r.step) for r in report.recovered] == [
        ("esp32-a", "t.py::test_x[esp32-a]", "soft reset"), ("esp32-a", "t.py::test_y[esp32-a]", "hard reset")]
    assert "2 recoveries" in render_md.render(report)
    assert ("| esp32-a | `t.py::test_y[esp32-a]` | hard reset | interrupt silent | soft reset before the test: "
            "no answer in 5 s |") in render_md.render(report)
    html = render_html.render(report)
    assert "recovered board" in html and "interrupt silent" in html and "no answer in 5 s" in html
    assert json.loads(render_json.render(report))["recovered"][1] == {
        "board_id": "esp32-a", "test_id": "t.py::test_y[esp32-a]", "step": "hard reset", "board": "esp32-a",
        "cause": "soft reset before the test: no answer in 5 s",
        "attempts": [{"step": "interrupt", "outcome": "silent", "cause": ""},
                     {"step": "hard reset", "outcome": "answered", "cause": ""}]}


def test_metrics_are_in_every_format_beside_the_baseline(store):
    """OUTPUT_METRIC lines a multitest printed, from the store to each format, with the baseline's."""
    def night(git_rev: str, metrics: dict[str, list[str]]) -> None:
        run_id = store.start_run(suite="multi_net", command="pytest", git_rev=git_rev, host="rack3")
        store.add_board(run_id, board_id="esp32-a", **{**BOARD, "firmware_version": "v1.24.0"})
        for test, lines in metrics.items():
            store.record(run_id, test_id=f"multi_net/{test}.py::instance0[esp32-a]", board_id="esp32-a",
                         outcome="passed", duration=1, metrics=lines)
        store.end_run(run_id)

    night("r1", {"perf": ["Received 100 B in 10 ms"]})
    night("r2", {"perf": ["Received 100 B in 20 ms", "lost <0> & 1|2"], "new_perf": ["1 ms"], "plain": []})
    report = build(store)
    assert [(m.test_id, m.values, m.baseline) for m in report.metrics] == [
        ("multi_net/new_perf.py::instance0[esp32-a]", ("1 ms",), ()),
        ("multi_net/perf.py::instance0[esp32-a]", ("Received 100 B in 20 ms", "lost <0> & 1|2"),
         ("Received 100 B in 10 ms",))]
    md = render_md.render(report)
    assert ("| `multi_net/perf.py::instance0[esp32-a]` | esp32-a | Received 100 B in 20 ms<br>lost &lt;0&gt; &amp; "
            "1\\|2 | Received 100 B in 10 ms |") in md
    html = render_html.render(report)
    assert "Received 100 B in 20 ms<br>lost &lt;0&gt; &amp; 1|2" in html
    assert "lost <0> & 1|2" in _Page(html).sections["metrics"]
    assert json.loads(render_json.render(report))["metrics"][1] == {
        "test_id": "multi_net/perf.py::instance0[esp32-a]", "board_id": "esp32-a",
        "values": ["Received 100 B in 20 ms", "lost <0> & 1|2"], "baseline": ["Received 100 B in 10 ms"]}


def test_only_large_duration_changes_between_passes(store):
    _night(store, {"slow": "passed", "noise": "passed", "tiny": "passed", "fast": "passed"},
           durations={"slow": 2.0, "noise": 2.0, "tiny": 0.1, "fast": 9.0}, git_rev="r1")
    _night(store, {"slow": "passed", "noise": "passed", "tiny": "passed", "fast": "passed"},
           durations={"slow": 7.0, "noise": 3.0, "tiny": 0.5, "fast": 3.0}, git_rev="r2")
    changes = build(store).durations
    assert [(c.test_id.split("::")[1], c.before, c.now) for c in changes] == [
        ("fast[esp32-a]", 9.0, 3.0), ("slow[esp32-a]", 2.0, 7.0)]


def test_the_matrix_has_tests_as_rows_and_boards_as_columns(store):
    run_id = store.start_run(suite="tests/hil", command="pytest", git_rev=None, host="h")
    for board, outcome in (("esp32-a", "passed"), ("esp8266-a", "failed")):
        store.add_board(run_id, board_id=board, chip="x", url=None, virtual=False)
        store.record(run_id, test_id=f"t.py::test_x[8-{board}]", board_id=board, outcome=outcome, duration=1)
    store.record(run_id, test_id="t.py::test_host", board_id=None, outcome="passed", duration=1)
    matrix = build(store).matrix
    assert matrix.tests == ("t.py::test_host", "t.py::test_x[8]")
    assert matrix.boards == ("esp32-a", "esp8266-a", None)
    assert matrix.at("t.py::test_x[8]", "esp8266-a").outcome == "failed"
    assert matrix.at("t.py::test_x[8]", None) is None


def test_row_names_drop_the_board_parameter():
    assert row_name("t.py::test_x[esp32-a]", "esp32-a") == "t.py::test_x"
    assert row_name("t.py::test_x[8-esp32-a]", "esp32-a") == "t.py::test_x[8]"
    assert row_name("t.py::test_x[esp32-a-tcp]", "esp32-a") == "t.py::test_x[tcp]"
    assert row_name("t.py::test_x[esp32-ab]", "esp32-a") == "t.py::test_x[esp32-ab]"
    assert row_name("t.py::test_x", "esp32-a") == "t.py::test_x"


def test_pass_rate_per_firmware_version_over_the_last_runs(store):
    _night(store, {"a": "passed", "b": "passed"}, version="v1.23", git_rev="r1")
    _night(store, {"a": "passed", "b": "failed"}, version="v1.24", git_rev="r2")
    _night(store, {"a": "passed", "b": "skipped"}, version="v1.24", git_rev="r3")
    report = build(store, history=2)
    assert [(p.firmware, p.passed, p.total) for p in report.history] == [("v1.24", 1, 2), ("v1.24", 1, 1)]
    assert len(report.history_runs) == 2
    assert [p.rate for p in build(store).history] == [1.0, 0.5, 1.0]


def test_bad_references_are_one_clear_error(store, tmp_path):
    with pytest.raises(HilError, match="no runs recorded"):
        build(store)
    _night(store, {"a": "passed"}, suite="tests/hil")
    other = _night(store, {"a": "passed"}, suite="tests/unit")
    with pytest.raises(HilError, match="no run 'nope'"):
        build(store, run="nope")
    with pytest.raises(HilError, match="ran suite 'tests/hil' but run .* ran 'tests/unit'") as err:
        build(store, run=other, baseline=store.runs("tests/hil")[0].id)
    assert err.value.hint
    with pytest.raises(HilError, match="its own baseline"):
        build(store, run=other, baseline=other)


class _Page(HTMLParser):
    """Text per <section id>, in page order, and anything that would need the network."""

    def __init__(self, text: str):
        super().__init__()
        self.sections: dict[str, str] = {}
        self.current: str | None = None
        self.external: list[str] = []
        self.svg = 0
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.current = attrs.get("id")
            self.sections[self.current] = ""
        self.svg += tag == "svg"
        for name in ("src", "href"):
            if (attrs.get(name) or "").startswith(("http:", "https:", "//")):
                self.external.append(attrs[name])
        if tag == "link" or (tag == "script" and "src" in attrs):
            self.external.append(tag)

    def handle_endtag(self, tag):
        if tag == "section":
            self.current = None

    def handle_data(self, data):
        if self.current:
            self.sections[self.current] += data


def _regressed(store: ResultsStore) -> None:
    _night(store, {"test_a": "passed", "test_b": "passed"}, git_rev="r1", version="v1.24.0")
    _night(store, {"test_a": "failed", "test_b": "passed"}, git_rev="r2", version="v1.25.0")


def test_html_is_one_self_contained_page_with_the_regression_on_top(store):
    _regressed(store)
    page = _Page(render_html.render(build(store)))
    order = list(page.sections)
    assert order[0] == "regressions" and order.index("regressions") < order.index("matrix")
    assert "test_a[esp32-a]" in page.sections["regressions"]
    assert "test_b" not in page.sections["regressions"]
    assert "rx EAGAIN" in page.sections["regressions"] and "rx EAGAIN" in page.sections["matrix"]
    assert page.external == [] and page.svg == 1
    assert "v1.24.0 → v1.25.0" in page.sections["regressions"]


def test_markdown_fits_a_comment_with_failures_folded(store):
    _regressed(store)
    text = render_md.render(build(store))
    assert text.index("Regressions (1)") < text.index("Matrix")
    assert "`tests/hil/test_send.py::test_a[esp32-a]`" in text and "passed → **failed**" in text
    assert "<details>" in text and "rx EAGAIN" in text
    run_id = store.start_run(suite="tests/hil", command="pytest", git_rev="r3", host="h")
    for i in range(300):
        store.record(run_id, test_id=f"t.py::test_{i}[esp32-a]", board_id="esp32-a", outcome="failed", duration=1,
                     message="boom " * 40, transcript="line of transcript\n" * 100)
    long = render_md.render(build(store))
    assert len(long) <= render_md.LIMIT and "to fit a comment" in long


def test_json_has_the_documented_shape(store):
    _regressed(store)
    data = json.loads(render_json.render(build(store)))
    assert list(data) == ["format", "version", "headline", "run", "baseline", "boards", "totals", "regressions",
                          "fixes", "new", "removed", "not_run", "flaky", "lost_boards", "recovered", "skipped", "duration_changes", "metrics", "results",
                          "history"]
    assert (data["format"], data["version"]) == ("esp-hil-report", 1)
    [reg] = data["regressions"]
    assert reg == {"test_id": "tests/hil/test_send.py::test_a[esp32-a]", "board_id": "esp32-a", "outcome": "failed",
                   "baseline_outcome": "passed", "firmware": "v1.25.0", "baseline_firmware": "v1.24.0",
                   "message": "AssertionError: boom", "transcript_tail": "tx send()\nrx EAGAIN", "flaky": False}
    assert {r["test"] for r in data["results"]} == {"tests/hil/test_send.py::test_a", "tests/hil/test_send.py::test_b"}
    assert data["boards"][0]["firmware"] == {"name": "ESP32_GENERIC", "version": "v1.25.0", "sha256": None}
    documented = (Path(__file__).resolve().parents[2] / "docs" / "report-json.md").read_text()
    assert all(f"`{key}`" in documented for key in data)


def test_secrets_never_reach_a_report(store, monkeypatch):
    _night(store, {"test_a": "passed"}, git_rev="r1")
    run_id = store.start_run(suite="tests/hil", command="pytest", git_rev="r2", host="rack3")
    # recorded before the variable was set (an older run, another host): the report still masks it
    store.record(run_id, test_id="tests/hil/test_send.py::test_a[esp32-a]", board_id="esp32-a", outcome="failed",
                 duration=1, message="join failed: password 'hunter22', webrepl 'a&b\"c<'",
                 transcript="wlan.connect('lab', 'hunter22')\nwebrepl a&b\"c<\n")
    monkeypatch.setenv("HIL_WIFI_PASSWORD", "hunter22")
    monkeypatch.setenv("HIL_WEBREPL_PASSWORD", 'a&b"c<')  # changed by HTML and JSON escaping: masked before
    report = build(store)
    for render in (render_html.render, render_md.render, render_json.render):
        text = clean(render(report))  # as `hil report` writes it
        assert "hunter22" not in text and "***" in text
        assert "a&b" not in text and "a&amp;b" not in text and 'b\\"c' not in text


def _hil(*argv: str) -> int:
    args = build_parser([argv[0]]).parse_args(list(argv))
    return args.func(args)


def test_cli_report_writes_each_format(store, tmp_path, capsys):
    _regressed(store)
    db = str(store.path)
    for suffix in ("html", "md", "json"):
        assert _hil("report", "--db", db, "-o", str(tmp_path / f"out.{suffix}")) == 0
    assert (tmp_path / "out.html").read_text().startswith("<!doctype html>")
    assert json.loads((tmp_path / "out.json").read_text())["regressions"]
    assert _hil("report", "--db", db, "--format", "md", "--fail-on-regression") == 1
    assert "Regressions (1)" in capsys.readouterr().out


def test_cli_errors_for_a_missing_database_and_a_bad_run(store, tmp_path):
    with pytest.raises(HilError, match="no results database"):
        _hil("report", "--db", str(tmp_path / "missing.sqlite"))
    _regressed(store)
    with pytest.raises(HilError, match="no run"):
        _hil("report", "--db", str(store.path), "--run", "nope")


def test_cli_results_merge_and_list(tmp_path, capsys):
    for host in ("rack1", "rack2"):
        with ResultsStore(tmp_path / host / "results.sqlite") as s:
            _night(s, {"test_a": "passed"}, board=f"{host}-esp32")
    assert _hil("results", "merge", str(tmp_path / "rack1" / "results.sqlite"),
                str(tmp_path / "rack2" / "results.sqlite"), "-o", str(tmp_path / "all.sqlite")) == 0
    assert "added 2 runs, 2 results" in capsys.readouterr().out
    assert _hil("results", "list", "--db", str(tmp_path / "all.sqlite")) == 0
    assert capsys.readouterr().out.count("1 results") == 2


def test_an_interrupted_run_says_so_and_its_missing_tests_are_not_run(store, capsys):
    _night(store, {"test_a": "passed", "test_b": "passed", "test_c": "passed"})
    base = store.runs()[-1].id
    store.add_board(base, board_id="esp8266-a", chip="esp8266", url=None, virtual=False)
    store.record(base, test_id="tests/hil/test_send.py::test_a[esp8266-a]", board_id="esp8266-a", outcome="passed",
                 duration=1.0)  # a board the run never reached
    run_id = store.start_run(suite="tests/hil", command="pytest tests/hil", git_rev="rev1", host="rack3")
    store.add_board(run_id, board_id="esp32-a", firmware_version="v1.24.0", **BOARD)
    store.record(run_id, test_id="tests/hil/test_send.py::test_a[esp32-a]", board_id="esp32-a", outcome="passed",
                 duration=1.0)
    store.end_run(run_id, Ending.INTERRUPTED)
    report = build(store)
    assert report.removed == [] and report.lost == []
    assert [c.test_id.split("::")[1] for c in report.not_run] == [
        "test_a[esp8266-a]", "test_b[esp32-a]", "test_c[esp32-a]"]
    assert fmt.headline(report).startswith("interrupted · 0 regressions · 3 tests not run")
    md, page, data = render_md.render(report), render_html.render(report), json.loads(render_json.render(report))
    assert md.startswith("## esp-hil report: interrupted") and "Removed" not in md and "Not run (3)" in md
    assert "interrupted · 0 regressions" in page and "Removed" not in page
    assert data["headline"].startswith("interrupted") and data["run"]["ending"] == "interrupted"
    assert len(data["not_run"]) == 3 and data["removed"] == []
    assert _hil("report", "--db", str(store.path), "--fail-on-regression") == 1
    capsys.readouterr()


def test_report_shows_the_latest_run_that_ran_tests(store):
    real = _night(store, {"test_a": "passed"})
    store.start_run(suite="tests/hil", command="pytest --help", git_rev="rev1", host="rack3")  # an older database's
    assert build(store).run.id == real
