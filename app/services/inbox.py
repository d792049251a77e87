"""A staff member's inbox: the tips of their desks, newest activity first, with unread marks.

Pages are keyset-paginated on ``(activity_seq, id)``: a page costs the same whether it is the
first or the thousandth, and whether the desk holds ten thousand tips or a million.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import Desk, DeskMembership, Tip, TipRead, TipState, TipStatus

PAGE_SIZE = 50
_CURSOR = re.compile(r"^(\d{1,18})\.([0-9a-f-]{36})$")


@dataclass(frozen=True)
class InboxRow:
    tip_id: str
    desk_name: str
    status: TipStatus
    received_on: date
    last_activity_on: date
    ack_due_on: date | None
    feedback_due_on: date | None
    unread: bool


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str | None


@dataclass(frozen=True)
class InboxFilter:
    status: TipStatus | None = None
    desk_id: int | None = None
    unread_only: bool = False


def parse_cursor(cursor: str | None) -> tuple[int, str] | None:
    """:raises InvalidInput: a cursor this inbox did not hand out."""
    if not cursor:
        return None
    match = _CURSOR.match(cursor)
    if match is None:
        raise InvalidInput("This page link is damaged; go back to the first page of the inbox.")
    return int(match.group(1)), match.group(2)


def member_desks(session: Session, user_id: int) -> list[Desk]:
    return list(
        session.scalars(
            select(Desk)
            .join(DeskMembership, DeskMembership.desk_id == Desk.id)
            .where(DeskMembership.user_id == user_id)
            .order_by(Desk.name)
        )
    )


def inbox_page(
    session: Session,
    user_id: int,
    *,
    filters: InboxFilter = InboxFilter(),
    cursor: str | None = None,
    page_size: int = PAGE_SIZE,
) -> InboxPage:
    """One page of submitted tips of the user's desks (others' desks never appear)."""
    after = parse_cursor(cursor)
    my_desks = select(DeskMembership.desk_id).where(DeskMembership.user_id == user_id)
    unread = or_(TipRead.read_seq.is_(None), TipRead.read_seq < Tip.activity_seq)
    query = (
        select(Tip, Desk.name, unread.label("unread"))
        .join(Desk, Desk.id == Tip.desk_id)
        .outerjoin(TipRead, and_(TipRead.tip_id == Tip.id, TipRead.user_id == user_id))
        .where(Tip.state == TipState.SUBMITTED, Tip.desk_id.in_(my_desks))
        .order_by(Tip.activity_seq.desc(), Tip.id.desc())
        .limit(page_size + 1)
    )
    if filters.status is not None:
        query = query.where(Tip.status == filters.status)
    if filters.desk_id is not None:
        query = query.where(Tip.desk_id == filters.desk_id)
    if filters.unread_only:
        query = query.where(unread)
    if after is not None:
        query = query.where(tuple_(Tip.activity_seq, Tip.id) < tuple_(*after))
    results = session.execute(query).all()
    rows = [
        InboxRow(
            tip_id=tip.id,
            desk_name=desk_name,
            status=tip.status,
            received_on=tip.received_on,
            last_activity_on=tip.last_activity_on,
            ack_due_on=tip.ack_due_on,
            feedback_due_on=tip.feedback_due_on,
            unread=bool(is_unread),
        )
        for tip, desk_name, is_unread in results[:page_size]
    ]
    next_cursor = None
    if len(results) > page_size:
        last = results[page_size - 1][0]
        next_cursor = f"{last.activity_seq}.{last.id}"
    return InboxPage(rows=rows, next_cursor=next_cursor)


def mark_read(session: Session, user_id: int, tip: Tip) -> None:
    """Everything on the tip up to now counts as seen by this user."""
    row = session.get(TipRead, (user_id, tip.id))
    if row is None:
        session.add(TipRead(user_id=user_id, tip_id=tip.id, read_seq=tip.activity_seq))
    else:
        row.read_seq = max(row.read_seq, tip.activity_seq)
    session.flush()


def mark_unread(session: Session, user_id: int, tip_id: str) -> None:
    row = session.get(TipRead, (user_id, tip_id))
    if row is not None:
        session.delete(row)
        session.flush()
