"""`python -m esp_hil.cli`: the `hil` command, for callers that run it with a given interpreter."""

import sys

from esp_hil.cli import main

sys.exit(main())
