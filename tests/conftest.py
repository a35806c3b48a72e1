"""Fixtures for the framework's tests."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers import REAL_DATA, REPO

# The lesson's shared material (graders/lesson.py) is importable as the graders import it.
sys.path.insert(0, str(REPO / "graders"))


@pytest.fixture
def real_data() -> Path:
    """The real admissions file from ../shared, skipped where it is absent (it is not redistributed)."""
    if not REAL_DATA.is_file():
        pytest.skip("../shared/data/binary.csv is not here (it is not redistributed)")
    return REAL_DATA
