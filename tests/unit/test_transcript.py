"""Transcript: every byte each way, timestamped, merged per direction, secrets redacted."""

from __future__ import annotations

from esp_hil.secrets import redact
from esp_hil.transcript import NOTE, RX, TX, Transcript


def test_bytes_each_way_in_order_with_times():
    t = Transcript("b1")
    t.add(TX, b"print(1)\x04")
    t.add(RX, b"OK1\r\n")
    t.note("soft reset")
    lines = t.render().splitlines()
    assert lines[0].endswith("tx print(1)\\x04")
    assert lines[1].endswith("rx OK1\\r\\n")
    assert lines[2].endswith("-- soft reset")
    assert all(line.startswith("[") and "] " in line for line in lines)


def test_consecutive_bytes_in_one_direction_merge():
    t = Transcript("b1")
    for byte in b"hello":
        t.add(RX, bytes([byte]))
    assert t.render().count("\n") == 0
    assert t.render().endswith("rx hello")


def test_render_since_mark():
    t = Transcript("b1")
    t.add(TX, b"before")
    mark = t.mark()
    t.add(RX, b"after")
    assert "before" not in t.render(since=mark)
    assert "after" in t.render(since=mark)


def test_secrets_are_redacted(monkeypatch):
    monkeypatch.setenv("HIL_WIFI_PASSWORD", "hunter22")
    monkeypatch.setenv("HIL_WEBREPL_PASSWORD", "s3cret")
    t = Transcript("b1")
    t.add(TX, b"w.connect('lab', 'hunter22')")
    t.note("webrepl password s3cret")
    text = t.render()
    assert "hunter22" not in text and "s3cret" not in text
    assert "***" in text
    assert redact("x hunter22 y") == "x *** y"


def test_empty_secret_is_not_a_mask(monkeypatch):
    monkeypatch.setenv("HIL_WIFI_PASSWORD", "")
    assert redact("nothing to hide") == "nothing to hide"
