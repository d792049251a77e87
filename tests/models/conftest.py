"""Fixtures for the model tests."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.models.model_factory import ModelFactory


@pytest.fixture
def factory(db_session: Session) -> ModelFactory:
    """Adds valid rows (flushed, not committed) to the test's session."""
    return ModelFactory(db_session)
