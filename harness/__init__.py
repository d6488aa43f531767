"""esp-hil: hardware-in-the-loop harness for MicroPython on ESP8266 and ESP32."""

__version__ = "0.1.0"
