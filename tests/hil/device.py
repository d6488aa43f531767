"""Device-side snippets the behaviour tests share (MicroPython source, run on the board)."""

# Wait for the host's go-ahead byte on stdin: the lockstep point between host and board.
WAIT_GO = "import sys\nsys.stdin.read(1)\n"

# Connect to the host peer; `sock` is the connected socket.
CONNECT = """
import socket
sock = socket.socket()
sock.connect(socket.getaddrinfo({host!r}, {port})[0][-1])
"""

# Read from `c` until EOF (b''), with a timeout; `data` holds every byte.
READ_TO_EOF = """
def read_to_eof(c):
    c.settimeout(5)
    data = b''
    while True:
        d = c.recv(1024)
        if not d:
            return data
        data += d
"""

# Errno name of an OSError, as the board's own errno module names it.
ERRNO_NAME = """
import errno
def errno_name(e):
    for n in dir(errno):
        if n.startswith('E') and getattr(errno, n) == e.errno:
            return n
    return str(e.errno)
"""

GO = b"g"
