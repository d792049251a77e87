"""A staff member's inbox: the tips of their desks, newest activity first, with unread marks.

Pages are keyset-paginated on ``(activity_seq, id)``: a page costs the same whether it is the
first or the thousandth, and whether the desk holds ten thousand tips or a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Subquery, and_, or_, select, tuple_, union_all
from sqlalchemy.orm import Session

from app.models import Desk, Tip, TipRead, TipState, TipStatus
from app.services.access import member_desk_ids
from app.services.pager import KeysetCursor

PAGE_SIZE = 50
CURSOR = KeysetCursor(
    int, damaged="This page link is damaged; go back to the first page of the inbox."
)


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


NO_FILTER = InboxFilter()


def _newest_of_desk(
    user_id: int, desk_id: int, filters: InboxFilter, after: tuple[int, str] | None, limit: int
) -> Subquery:
    """Ids of one desk's newest tips: an index walk on (desk_id, state, activity_seq)."""
    query = select(Tip.id).where(Tip.desk_id == desk_id, Tip.state == TipState.SUBMITTED)
    if filters.status is not None:
        query = query.where(Tip.status == filters.status)
    if filters.unread_only:
        seen = select(TipRead.tip_id).where(
            TipRead.tip_id == Tip.id,
            TipRead.user_id == user_id,
            TipRead.read_seq >= Tip.activity_seq,
        )
        query = query.where(~seen.exists())
    if after is not None:
        # The plain bound lets the index serve the row comparison that follows it.
        query = query.where(
            Tip.activity_seq <= after[0], tuple_(Tip.activity_seq, Tip.id) < tuple_(*after)
        )
    return query.order_by(Tip.activity_seq.desc(), Tip.id.desc()).limit(limit).subquery()


def inbox_page(
    session: Session,
    user_id: int,
    *,
    filters: InboxFilter = NO_FILTER,
    cursor: str | None = None,
    page_size: int = PAGE_SIZE,
) -> InboxPage:
    """One page of submitted tips of the user's desks (others' desks never appear).

    Each desk contributes at most one page of candidates, found by walking its index from the
    cursor; only those few rows are joined and sorted, so the cost does not grow with the
    number of tips (a single ORDER BY over all the user's desks would sort every one of them).

    :raises InvalidInput: a cursor this inbox did not hand out.
    """
    after = CURSOR.decode(cursor)
    desk_ids = sorted(member_desk_ids(session, user_id))
    if filters.desk_id is not None:
        desk_ids = [d for d in desk_ids if d == filters.desk_id]
    if not desk_ids:
        return InboxPage(rows=[], next_cursor=None)
    per_desk = [_newest_of_desk(user_id, d, filters, after, page_size + 1) for d in desk_ids]
    candidates = union_all(*(select(sub.c.id) for sub in per_desk))
    unread = or_(TipRead.read_seq.is_(None), TipRead.read_seq < Tip.activity_seq)
    query = (
        select(Tip, Desk.name, unread.label("unread"))
        .join(Desk, Desk.id == Tip.desk_id)
        .outerjoin(TipRead, and_(TipRead.tip_id == Tip.id, TipRead.user_id == user_id))
        .where(Tip.id.in_(candidates))
        .order_by(Tip.activity_seq.desc(), Tip.id.desc())
        .limit(page_size + 1)
    )
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
        next_cursor = CURSOR.encode(last.activity_seq, last.id)
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
