"""Boards built from a MicroPython tree: the firmware's own lwIP, dupterm and WebREPL code, no hardware.

`build` compiles the unix-port variant in `variant/` from a MicroPython tree
(cached by content); `mutations` re-introduces, one at a time, the bugs the
behaviour suite guards against, so the suite can be seen to fail.
"""
