# esp-hil: the `network` module of a PyPI virtual board in a network namespace of its own.
#
# The board's link is a veth pair: wired, so the interface is LAN, and there is no
# WLAN (esp-hil's probe looks for WLAN.connect: needs("wlan") stays false). Every
# answer is read from the namespace's own kernel when asked (its routes, addresses,
# link state and resolver), so it says where the board is, as a board's firmware
# does, and follows a cut link. Runs on the MicroPython unix port.


def _ip(word):
    # /proc/net/route writes an address as one hex word in host (little-endian) order
    n = int(word, 16)
    return ".".join(str((n >> s) & 255) for s in (0, 8, 16, 24))


def _routes():
    with open("/proc/net/route") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return [(r[0], int(r[1], 16), _ip(r[2]), int(r[7], 16)) for r in rows if len(r) > 7]


def _local_addresses():
    found = []
    last = None
    with open("/proc/net/fib_trie") as f:
        for line in f:
            words = line.split()
            if len(words) == 2 and words[0] == "|--":
                last = words[1]
            elif "/32 host LOCAL" in line and last and last not in found:
                found.append(last)
    return found


def _number(address):
    n = 0
    for i, part in enumerate(address.split(".")):
        n |= int(part) << (8 * i)
    return n


def _interface():
    # the interface of the default route, its address, netmask and gateway
    routes = _routes()
    default = [r for r in routes if r[1] == 0 and r[3] == 0]
    if not default:
        return None
    name, gateway = default[0][0], default[0][2]
    for iface, dest, _, mask in routes:
        if iface == name and mask:
            for address in _local_addresses():
                if _number(address) & mask == dest:
                    return name, address, _ip("%08x" % mask), gateway
    return None


def _dns():
    try:
        with open("/etc/resolv.conf") as f:
            for line in f:
                words = line.split()
                if len(words) > 1 and words[0] == "nameserver" and "." in words[1]:
                    return words[1]
    except OSError:
        pass
    return "0.0.0.0"


def _link_up(name):
    try:
        with open("/sys/class/net/%s/operstate" % name) as f:
            return f.read().strip() == "up"
    except OSError:
        return False


class LAN:
    def __init__(self, *args, **kwargs):
        pass

    def active(self, *state):
        return _interface() is not None

    def isconnected(self):
        found = _interface()
        return found is not None and _link_up(found[0])

    def ifconfig(self):
        found = _interface()
        if found is None:
            return ("0.0.0.0",) * 4
        return found[1], found[2], found[3], _dns()

    def config(self, key):
        found = _interface()
        if key == "ifname" and found:
            return found[0]
        raise ValueError("unknown config param")
