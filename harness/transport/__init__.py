"""Transports: how the host talks to a board's REPL (mpremote's interface throughout)."""
