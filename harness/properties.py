"""The keys a test's report carries to the controlling process (`report.user_properties`).

Kept apart from the plugins that read them (`esp_hil.recording`, `esp_hil.summary`):
`esp_hil.plugin` lists those as pytest plugins, and a plugin module imported before
pytest loads it cannot have its asserts rewritten (pytest warns on every run).
"""

BOARD_PROP = "hil_board"        # the board id the test ran on
INFO_PROP = "hil_board_info"    # chip, url, virtual, firmware version: what the report groups by
RECOVERY_PROP = "hil_recovery"  # the recovery ladder step the board needed before the test
SLOW_LINE_PROP = "hil_slow_line"  # the board's line runs much slower than its baud: how slow (esp_hil.linespeed)
PROBLEM_PROP = "hil_problem"    # (board id, "busy" or "lost", the line with the fix): why the test had no board
