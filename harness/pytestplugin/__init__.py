"""esp-hil's pytest layer, in one package: pytest loads `plugin` (the entry point), which loads the others by name.

keys (stash keys, report properties) and reports (which report carries a test's
outcome) are what the modules share; nothing in `esp_hil` outside this package
imports from it.
"""
