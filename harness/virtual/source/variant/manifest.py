# esp-hil: what this variant freezes: asyncio, WebREPL (micropython-lib), a wired `network` module.
include("$(MPY_DIR)/extmod/asyncio")
require("webrepl")
module("network.py")
