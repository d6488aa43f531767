"""Device-side snippets the behaviour tests share: public, in `esp_hil.device` (test authors' API)."""

from esp_hil.device import CONNECT, ERRNO_NAME, GO, READ_TO_EOF, WAIT_GO

__all__ = ["CONNECT", "ERRNO_NAME", "GO", "READ_TO_EOF", "WAIT_GO"]
