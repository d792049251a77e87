"""Reading the audit log (admins): filter by actor, action, tip and days; keyset pages.

Pages walk the primary key downwards (newest first) from a cursor, so the thousandth page costs
what the first does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import AuditEvent, StaffUser
from app.services.pager import IdCursor

PAGE_SIZE = 100
CURSOR = IdCursor(damaged="This page link is damaged; go back to the first page.")


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # a username
    action: str | None = None  # exact, or a prefix ending in "." (e.g. "tip.")
    tip_id: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive


@dataclass(frozen=True)
class AuditRow:
    id: int
    occurred_at: datetime
    actor: str | None
    action: str
    tip_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    next_cursor: str | None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def audit_page(
    session: Session,
    filters: AuditFilter,
    *,
    cursor: str | None = None,
    page_size: int = PAGE_SIZE,
) -> AuditPage:
    """The page after ``cursor`` (the first page without one), newest first.

    :raises InvalidInput: an unknown user name, an inverted date range, or a cursor this log
        did not hand out.
    """
    before_id = CURSOR.decode(cursor)
    query = select(AuditEvent, StaffUser.username).outerjoin(
        StaffUser, StaffUser.id == AuditEvent.actor_user_id
    )
    if filters.actor:
        actor_id = session.scalar(
            select(StaffUser.id).where(StaffUser.username == filters.actor.strip().lower())
        )
        if actor_id is None:
            raise InvalidInput(f"There is no staff account '{filters.actor}'.")
        query = query.where(AuditEvent.actor_user_id == actor_id)
    if filters.action:
        action = filters.action.strip()
        if action.endswith("."):
            query = query.where(AuditEvent.action.startswith(action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == action)
    if filters.tip_id:
        query = query.where(AuditEvent.tip_id == filters.tip_id.strip())
    if filters.since and filters.until and filters.since > filters.until:
        raise InvalidInput("The first day comes after the last.")
    if filters.since:
        query = query.where(AuditEvent.occurred_at >= _start_of(filters.since))
    if filters.until:
        query = query.where(AuditEvent.occurred_at < _start_of(filters.until + timedelta(days=1)))
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    results = session.execute(query.order_by(AuditEvent.id.desc()).limit(page_size + 1)).all()
    rows = [
        AuditRow(
            id=event.id,
            occurred_at=event.occurred_at,
            actor=username,
            action=event.action,
            tip_id=event.tip_id,
            details=dict(event.details),
        )
        for event, username in results[:page_size]
    ]
    next_cursor = CURSOR.encode(rows[-1].id) if len(results) > page_size else None
    return AuditPage(rows=rows, next_cursor=next_cursor)
