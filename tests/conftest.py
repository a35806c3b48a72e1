"""Fixtures for the framework's tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REAL_DATA


@pytest.fixture
def real_data() -> Path:
    """The real admissions file from ../shared, skipped where it is absent (it is not redistributed)."""
    if not REAL_DATA.is_file():
        pytest.skip("../shared/data/binary.csv is not here (it is not redistributed)")
    return REAL_DATA
