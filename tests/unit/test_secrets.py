"""Hostile secrets: non-ASCII, a quote, a backslash; every form of them masked, also when split over reads."""

from __future__ import annotations

import pytest

from esp_hil import transcript as transcript_module
from esp_hil.secrets import StreamRedactor, redact
from esp_hil.transcript import NOTE, RX, TX, Transcript
from tests.support.secrets import HOSTILE, leaked_forms


@pytest.fixture(params=HOSTILE, ids=["umlaut-quote-backslash", "quote-backslash", "apostrophe"])
def secret(request, monkeypatch) -> str:
    monkeypatch.setenv("HIL_WIFI_PASSWORD", request.param)
    return request.param


def test_every_form_is_masked_in_text(secret):
    for form in leaked_forms(secret):
        text = redact(f"before {form} after")
        assert text == "before *** after", (form, text)


def test_a_secret_echoed_one_byte_at_a_time_is_masked(secret):
    for data in (f"echo: {secret}!".encode(), b"echo: " + secret.encode("latin-1") + b"!",
                 f"repr: {secret.encode()!r}!".encode()):
        redactor, out = StreamRedactor(), b""
        for byte in data:
            out += redactor.feed(bytes([byte]))
        assert b"***" in out, out
        assert not any(form.encode() in out for form in leaked_forms(secret))


def test_bytes_that_only_start_like_a_secret_are_passed_on(secret):
    redactor = StreamRedactor()
    assert redactor.feed(b"x" + secret.encode()[:2]) == b"x"  # held: it could go on as the secret
    assert redactor.feed(b"!") == secret.encode()[:2] + b"!"


def test_transcript_lines_hold_no_form_of_a_secret(secret, monkeypatch):
    monkeypatch.setattr(transcript_module, "_MERGE_GAP", 0.0)  # every read its own line, as on a slow line
    t = Transcript("b1")
    t.add(TX, f"w.connect('lab', {secret!r})\x04".encode())
    for byte in f"{secret}\r\n{secret.encode()!r}\r\n".encode():
        t.add(RX, bytes([byte]))
    t.add(RX, secret.encode("latin-1"))
    t.add(RX, b"\r\n")
    t.add(NOTE, f"join with {secret!r}".encode())
    text = t.render()
    assert text.count("***") == 5, text
    assert not [form for form in leaked_forms(secret) if form in text]


def test_a_secret_set_or_changed_after_a_look_is_masked_at_the_next(monkeypatch):
    """The secrets in force are remembered between looks; any change to the environment is seen."""
    monkeypatch.delenv("HIL_WIFI_PASSWORD", raising=False)
    assert redact("pw hunter2") == "pw hunter2"
    monkeypatch.setenv("HIL_WIFI_PASSWORD", "hunter2")
    assert redact("pw hunter2") == "pw ***"
    monkeypatch.setenv("HIL_WIFI_PASSWORD", "swordfish")  # same variables, one value changed
    assert StreamRedactor().feed(b"pw hunter2 swordfish.") == b"pw hunter2 ***."
