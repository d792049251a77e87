"""Statistics over workflow metadata: tips per desk and month, statuses, time to acknowledge
and to give feedback, deadlines met, outcomes; and the workflow CSV.

:func:`statistics` adds up the roll-up rows of ``app.services.stats_rollup`` (one per desk and
month, recomputed only where tips changed), so the page costs desks × months, not tips. Medians
come from histograms of whole days, so they stay exact. :func:`statistics_from_tips` computes
the same figures with SQL ``GROUP BY`` over every tip (linear in tips): the reference the tests
hold the roll-up to.

Only submitted tips of the desks in scope count; nothing here touches encrypted content.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, cast, func, literal, select
from sqlalchemy.orm import Session

from app.models import Desk, Outcome, OutcomeKind, StaffUser, Tip, TipState, TipStatus, TipTag
from app.services import stats_rollup
from app.services.deadlines import add_months

MONTHS_SHOWN = 12


@dataclass(frozen=True)
class DeskMonthCount:
    desk_name: str
    month: str  # YYYY-MM
    count: int


@dataclass(frozen=True)
class DeadlineShare:
    met: int
    due: int  # met or missed (deadlines still running are not counted)

    @property
    def percent(self) -> float | None:
        return round(100 * self.met / self.due, 1) if self.due else None


@dataclass(frozen=True)
class OutcomeSummary:
    kind: OutcomeKind
    count: int
    amounts: dict[str, Decimal]  # currency -> total


@dataclass(frozen=True)
class Statistics:
    since: date
    months: list[str]
    per_desk_month: list[DeskMonthCount]
    statuses: dict[TipStatus, int]
    median_days_to_acknowledge: float | None
    median_days_to_feedback: float | None
    acknowledgements: DeadlineShare
    feedback: DeadlineShare
    outcomes: list[OutcomeSummary] = field(default_factory=list)

    @property
    def per_month(self) -> list[tuple[str, int]]:
        totals = dict.fromkeys(self.months, 0)
        for row in self.per_desk_month:
            totals[row.month] = totals.get(row.month, 0) + row.count
        return list(totals.items())

    @property
    def desks(self) -> list[str]:
        return sorted({row.desk_name for row in self.per_desk_month})

    def count_for(self, desk_name: str, month: str) -> int:
        for row in self.per_desk_month:
            if row.desk_name == desk_name and row.month == month:
                return row.count
        return 0


def _month_of(session: Session, column: Any) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _days_between(session: Session, later: Any, earlier: Any) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(later - earlier, Integer)
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def median_of_histogram(histogram: Iterable[tuple[int, int]]) -> float | None:
    """The median of values given as (value, how many times) pairs."""
    pairs = sorted((value, count) for value, count in histogram if count)
    total = sum(count for _, count in pairs)
    if not total:
        return None
    wanted = [(total - 1) // 2, total // 2]  # the middle one or two positions
    found: list[int] = []
    seen = 0
    for value, count in pairs:
        while wanted and wanted[0] < seen + count:
            found.append(value)
            wanted.pop(0)
        seen += count
    return sum(found) / len(found)


def month_list(since: date, today: date) -> list[str]:
    months = []
    month = since.replace(day=1)
    while month <= today:
        months.append(month.strftime("%Y-%m"))
        month = add_months(month, 1)
    return months


def _scope(query: Any, desk_ids: Sequence[int] | None) -> Any:
    query = query.where(Tip.state == TipState.SUBMITTED)
    if desk_ids is not None:
        query = query.where(Tip.desk_id.in_(desk_ids))
    return query


def _share(
    session: Session, done: Any, due: Any, today: date, desk_ids: Any, since: date
) -> DeadlineShare:
    decided = (done.is_not(None)) | (due < today)
    met = case((done.is_not(None) & (done <= due), 1), else_=0)
    row = session.execute(
        _scope(
            select(func.coalesce(func.sum(met), 0), func.count()).where(
                decided, due.is_not(None), Tip.received_on >= since
            ),
            desk_ids,
        )
    ).one()
    return DeadlineShare(met=int(row[0]), due=int(row[1]))


def first_month_shown(today: date) -> date:
    return add_months(today.replace(day=1), -(MONTHS_SHOWN - 1))


def statistics(
    session: Session, *, today: date, desk_ids: Sequence[int] | None = None
) -> Statistics:
    """Figures for tips received in the last ``MONTHS_SHOWN`` months (this one included),
    from the roll-up; recomputes (and stores) the desk-months whose tips changed.
    """
    since = first_month_shown(today)
    rows = stats_rollup.current_figures(
        session, since=since, desk_ids=None if desk_ids is None else tuple(desk_ids)
    )
    per_desk_month: list[DeskMonthCount] = []
    statuses = dict.fromkeys(TipStatus, 0)
    to_acknowledge: Counter[int] = Counter()
    to_feedback: Counter[int] = Counter()
    outcome_counts: Counter[str] = Counter()
    amounts: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        figures = row.figures
        month_text = row.month.strftime("%Y-%m")
        previous = per_desk_month[-1] if per_desk_month else None
        if previous and (previous.desk_name, previous.month) == (row.desk_name, month_text):
            # Desks sharing a name are one line, as in the GROUP BY.
            per_desk_month[-1] = DeskMonthCount(
                row.desk_name, month_text, previous.count + figures.received
            )
        elif figures.received:
            per_desk_month.append(DeskMonthCount(row.desk_name, month_text, figures.received))
        for status, count in figures.statuses.items():
            statuses[TipStatus(status)] += count
        to_acknowledge.update({int(d): n for d, n in figures.days_to_acknowledge.items()})
        to_feedback.update({int(d): n for d, n in figures.days_to_feedback.items()})
        for kind, entry in figures.outcomes.items():
            outcome_counts[kind] += entry["count"]
            for currency, total in entry["amounts"].items():
                by_currency = amounts.setdefault(kind, {})
                by_currency[currency] = by_currency.get(currency, Decimal(0)) + Decimal(total)
    return Statistics(
        since=since,
        months=month_list(since, today),
        per_desk_month=per_desk_month,
        statuses=statuses,
        median_days_to_acknowledge=median_of_histogram(to_acknowledge.items()),
        median_days_to_feedback=median_of_histogram(to_feedback.items()),
        acknowledgements=_share_of([row.figures.acknowledgement_deadlines for row in rows], today),
        feedback=_share_of([row.figures.feedback_deadlines for row in rows], today),
        outcomes=[
            OutcomeSummary(kind, outcome_counts[kind.value], amounts.get(kind.value, {}))
            for kind in OutcomeKind
        ],
    )


def _share_of(deadlines: Iterable[dict[str, Any]], today: date) -> DeadlineShare:
    """Met and decided deadlines; an open one is decided (missed) once its day has passed."""
    met = decided = 0
    for counts in deadlines:
        met += counts.get("met", 0)
        decided += counts.get("met", 0) + counts.get("late", 0)
        decided += sum(
            count
            for day, count in counts.get("open", {}).items()
            if date.fromisoformat(day) < today
        )
    return DeadlineShare(met=met, due=decided)


def statistics_from_tips(
    session: Session, *, today: date, desk_ids: Sequence[int] | None = None
) -> Statistics:
    """The same figures as :func:`statistics`, by SQL ``GROUP BY`` over every tip in scope.

    Linear in the tips of the last 12 months: the reference for tests and the benchmark.
    """
    since = first_month_shown(today)
    month = _month_of(session, Tip.received_on).label("month")
    per_desk_month = [
        DeskMonthCount(desk_name, month_text, count)
        for desk_name, month_text, count in session.execute(
            _scope(
                select(Desk.name, month, func.count())
                .join(Desk, Desk.id == Tip.desk_id)
                .where(Tip.received_on >= since)
                .group_by(Desk.name, month),
                desk_ids,
            ).order_by(Desk.name, month)
        )
    ]
    statuses = dict.fromkeys(TipStatus, 0)
    for status, count in session.execute(
        _scope(
            select(Tip.status, func.count()).where(Tip.received_on >= since).group_by(Tip.status),
            desk_ids,
        )
    ):
        statuses[status] = count

    def histogram(done: Any) -> list[tuple[int, int]]:
        days = _days_between(session, done, Tip.received_on).label("days")
        return [
            (int(value), int(count))
            for value, count in session.execute(
                _scope(
                    select(days, func.count())
                    .where(done.is_not(None), Tip.received_on >= since)
                    .group_by(days),
                    desk_ids,
                )
            )
        ]

    outcome_rows = session.execute(
        _scope(
            select(Outcome.kind, Outcome.currency, func.count(), func.sum(Outcome.amount))
            .join(Tip, Tip.id == Outcome.tip_id)
            .where(Tip.received_on >= since)
            .group_by(Outcome.kind, Outcome.currency),
            desk_ids,
        )
    ).all()
    outcomes = []
    for kind in OutcomeKind:
        rows = [row for row in outcome_rows if row[0] is kind]
        amounts = {row[1]: Decimal(row[3]) for row in rows if row[1] and row[3] is not None}
        outcomes.append(OutcomeSummary(kind, sum(int(row[2]) for row in rows), amounts))
    return Statistics(
        since=since,
        months=month_list(since, today),
        per_desk_month=per_desk_month,
        statuses=statuses,
        median_days_to_acknowledge=median_of_histogram(histogram(Tip.acknowledged_on)),
        median_days_to_feedback=median_of_histogram(histogram(Tip.feedback_given_on)),
        acknowledgements=_share(
            session, Tip.acknowledged_on, Tip.ack_due_on, today, desk_ids, since
        ),
        feedback=_share(
            session, Tip.feedback_given_on, Tip.feedback_due_on, today, desk_ids, since
        ),
        outcomes=outcomes,
    )


CSV_COLUMNS = (
    "tip_reference",
    "desk",
    "status",
    "priority",
    "assignee",
    "received_on",
    "ack_due_on",
    "acknowledged_on",
    "feedback_due_on",
    "feedback_extended",
    "feedback_given_on",
    "closed_on",
    "closing_outcome",
    "tags",
)
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP "CSV injection")."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _tags_of_tip(session: Session) -> Any:
    """A correlated subquery: the tip's staff tags as "kind:value" words, space-separated."""
    word = TipTag.kind + literal(":") + TipTag.value
    if session.get_bind().dialect.name == "postgresql":
        joined = func.string_agg(word, literal(" "))
    else:
        joined = func.group_concat(word, literal(" "))
    return select(joined).where(TipTag.tip_id == Tip.id).correlate(Tip).scalar_subquery()


def workflow_rows(
    session: Session, desk_ids: Sequence[int] | None, *, batch: int = 1000
) -> Iterator[list[str]]:
    """The CSV export: one row of workflow metadata per tip (no content), header first."""
    yield list(CSV_COLUMNS)
    query = _scope(
        select(
            Tip.id,
            Desk.slug,
            Tip.status,
            Tip.priority,
            StaffUser.username,
            Tip.received_on,
            Tip.ack_due_on,
            Tip.acknowledged_on,
            Tip.feedback_due_on,
            Tip.feedback_extended_reason.is_not(None),
            Tip.feedback_given_on,
            Tip.closed_on,
            Tip.outcome,
            _tags_of_tip(session),
        )
        .join(Desk, Desk.id == Tip.desk_id)
        .outerjoin(StaffUser, StaffUser.id == Tip.assignee_id),
        desk_ids,
    ).order_by(Tip.received_on, Tip.id)
    for row in session.execute(query.execution_options(yield_per=batch)):
        values = list(row)
        values[2] = values[2].value
        values[9] = "yes" if values[9] else "no"
        values[13] = " ".join(sorted((values[13] or "").split()))
        yield [csv_safe(value) for value in values]
