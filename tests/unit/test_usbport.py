"""The virtual native-USB device: a by-id link that leaves on reset and returns to a new pty (issue 13)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import serial

from esp_hil.virtual.interpreter import find_micropython
from esp_hil.virtual.runmode import HARD_RESET_SIGNAL
from esp_hil.virtual.usbport import PERSONALITIES, UsbDevice, firmware_modules

S3 = PERSONALITIES["esp32s3"]


@pytest.fixture
def device(tmp_path):
    received: list[bytes] = []
    dev = UsbDevice(tmp_path / "by-id", S3, "0123456789abcdef", received.append, delay=0.5)
    dev.received = received
    yield dev
    dev.close()


def test_the_link_is_named_as_udev_names_the_firmwares_cdc_device(device, tmp_path):
    assert device.path == tmp_path / "by-id" / "usb-Espressif_Systems_Espressif_Device_0123456789abcdef-if00"


def test_a_reset_takes_the_link_and_the_open_handle_then_a_new_pty_comes_back(device):
    device.attach_later()
    device.wait_attached(timeout=5)
    port = serial.Serial(str(device.path), timeout=0.5)
    try:
        port.write(b"hello")
        deadline = time.monotonic() + 5
        while not device.received and time.monotonic() < deadline:
            time.sleep(0.01)
        assert device.received == [b"hello"]
        device.detach()
        assert not device.path.exists()
        with pytest.raises(serial.SerialException):  # an OSError: the device left the bus
            port.read(1)
    finally:
        port.close()
    device.attach_later()
    assert not device.path.exists()  # enumeration takes a while
    device.wait_attached(timeout=5)
    assert os.readlink(device.path).startswith("/dev/pts/") and device.enumerations == 2


def test_a_pty_carries_no_modem_lines(device):
    """Why the virtual USB board has no line gestures (bootloader entry, USB-Serial/JTAG's RTS reset)."""
    device.attach_later()
    device.wait_attached(timeout=5)
    with serial.Serial(str(device.path)) as port, pytest.raises(OSError):
        port.rts = True


def test_machine_reset_ends_the_interpreter_at_once_as_the_run_mode_reads_a_reset(tmp_path):
    folder = firmware_modules(tmp_path / "builtins")
    code = "import machine; print(machine.mem32 is not None); machine.reset(); print('after')"
    done = subprocess.run([find_micropython(), "-c", code], env={**os.environ, "MICROPYPATH": str(folder)},
                          capture_output=True, timeout=30)
    assert (done.returncode, done.stdout) == (-HARD_RESET_SIGNAL, b"True\n")  # nothing runs after it
