"""resample: a UART at another baud than the sender's reads other bytes, not silence."""

from __future__ import annotations

from esp_hil.virtual.baudmismatch import resample

LINE = b">>> print(6 * 7)\r\n42\r\n"


def test_the_same_baud_reads_the_same_bytes():
    assert resample(LINE, 115200, 115200) == LINE
    assert resample(LINE, 115200, 115201) == LINE  # a clock within tolerance


def test_a_faster_port_reads_more_bytes_of_garbage():
    got = resample(LINE, 115200, 460800)
    assert len(got) > len(LINE) and b"42" not in got


def test_a_slower_port_reads_fewer_bytes_of_garbage():
    got = resample(LINE, 460800, 115200)
    assert 0 < len(got) < len(LINE) and b"42" not in got
