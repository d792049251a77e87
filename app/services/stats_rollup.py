"""The statistics roll-up: one row of figures per desk and month of receipt, exact and current.

Every change that can move a figure (a tip submitted, its status, acknowledgement, feedback,
closing or feedback deadline, an outcome added or removed, a purge) marks the tip's desk and
month in the same transaction, through :func:`app.services.tips.touch` (the one caller of
:func:`mark` besides :func:`mark_every_desk_month`). That bumps the row's ``version``; the figures
are those of ``computed_version``. :func:`current_figures` recomputes the rows whose versions
differ from their tips alone (an index range of ``(desk_id, received_on)``), stores them only
if no mark arrived meanwhile (compare-and-set on ``version``), and returns every row in scope.
So the statistics page costs desks × months plus the tips of the months that changed.

Deadlines depend on "today": a row keeps the days its open deadlines fall due, and the reader
classifies them, so a deadline passing needs no write.

Only submitted tips count; nothing here reads encrypted content (DESIGN §2.1).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.models import Desk, Outcome, StatsRollup, Tip, TipState
from app.services.deadlines import add_months


@dataclass(frozen=True)
class MonthFigures:
    """The figures of one desk's tips received in one month (see ``StatsRollup``)."""

    received: int
    statuses: dict[str, int]
    days_to_acknowledge: dict[str, int]
    days_to_feedback: dict[str, int]
    acknowledgement_deadlines: dict[str, Any]
    feedback_deadlines: dict[str, Any]
    outcomes: dict[str, Any]


FIGURE_NAMES = tuple(MonthFigures.__dataclass_fields__)
NO_DEADLINES: dict[str, Any] = {"met": 0, "late": 0, "open": {}}
NO_FIGURES = MonthFigures(0, {}, {}, {}, NO_DEADLINES, NO_DEADLINES, {})


@dataclass(frozen=True)
class DeskMonth:
    desk_name: str
    month: date  # its first day
    figures: MonthFigures


def mark(session: Session, desk_id: int, received_on: date) -> None:
    """Note, in the caller's transaction, that figures of this desk and month changed.

    Call it after the change and shortly before the commit: on PostgreSQL the row stays
    locked until then, so concurrent changes to the same month queue for a moment.
    """
    statement = _mark_statement(session.get_bind().dialect.name)
    session.execute(statement, {"desk_id": desk_id, "month": received_on.replace(day=1)})


