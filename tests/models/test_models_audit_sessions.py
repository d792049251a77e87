"""The audit log outlives tips; sessions store digests only."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import AuditEvent, Base
from tests.models.model_factory import ModelFactory


def audit_event(**overrides: object) -> AuditEvent:
    values: dict[str, object] = {
        "occurred_at": datetime.now(UTC),
        "action": "tip.viewed",
        "details": {"scope": "thread"},
        "prev_hash": bytes(32),
        "event_hash": os.urandom(32),
    }
    values.update(overrides)
    return AuditEvent(**values)


def test_audit_events_survive_the_purge_of_their_tip(
    factory: ModelFactory, db_session: Session
) -> None:
    tip = factory.tip()
    user = factory.staff_user()
    db_session.add(audit_event(tip_id=tip.id, actor_user_id=user.id))
    db_session.commit()
    db_session.execute(text("DELETE FROM tips WHERE id = :id"), {"id": tip.id})
    db_session.commit()
    event = db_session.scalars(select(AuditEvent)).one()
    assert event.tip_id == tip.id
    assert event.details == {"scope": "thread"}


def test_audit_event_ids_increase(db_session: Session) -> None:
    events = [audit_event() for _ in range(3)]
    db_session.add_all(events)
    db_session.flush()
    ids = [event.id for event in events]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_audit_event_hashes_are_unique(db_session: Session) -> None:
    digest = os.urandom(32)
    db_session.add_all([audit_event(event_hash=digest), audit_event(event_hash=digest)])
    with pytest.raises(IntegrityError, match="event_hash"):
        db_session.flush()


def test_session_tables_hold_digests_not_session_ids() -> None:
    for table in ("staff_sessions", "tipster_sessions"):
        columns = Base.metadata.tables[table].c
        assert [column.name for column in columns if column.primary_key] == ["session_digest"]
        assert "session_id" not in columns
