"""Regression reports from the results store: a model (run vs baseline) and its renderers."""

from esp_hil.report.model import Report, build

__all__ = ["Report", "build"]
