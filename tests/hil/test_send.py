"""send: POSIX send() semantics on a full send buffer.

Guards the modlwip.c change to POSIX `send()`: a non-blocking send with no room
raises EAGAIN (not a silent 0 or a partial success forever), and a blocking send
waits for room, then completes once the peer drains.
"""

from __future__ import annotations

import threading

from tests.hil.device import CONNECT, ERRNO_NAME

# Fill the send buffer without blocking until the stack says EAGAIN, and keeps saying
# it: over a real link the first EAGAIN can be transient (segments in flight get
# acked into the peer's window and free room), so "full" is EAGAIN five times in a
# row, 100 ms apart, once the stalled peer's window has closed. Bounded in bytes.
FILL = ERRNO_NAME + """
import time
sock.setblocking(False)
total = 0
err = None
streak = 0
buf = b'x' * 1024
while total < 8 * 1024 * 1024 and streak < 5:
    try:
        n = sock.send(buf)
    except OSError as e:
        err = errno_name(e)
        if err != 'EAGAIN':
            break
        streak += 1
        time.sleep(0.1)
        continue
    if n == 0:
        err = 'ZERO'  # a non-blocking send that sends nothing and says nothing: the bug itself
        break
    total += n
    streak = 0
print('FULL', total, err)
"""

RCVBUF = 4096


def _stalled_connection(net_board, peer, tail: str):
    listener = peer.listen(net_board.host_ip, rcvbuf=RCVBUF)
    job = net_board.start(CONNECT.format(host=net_board.host_ip, port=listener.port) + FILL + tail)
    conn = listener.accept()  # and then do not read: the peer stalls
    return job, conn


def _full(job) -> tuple[int, str]:
    out = job.wait_for("FULL ", timeout=30)
    line = next(l for l in out.splitlines() if l.startswith("FULL "))
    _, total, err = line.split()
    return int(total), err


def test_nonblocking_send_on_full_buffer_raises_eagain(net_board, peer):
    """With the peer not reading, a non-blocking send ends in OSError EAGAIN."""
    job, _conn = _stalled_connection(net_board, peer, "sock.close()\n")
    total, err = _full(job)
    assert err == "EAGAIN", f"non-blocking send after {total} bytes ended with {err}, expected EAGAIN"
    assert total > 0
    job.result(timeout=10)


def test_blocking_send_waits_for_room_then_completes(net_board, peer):
    """A blocking send on the full buffer blocks while the peer stalls, completes once it drains."""
    tail = ("sock.setblocking(True)\nprint('BLOCKING')\nn = sock.send(b'y' * 2048)\n"
            "print('SENT', n)\nsock.close()\n")
    job, conn = _stalled_connection(net_board, peer, tail)
    total, err = _full(job)
    assert err == "EAGAIN"
    job.wait_for("BLOCKING")
    assert "SENT" not in job.read_for(0.5), "blocking send returned while the peer was not reading"
    received: list[bytes] = []
    drain = threading.Thread(target=lambda: received.append(conn.recv_all(timeout=30)))
    drain.start()
    out = job.result(timeout=30)
    drain.join(timeout=35)
    sent = int(out.split("SENT ")[1].split()[0])
    assert 0 < sent <= 2048
    assert received and len(received[0]) == total + sent
    assert received[0] == b"x" * total + b"y" * sent


def test_send_timeout_on_full_buffer(net_board, peer):
    """With settimeout(), a send on a full buffer fails after the timeout instead of blocking.

    lwIP ports raise ETIMEDOUT; the unix port reports the host's SO_SNDTIMEO
    expiry as EAGAIN (FIRMWARE-FACTS: socket errors as Python sees them).
    """
    tail = (ERRNO_NAME + "sock.settimeout(0.5)\ntry:\n    sock.send(b'z' * 2048)\n    print('TIMEOUT none')\n"
            "except OSError as e:\n    print('TIMEOUT', errno_name(e))\nsock.close()\n")
    job, _conn = _stalled_connection(net_board, peer, tail)
    _full(job)
    out = job.result(timeout=30)
    expected = "ETIMEDOUT" if net_board.capabilities.lwip else "EAGAIN"
    assert f"TIMEOUT {expected}" in out
