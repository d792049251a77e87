"""Fixtures for the `tipline` command tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """The environment of a command run against this test's own database and data dir."""
    return {
        "TIPLINE_DATA_DIR": str(tmp_path / "instance"),
        "TIPLINE_DATABASE_URL": database_url,
        "TIPLINE_ENV": "testing",
    }
