"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"


@pytest.fixture
def shared_fixtures() -> Path:
    """The third-party recordings in ../shared/fixtures (never copied into the project)."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"third-party recordings not found at {SHARED_FIXTURES}")
    return SHARED_FIXTURES


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a fresh, real DuckDB warehouse file."""
    return tmp_path / "cadence.duckdb"
