"""System tests: real virtual boards (unix port + RFC 2217) in this process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from esp_hil.board import Board
from esp_hil.inventory import BoardSpec
from esp_hil.virtual.rack import VirtualRack, specs_for


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long: runs for minutes; started first, so parallel workers end together")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first: xdist hands out tests in this order, and one started last runs alone."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)  # stable: the rest keep their order


@pytest.fixture
def rack(tmp_path) -> Iterator[VirtualRack]:
    r = VirtualRack(specs_for("esp32", 1), workdir=tmp_path / "rack")
    r.start()
    yield r
    r.close()


@pytest.fixture
def spec(rack) -> BoardSpec:
    return rack.inventory().boards[0]


@pytest.fixture
def vboard(rack):
    return rack.boards[0]


@pytest.fixture
def session(spec) -> Iterator[Board]:
    b = Board.open(spec)
    yield b
    b.close()


def bench_spec(spec: BoardSpec) -> BoardSpec:
    return replace(spec, virtual=False)
