"""Device code that only hardware runs still gets run here, as far as the unix port allows.

The dupterm tests skip on virtual boards (no os.dupterm), so their stream classes
are at least defined and exercised on a real interpreter, to catch a broken test
before a rack owner does.
"""

from __future__ import annotations

from tests.hil import test_dupterm

EXERCISE = """
w = WriteRaises()
try:
    w.write(b'x')
    print('no raise')
except OSError as e:
    print('write raises', e.errno == errno.ECONNRESET)
print('eof', ReadEOF().readinto(bytearray(4)))
h = HandlesOwnErrors()
print('handled', h.write(b'a'), h.write(b'b'), bytes(h.written))
"""


def test_dupterm_streams_behave_as_the_tests_assume(session):
    out = session.exec(test_dupterm.STREAMS + EXERCISE)
    assert out == "write raises True\neof 0\nhandled 1 1 b'b'\n"
