"""Regression reports from the results store: a model (run vs baseline) and its renderers."""

from harness.report.model import Report, build

__all__ = ["Report", "build"]
