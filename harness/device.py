"""Device-side code a behaviour test needs again and again (MicroPython source, run on the board).

The lockstep between host and board is two markers: the board prints a line the
host waits for (`Job.wait_for("LISTENING")`), and the board waits for the host's
go-ahead byte on its stdin (`WAIT_GO` on the board, `job.send(GO)` on the host).
Errors are compared by name through the board's own errno module (`ERRNO_NAME`):
ESP8266 and ESP32 number them differently. `printed_lines` is the host side: what
the code printed, line by line, without what the firmware printed on its own.
"""

# A board built from source by esp-hil reports lwIP misuse MicroPython is known to commit
# (harness/virtual/source/variant/hil_port.c): an empty line, then this. Not the code's output.
KNOWN_DEFECT = "lwIP assertion failed (known defect, not fatal)"


def printed_lines(output: str) -> list[str]:
    """The lines the device code printed, without a source build's known-defect reports."""
    lines = output.splitlines()
    keep = []
    for index, line in enumerate(lines):
        if line.startswith(KNOWN_DEFECT):
            continue
        if not line and index + 1 < len(lines) and lines[index + 1].startswith(KNOWN_DEFECT):
            continue
        keep.append(line)
    return keep

# Wait for the host's go-ahead byte on stdin: the lockstep point between host and board.
WAIT_GO = "import sys\nsys.stdin.read(1)\n"
GO = b"g"

# Connect to the host peer; `sock` is the connected socket.
CONNECT = """
import socket
sock = socket.socket()
sock.connect(socket.getaddrinfo({host!r}, {port})[0][-1])
"""

# Listen on `port` (all addresses; `s` is the listening socket), then say so: the host connects after LISTENING.
LISTEN = """
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(socket.getaddrinfo('0.0.0.0', {port})[0][-1])
s.listen(1)
print('LISTENING')
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

# errno_name(e): the name of an OSError's errno, as the board's own errno module names it.
ERRNO_NAME = """
import errno
def errno_name(e):
    for n in dir(errno):
        if n.startswith('E') and getattr(errno, n) == e.errno:
            return n
    return str(e.errno)
"""
