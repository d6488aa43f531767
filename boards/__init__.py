"""Rack files. Installed as `esp_hil.boards`, so a run outside a checkout still has the default rack, virtual.toml."""
