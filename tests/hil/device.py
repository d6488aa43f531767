"""Device-side snippets the behaviour tests share: public, in `harness.device` (test authors' API)."""

from harness.device import CONNECT, ERRNO_NAME, GO, READ_TO_EOF, WAIT_GO

__all__ = ["CONNECT", "ERRNO_NAME", "GO", "READ_TO_EOF", "WAIT_GO"]
