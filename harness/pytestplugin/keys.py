"""What the pytest layer keeps on pytest's objects: stash keys, and the properties a report carries.

Every module of the layer (the plugin, the fixtures, the recorder, the summary) takes
its keys from here and from nowhere else, so the imports run one way: the modules
pytest loads as plugins import this, never each other. Properties travel on
`report.user_properties`, the one channel that reaches the controlling process from
an xdist worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from esp_hil.pool import BoardPool

POOL_KEY = pytest.StashKey["BoardPool"]()  # config: the run's boards
RACK_KEY = pytest.StashKey["str | None"]()  # config (xdist controller, any mode): the folder of the run's rack
BOARD_KEY = pytest.StashKey[str]()  # item: the board id the test runs on (its parameter), set at collection
TRANSCRIPT_KEY = pytest.StashKey[tuple]()  # item: (board, transcript mark) once the test holds its board
RECOVERY_KEY = pytest.StashKey[dict]()  # item: the recovery that brought its board back (esp_hil.recovery.Recovery)
UPSTREAM_KEY = pytest.StashKey[tuple]()  # config: the MicroPython test paths asked for, as its tree names them
RECORDER = "hil-recorder"  # the plugin name the controller's recorder is registered under (its `store`)

BOARD_PROP = "hil_board"        # the board id the test ran on
INFO_PROP = "hil_board_info"    # chip, url, virtual, firmware version: what the report groups by
RECOVERY_PROP = "hil_recovery"  # the recovery the board needed, as Recovery.as_dict() (esp_hil.recovery)
SLOW_LINE_PROP = "hil_slow_line"  # the board's line runs much slower than its baud: how slow (esp_hil.linespeed)
PROBLEM_PROP = "hil_problem"    # {"board", "kind" (busy, lost), "reason", "line"}: why the test had no board
METRIC_PROP = "hil_output_metric"  # OUTPUT_METRIC lines of a multitest, one property each
DEFECT_PROP = "hil_known_defect"  # a known-defect line a source build printed (left out of the comparison)
