"""What leaves the process: control characters a board printed are shown, not obeyed; secrets masked first."""

from __future__ import annotations

import json

from esp_hil.outbound import clean, visible
from esp_hil.cli import build_parser
from esp_hil.results import ResultsStore

HOSTILE = "clear\x1b[2J title\x1b]0;pwned\x07 nul\x00 cr\rover del\x7f csi\x9b end"


def test_control_characters_are_escaped_and_line_ends_kept():
    assert visible(HOSTILE) == "clear\\x1b[2J title\\x1b]0;pwned\\x07 nul\\x00 cr\\x0dover del\\u007f csi\\u009b end"
    assert visible("a\tb\nc\r\nd ü ✅") == "a\tb\nc\r\nd ü ✅"


def test_a_secret_is_masked_before_its_bytes_are_escaped(monkeypatch):
    monkeypatch.setenv("HIL_WIFI_PASSWORD", "pw\x1bx")
    assert clean("join pw\x1bx now\x1b") == "join *** now\\x1b"


def test_hil_report_shows_a_boards_control_characters_and_stays_valid_json(tmp_path):
    db = tmp_path / "results.sqlite"
    with ResultsStore(db) as store:
        run_id = store.start_run(suite="tests/hil", command="pytest", git_rev="r1", host="rack3")
        store.record(run_id, test_id="tests/hil/test_x.py::test_x[b]", board_id="b", outcome="failed", duration=1,
                     message=f"device raised {HOSTILE}", transcript="rx ok\n")
    parser = build_parser(["report"])
    for fmt in ("md", "html", "json"):
        out = tmp_path / f"report.{fmt}"
        args = parser.parse_args(["report", "--db", str(db), "-o", str(out)])
        assert args.func(args) == 0
        text = out.read_text()
        assert not any(c in text for c in "\x1b\x07\x00\r\x7f\x9b"), fmt
        assert "\\x1b[2J" in text or fmt == "json", fmt
    assert json.loads((tmp_path / "report.json").read_text())["results"][0]["message"].startswith("device raised")
