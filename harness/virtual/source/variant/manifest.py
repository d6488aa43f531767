# esp-hil: what this variant freezes: asyncio, WebREPL (micropython-lib), a `network` module with a Wi-Fi station.
include("$(MPY_DIR)/extmod/asyncio")
require("webrepl")
module("network.py")