@cache
def _mark_statement(dialect: str) -> Any:
    """The upsert :func:`mark` runs, built once per dialect: every submission runs it, and
    building it anew (with its empty figures) cost several times more than running it."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(StatsRollup)
        .values(
            desk_id=bindparam("desk_id"),
            month=bindparam("month"),
            version=1,
            computed_version=0,
            **asdict(NO_FIGURES),
        )
        .on_conflict_do_update(
            index_elements=["desk_id", "month"], set_={"version": StatsRollup.version + 1}
        )
    )


def mark_every_desk_month(session: Session) -> int:
    """Mark every desk and month that has submitted tips (after a bulk load that bypassed the
    services); linear in the tips, so never on a request. Returns the rows marked.
    """
    pairs = {
        (desk_id, received_on.replace(day=1))
        for desk_id, received_on in session.execute(
            select(Tip.desk_id, Tip.received_on).where(Tip.state == TipState.SUBMITTED).distinct()
        )
    }
    for desk_id, month in sorted(pairs):
        mark(session, desk_id, month)
    return len(pairs)


class _Deadlines:
    """Met and late counts, and the open deadlines by the day they fall due."""

    def __init__(self) -> None:
        self.met = self.late = 0
        self.open_by_day: Counter[date] = Counter()

    def add(self, done: date | None, due: date | None) -> None:
        if due is None:
            return
        if done is None:
            self.open_by_day[due] += 1
        elif done <= due:
            self.met += 1
        else:
            self.late += 1

    def as_json(self) -> dict[str, Any]:
        days = sorted(self.open_by_day.items())
        return {"met": self.met, "late": self.late, "open": {d.isoformat(): n for d, n in days}}


def _histogram(days: Counter[int]) -> dict[str, int]:
    return {str(value): count for value, count in sorted(days.items())}


def compute(session: Session, desk_id: int, month: date) -> MonthFigures:
    """The figures of the desk's submitted tips received in ``month``, from those tips only
    (an index range of ``(desk_id, received_on)``; one pass in Python, exact on both databases).
    """
    in_month = (
        Tip.desk_id == desk_id,
        Tip.state == TipState.SUBMITTED,
        Tip.received_on >= month,
        Tip.received_on < add_months(month, 1),
    )
    tips = session.execute(
        select(
            Tip.status,
            Tip.received_on,
            Tip.acknowledged_on,
            Tip.ack_due_on,
            Tip.feedback_given_on,
            Tip.feedback_due_on,
        ).where(*in_month)
    )
    received = 0
    statuses: Counter[str] = Counter()
    to_acknowledge: Counter[int] = Counter()
    to_feedback: Counter[int] = Counter()
    acknowledgements, feedback = _Deadlines(), _Deadlines()
    for status, received_on, acknowledged_on, ack_due_on, given_on, feedback_due_on in tips:
        received += 1
        statuses[status.value] += 1
        if acknowledged_on is not None:
            to_acknowledge[(acknowledged_on - received_on).days] += 1
        if given_on is not None:
            to_feedback[(given_on - received_on).days] += 1
        acknowledgements.add(acknowledged_on, ack_due_on)
        feedback.add(given_on, feedback_due_on)
    outcomes: dict[str, Any] = {}
    for kind, currency, amount in session.execute(
        select(Outcome.kind, Outcome.currency, Outcome.amount)
        .join(Tip, Tip.id == Outcome.tip_id)
        .where(*in_month)
    ):
        entry = outcomes.setdefault(kind.value, {"count": 0, "amounts": {}})
        entry["count"] += 1
        if currency and amount is not None:
            total = Decimal(entry["amounts"].get(currency, "0")) + amount
            entry["amounts"][currency] = str(total)
    return MonthFigures(
        received=received,
        statuses=dict(sorted(statuses.items())),
        days_to_acknowledge=_histogram(to_acknowledge),
        days_to_feedback=_histogram(to_feedback),
        acknowledgement_deadlines=acknowledgements.as_json(),
        feedback_deadlines=feedback.as_json(),
        outcomes=dict(sorted(outcomes.items())),
    )


def store(session: Session, desk_id: int, month: date, version: int, figures: MonthFigures) -> bool:
    """Keep ``figures`` as those of ``version``, unless a mark arrived since (then the row
    stays dirty and the next reader computes it again). Returns whether they were kept.
    """
    result = session.execute(
        update(StatsRollup)
        .where(
            StatsRollup.desk_id == desk_id,
            StatsRollup.month == month,
            StatsRollup.version == version,
        )
        .values(computed_version=version, **asdict(figures))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def current_figures(
    session: Session, *, since: date, desk_ids: list[int] | tuple[int, ...] | None
) -> list[DeskMonth]:
    """Every desk and month from ``since`` on (of ``desk_ids``, or all), ordered by desk name
    and month, with figures current as of this call: dirty rows are recomputed and stored.
    """
    columns = [getattr(StatsRollup, name) for name in FIGURE_NAMES]
    query = (
        select(
            Desk.name,
            StatsRollup.desk_id,
            StatsRollup.month,
            StatsRollup.version,
            StatsRollup.computed_version,
            *columns,
        )
        .join(Desk, Desk.id == StatsRollup.desk_id)
        .where(StatsRollup.month >= since)
        .order_by(Desk.name, StatsRollup.month, StatsRollup.desk_id)
    )
    if desk_ids is not None:
        query = query.where(StatsRollup.desk_id.in_(desk_ids))
    rows = session.execute(query).all()
    fresh: dict[tuple[int, date], MonthFigures] = {}
    # One order for every reader, so two of them storing rows never deadlock each other.
    for row in sorted(
        (r for r in rows if r.version != r.computed_version), key=lambda r: (r.desk_id, r.month)
    ):
        figures = compute(session, row.desk_id, row.month)
        store(session, row.desk_id, row.month, row.version, figures)
        fresh[(row.desk_id, row.month)] = figures
    return [
        DeskMonth(
            row.name,
            row.month,
            fresh.get((row.desk_id, row.month))
            or MonthFigures(**{name: getattr(row, name) for name in FIGURE_NAMES}),
        )
        for row in rows
    ]


def dirty_rows(session: Session) -> int:
    """How many desk-months wait to be recomputed (for tests and the benchmark)."""
    return int(
        session.scalar(
            select(func.count()).where(StatsRollup.version != StatsRollup.computed_version)
        )
        or 0
    )
