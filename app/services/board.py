"""The case officers' board: open deadlines of the user's desks, soonest first.

Views: overdue, due this week, every open deadline; each filterable by desk and by assignee.
Pages are keyset-paginated on ``(next_due_on, id)``: each desk contributes one page of
candidates walked from the index ``(desk_id, state, next_due_on, id)``, so a page costs the same
however many tips the desks hold (the same plan as the inbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import Subquery, select, tuple_, union_all
from sqlalchemy.orm import Session

from app.models import Desk, StaffUser, Tip, TipState, TipStatus
from app.services.access import member_desk_ids
from app.services.deadlines import DUE_SOON
from app.services.pager import KeysetCursor

PAGE_SIZE = 50
CURSOR = KeysetCursor(
    date, damaged="This page link is damaged; go back to the first page of the board."
)
UNASSIGNED = 0  # the assignee filter's value for "nobody"


class BoardView(StrEnum):
    OVERDUE = "overdue"
    DUE_THIS_WEEK = "due_this_week"
    OPEN = "open"


@dataclass(frozen=True)
class BoardFilter:
    view: BoardView = BoardView.OVERDUE
    desk_id: int | None = None
    assignee_id: int | None = None  # UNASSIGNED for tips nobody holds


@dataclass(frozen=True)
class BoardRow:
    tip_id: str
    desk_name: str
    status: TipStatus
    priority: int
    assignee_name: str | None
    received_on: date
    next_due_on: date
    deadline: str  # "acknowledgement" or "feedback"
    days_left: int


@dataclass(frozen=True)
class BoardPage:
    rows: list[BoardRow]
    next_cursor: str | None


def due_range(view: BoardView, today: date) -> tuple[date | None, date | None]:
    """Inclusive (first, last) due day of the view; None is unbounded."""
    if view is BoardView.OVERDUE:
        return None, today - timedelta(days=1)
    if view is BoardView.DUE_THIS_WEEK:
        return today, today + DUE_SOON
    return None, None


def _desk_candidates(
    desk_id: int,
    filters: BoardFilter,
    today: date,
    after: tuple[date, str] | None,
    limit: int,
) -> Subquery:
    first, last = due_range(filters.view, today)
    query = select(Tip.id).where(
        Tip.desk_id == desk_id, Tip.state == TipState.SUBMITTED, Tip.next_due_on.is_not(None)
    )
    if first is not None:
        query = query.where(Tip.next_due_on >= first)
    if last is not None:
        query = query.where(Tip.next_due_on <= last)
    if filters.assignee_id == UNASSIGNED:
        query = query.where(Tip.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        query = query.where(Tip.assignee_id == filters.assignee_id)
    if after is not None:
        query = query.where(
            Tip.next_due_on >= after[0], tuple_(Tip.next_due_on, Tip.id) > tuple_(*after)
        )
    return query.order_by(Tip.next_due_on, Tip.id).limit(limit).subquery()


def board_page(
    session: Session,
    user_id: int,
    *,
    today: date,
    filters: BoardFilter | None = None,
    cursor: str | None = None,
    page_size: int = PAGE_SIZE,
) -> BoardPage:
    """One page of the view over the user's desks (other desks' tips never appear).

    :raises InvalidInput: a cursor the board did not hand out.
    """
    filters = filters or BoardFilter()
    after = CURSOR.decode(cursor)
    desk_ids = sorted(member_desk_ids(session, user_id))
    if filters.desk_id is not None:
        desk_ids = [d for d in desk_ids if d == filters.desk_id]
    if not desk_ids:
        return BoardPage(rows=[], next_cursor=None)
    per_desk = [_desk_candidates(d, filters, today, after, page_size + 1) for d in desk_ids]
    candidates = union_all(*(select(sub.c.id) for sub in per_desk))
    query = (
        select(Tip, Desk.name, StaffUser.display_name)
        .join(Desk, Desk.id == Tip.desk_id)
        .outerjoin(StaffUser, StaffUser.id == Tip.assignee_id)
        .where(Tip.id.in_(candidates))
        .order_by(Tip.next_due_on, Tip.id)
        .limit(page_size + 1)
    )
    results = session.execute(query).all()
    rows = []
    for tip, desk_name, assignee_name in results[:page_size]:
        due = tip.next_due_on
        assert due is not None  # the candidates filter on it
        rows.append(
            BoardRow(
                tip_id=tip.id,
                desk_name=desk_name,
                status=tip.status,
                priority=tip.priority,
                assignee_name=assignee_name,
                received_on=tip.received_on,
                next_due_on=due,
                deadline="acknowledgement" if tip.acknowledged_on is None else "feedback",
                days_left=(due - today).days,
            )
        )
    next_cursor = None
    if len(results) > page_size:
        last_row = rows[-1]
        next_cursor = CURSOR.encode(last_row.next_due_on, last_row.tip_id)
    return BoardPage(rows=rows, next_cursor=next_cursor)
