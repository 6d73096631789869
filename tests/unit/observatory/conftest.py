"""Fixtures for the observatory's unit tests: a real data directory and SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory.context import ObservatoryContext, open_observatory
from tests.unit.observatory.support import make_observatory


@pytest.fixture
def observatory_dir(tmp_path: Path) -> Path:
    return make_observatory(tmp_path / "observatory")


@pytest.fixture
def ctx(observatory_dir: Path) -> Iterator[ObservatoryContext]:
    context = open_observatory(observatory_dir)
    yield context
    context.close()
