"""Every pytest report cleaned (`esp_hil.outbound.clean`) before anything shows or stores it.

pytest's report objects are the one place: the terminal, JUnit XML, captured
output, the results store and the end-of-run summary are all made from them, in
this process or (under xdist) after they were sent from a worker.
"""

from __future__ import annotations

from typing import Any

import pytest

from esp_hil.outbound import clean


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {k: _cleaned(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cleaned(v) for v in value)
    return value


def clean_report(config: pytest.Config, report: pytest.TestReport | pytest.CollectReport) -> None:
    """Every text in `report` (exception, assertion, sections, properties) cleaned, in place.

    Through pytest's own serialization, the one that carries reports from xdist
    workers: whatever it keeps is what any output can show.
    """
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    if data is None:
        return
    fresh = config.hook.pytest_report_from_serializable(config=config, data=_cleaned(data))
    report.__dict__.update({k: v for k, v in vars(fresh).items() if k != "result"})  # a collector's items stay


@pytest.hookimpl(hookwrapper=True, tryfirst=True)  # outermost: after every other plugin added to the report
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    clean_report(item.config, outcome.get_result())


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    if outcome.get_result().failed:
        clean_report(collector.config, outcome.get_result())
