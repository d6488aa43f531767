"""BoardLineEnds: text cooked as stdout_helpers.c does, binary framings passed unchanged."""

from __future__ import annotations

import struct

import pytest

from esp_hil.virtual.lineends import BoardLineEnds


def _feed(*chunks: bytes) -> bytes:
    ends = BoardLineEnds()
    return b"".join(ends.feed(c) for c in chunks)


def test_bare_lf_becomes_crlf_and_crlf_stays():
    assert _feed(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"


def test_a_crlf_split_between_chunks_stays():
    assert _feed(b"a\r", b"\nb\n") == b"a\r\nb\r\n"


def test_raw_paste_window_size_passes_unchanged():
    assert _feed(b"R\x01\x0a\x00", b"x\n") == b"R\x01\x0a\x00x\r\n"
    assert _feed(b"R", b"\x01\x0a", b"\x00") == b"R\x01\x0a\x00"


def _mount_write(data: bytes) -> bytes:
    return b"\x18\x08" + bytes([3]) + struct.pack("<i", len(data)) + data


@pytest.mark.parametrize("size", [1, 3, 7])
def test_a_mount_write_passes_unchanged_in_any_chunking(size):
    frame = _mount_write(b"line\nline\n\x18\n")
    stream = frame + b"done\n"
    chunks = [stream[i:i + size] for i in range(0, len(stream), size)]
    assert _feed(*chunks) == frame + b"done\r\n"


def test_a_mount_command_without_arguments_ends_at_its_byte():
    assert _feed(b"\x18\x03", b"\n") == b"\x18\x03\r\n"
