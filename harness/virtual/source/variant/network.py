# esp-hil: the `network` module of a board whose link is a wired TAP, not Wi-Fi.
#
# LAN is the interface this board really has. WLAN exists only because
# micropython-lib's webrepl.py asks WLAN(IF_STA) for the address it prints: it
# reports the same wired link and has no connect() or scan(), so nothing can
# mistake it for a radio (esp-hil's probe looks for connect).
import _hilnet

STA_IF = 0
AP_IF = 1


class LAN:
    def __init__(self, *args, **kwargs):
        pass

    def active(self, *state):
        return _hilnet.isconnected()

    def isconnected(self):
        return _hilnet.isconnected()

    def ifconfig(self):
        return _hilnet.ifconfig()

    def config(self, key):
        return _hilnet.config(key)


class WLAN(LAN):
    IF_STA = STA_IF
    IF_AP = AP_IF

    def __init__(self, interface=STA_IF):
        self._interface = interface

    def active(self, *state):
        return self._interface == STA_IF and _hilnet.isconnected()

    def isconnected(self):
        return self.active()

    def ifconfig(self):
        return _hilnet.ifconfig() if self.active() else ("0.0.0.0",) * 4
