"""Virtual boards: the MicroPython unix port behind an RFC 2217 port, like a rack host.

The harness cannot tell a virtual board from hardware except through what the
firmware reports: it runs the real unix port (POSIX sockets, no lwIP, no dupterm,
no WebREPL) and a virtual ESP ROM bootloader that the real esptool flashes.
"""
