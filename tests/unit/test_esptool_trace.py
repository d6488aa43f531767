"""esptool's trace hex dumps: not built while the harness drives esptool, esptool's own outside."""

from __future__ import annotations

import threading

import esptool.loader

from esp_hil.esptool_trace import PLACEHOLDER, untraced

BLOCK = bytes(range(256)) * 64  # one 16 KiB block of a write


def _as_esptool_formats_it() -> str:
    return f"{esptool.loader.HexFormatter(BLOCK)}"  # how esptool builds its trace lines


def test_inside_the_block_is_not_formatted_and_outside_esptool_formats_it():
    dump = _as_esptool_formats_it()
    assert len(dump) > len(BLOCK)  # esptool's own: a hex dump, several characters a byte
    with untraced():
        assert _as_esptool_formats_it() == PLACEHOLDER
    assert _as_esptool_formats_it() == dump


def test_flashers_side_by_side_keep_it_until_the_last_one_leaves():
    first_inside, second_left = threading.Event(), threading.Event()
    seen: list[str] = []

    def second() -> None:
        first_inside.wait()
        with untraced():
            pass
        second_left.set()

    thread = threading.Thread(target=second)
    thread.start()
    with untraced():
        first_inside.set()
        second_left.wait(5)
        seen.append(_as_esptool_formats_it())
    thread.join()
    assert seen == [PLACEHOLDER]
    assert _as_esptool_formats_it() != PLACEHOLDER
