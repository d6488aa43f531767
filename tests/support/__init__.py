"""Helpers for the harness's own tests."""
