"""main.py run through the raw REPL shows the host only what a board prints, however the output is split."""

from __future__ import annotations

import pytest

from esp_hil.virtual.mainpy import RUN, MainScript

INTERPRETER = (b"MicroPython v1.29 on 2026; linux version\r\nUse Ctrl-D to exit\r\n>>> "
               b"raw REPL; CTRL-B to exit\r\n>OKmain.py: looping\r\n"
               b"\x04Traceback (most recent call last):\r\n  File \"<stdin>\", line 1, in <module>\r\n"
               b"  File \"main.py\", line 4, in <module>\r\nKeyboardInterrupt: \r\n\x04>"
               b"\r\nMicroPython v1.29\r\nType \"help()\" for more information.\r\n>>> ")
SHOWN = (b"main.py: looping\r\nTraceback (most recent call last):\r\n  File \"main.py\", line 4, in <module>\r\n"
         b"KeyboardInterrupt: \r\n\r\nMicroPython v1.29\r\nType \"help()\" for more information.\r\n>>> ")


@pytest.mark.parametrize("size", [1, 7, len(INTERPRETER)])
def test_the_raw_repls_framing_is_taken_off(size):
    sent: list[bytes] = []
    script = MainScript(sent.append)
    shown = b"".join(script.feed(INTERPRETER[i:i + size]) for i in range(0, len(INTERPRETER), size))
    assert shown == SHOWN
    assert sent == [b"\x01", RUN, b"\x02"] and script.done
