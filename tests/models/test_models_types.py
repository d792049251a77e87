"""Dates and times: days for anything a tipster did, aware UTC for staff-side moments."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from app.models import Base, StaffSession, Tip, TipsterSession
from app.models.types import Day
from tests.models.model_factory import ModelFactory

TIPSTER_TABLES = ["tips", "objects", "sealed_keys", "tipster_sessions", "blobs"]
EXPIRY_ONLY = {("tipster_sessions", "expires_at")}  # a coarse expiry, not a tipster action


def stored_type(column: sa.Column[object]) -> sa.types.TypeEngine[object]:
    """The SQL type a column really stores (through any TypeDecorator)."""
    column_type = column.type
    return column_type.impl_instance if isinstance(column_type, sa.TypeDecorator) else column_type


@pytest.mark.parametrize("table", TIPSTER_TABLES)
def test_tipster_related_tables_have_no_timestamp_columns(table: str) -> None:
    timestamps = [
        column.name
        for column in Base.metadata.tables[table].columns
        if isinstance(stored_type(column), sa.DateTime) and (table, column.name) not in EXPIRY_ONLY
    ]
    assert timestamps == []


def test_tip_dates_are_day_columns() -> None:
    tips = Base.metadata.tables["tips"]
    for name in (
        "received_on",
        "acknowledged_on",
        "ack_due_on",
        "feedback_due_on",
        "closed_on",
        "last_activity_on",
        "draft_expires_on",
    ):
        assert isinstance(tips.c[name].type, Day), name
    assert isinstance(Base.metadata.tables["objects"].c.created_on.type, Day)


def test_a_day_column_refuses_a_datetime(factory: ModelFactory) -> None:
    with pytest.raises(StatementError, match="not a datetime"):
        factory.tip(received_on=datetime.now(UTC))


def test_days_round_trip(factory: ModelFactory, db_session: Session) -> None:
    tip = factory.tip(received_on=date(2026, 2, 28), ack_due_on=date(2026, 3, 7))
    db_session.commit()
    db_session.expire_all()
    loaded = db_session.get_one(Tip, tip.id)
    assert (loaded.received_on, loaded.ack_due_on) == (date(2026, 2, 28), date(2026, 3, 7))
    assert type(loaded.received_on) is date


def test_timestamps_come_back_as_aware_utc(factory: ModelFactory, db_session: Session) -> None:
    user = factory.staff_user()
    nairobi = timezone(timedelta(hours=3))
    created = datetime(2026, 3, 14, 12, 30, 15, 123456, tzinfo=nairobi)
    db_session.add(
        StaffSession(
            session_digest=os.urandom(32),
            user_id=user.id,
            created_at=created,
            last_seen_at=created,
            expires_at=created + timedelta(hours=12),
        )
    )
    db_session.commit()
    db_session.expire_all()
    loaded = db_session.scalars(select(StaffSession)).one()
    assert loaded.created_at == created
    assert loaded.created_at.tzinfo is UTC
    assert loaded.created_at.hour == 9
    # Comparisons in SQL see UTC on both databases.
    later = db_session.scalars(
        select(StaffSession).where(StaffSession.expires_at > datetime(2026, 3, 14, 21, tzinfo=UTC))
    ).all()
    assert later == [loaded]


def test_naive_timestamps_are_refused(factory: ModelFactory) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        factory.staff_user(created_at=datetime(2026, 3, 14, 12, 0))


def test_tipster_session_expiry_is_kept_only_to_the_minute(
    factory: ModelFactory, db_session: Session
) -> None:
    tip = factory.tip()
    db_session.add(
        TipsterSession(
            session_digest=os.urandom(32),
            tip_id=tip.id,
            key_custody_blob=os.urandom(80),
            expires_at=datetime(2026, 3, 14, 12, 30, 59, 999999, tzinfo=UTC),
        )
    )
    db_session.commit()
    db_session.expire_all()
    stored = db_session.scalars(select(TipsterSession.expires_at)).one()
    assert stored == datetime(2026, 3, 14, 12, 30, tzinfo=UTC)
