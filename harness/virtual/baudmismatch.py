"""What a UART reads when the sender runs at another baud: garbage, not silence.

After esptool changes the baud to flash, the host's port stays at the flash baud
unless the host sets it back; MicroPython then talks at 115200 into a port at
460800, and each side reads the other's bytes as a different, longer or shorter
stream. The model sends the bits (start bit, 8 data bits LSB first, stop bit, idle
high) at the sender's baud and samples them as a UART receiver does at its own:
it waits for a falling edge, samples the middle of each bit, and delivers a byte
whose stop bit is low as 0x00 (what Linux hands over for a framing error).
"""

from __future__ import annotations

BITS_PER_BYTE = 10


def _wire_bits(data: bytes) -> list[int]:
    bits: list[int] = []
    for byte in data:
        bits.append(0)
        bits.extend((byte >> i) & 1 for i in range(8))
        bits.append(1)
    return bits


def resample(data: bytes, sent_baud: int, read_baud: int) -> bytes:
    """The bytes a receiver at `read_baud` gets from `data` sent back to back at `sent_baud`."""
    if sent_baud == read_baud or not data:
        return data
    bits = _wire_bits(data)
    ratio = sent_baud / read_baud  # one receiver bit time, in sender bit times

    def level(t: float) -> int:
        index = int(t)
        return bits[index] if 0 <= index < len(bits) else 1

    out = bytearray()
    edge = 0  # sender bit boundaries are the only places the line can fall
    while edge < len(bits):
        if not (bits[edge] == 0 and (edge == 0 or bits[edge - 1] == 1)):
            edge += 1
            continue
        samples = [level(edge + (i + 0.5) * ratio) for i in range(BITS_PER_BYTE)]
        ready = edge + (BITS_PER_BYTE - 0.5) * ratio
        if samples[0] == 0:  # a real start bit, not a glitch shorter than half a bit
            byte = sum(bit << i for i, bit in enumerate(samples[1:9]))
            out.append(byte if samples[9] == 1 else 0)
        edge = max(edge + 1, int(ready) + (0 if ready == int(ready) else 1))
    return bytes(out)
