"""Hard reset by the board's reset method: the line sequences a real board needs.

classic: the auto-reset circuit of ESP dev boards (RTS drives EN, DTR drives GPIO0,
both inverted through transistors). DTR low, RTS high holds EN low; releasing RTS
lets the chip boot from flash with GPIO0 high. This is esptool's `HardReset`.

usb-jtag: ESP32-C3/S3 native USB-Serial/JTAG. The peripheral maps RTS to the chip
reset itself; esptool's `HardReset(uses_usb=True)` holds it longer. After it the USB
device may re-enumerate: the port can vanish for a moment (a by-id path comes back).

none: the board has no reset wiring; a person (or a relay) must press RESET.
"""

from __future__ import annotations

import time
from typing import Any

from esp_hil.errors import HilError


def hard_reset(port: Any, method: str, board_id: str = "") -> None:
    """Pulse EN low on `port` (a pyserial object) by `method`."""
    if method == "classic":
        port.dtr = False   # GPIO0 high: boot from flash
        port.rts = True    # EN low: chip in reset
        time.sleep(0.1)
        port.rts = False   # EN high: chip runs
    elif method == "usb-jtag":
        port.dtr = False
        port.rts = True
        time.sleep(0.2)
        port.rts = False
        time.sleep(0.2)
    else:
        raise HilError("this board has no reset wiring (reset = \"none\")", board=board_id,
                       hint="press RESET on the board, or wire a reset line and set reset = \"classic\"")
