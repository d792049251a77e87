"""The workflow on cleartext metadata: statuses, deadlines, extensions, the board's views."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import (
    AuditEvent,
    Desk,
    DeskMembership,
    StaffRole,
    StaffUser,
    TagKind,
    Tip,
    TipStatus,
)
from app.services import access, board, casework, stats, tips, workflow
from app.services.audit import verify_chain
from tests.models.model_factory import ModelFactory

TODAY = date(2028, 2, 20)
NOW = datetime(2028, 2, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def factory(db_session: Session) -> ModelFactory:
    return ModelFactory(db_session)


def received_tip(factory: ModelFactory, desk_id: int, received_on: date, **values: object) -> Tip:
    tip = factory.tip(desk=factory.session.get_one(Desk, desk_id), received_on=received_on)
    tips.set_initial_deadlines(tip, tip.desk, received_on)
    for name, value in values.items():
        setattr(tip, name, value)
    tip.next_due_on = tips.next_due(tip)
    factory.session.flush()
    tips.touch(factory.session, tip, tips.Change.SUBMITTED, today=received_on)  # as intake does
    return tip


def member(factory: ModelFactory, desk_id: int, role: StaffRole = StaffRole.OFFICER) -> StaffUser:
    user = factory.staff_user(role=role)
    factory.session.add(DeskMembership(desk_id=desk_id, user_id=user.id, joined_at=NOW))
    factory.session.flush()
    return user


def test_a_new_tip_is_due_for_acknowledgement_in_seven_days_unless_the_desk_does_it_itself(
    factory: ModelFactory,
) -> None:
    manual = factory.desk()
    automatic = factory.desk(auto_acknowledge=True)
    waiting = received_tip(factory, manual.id, date(2027, 12, 28))
    acknowledged = received_tip(factory, automatic.id, date(2027, 12, 28))
    assert (waiting.status, waiting.next_due_on) == (TipStatus.RECEIVED, date(2028, 1, 4))
    assert acknowledged.status is TipStatus.ACKNOWLEDGED
    assert acknowledged.acknowledged_on == date(2027, 12, 28)
    assert acknowledged.next_due_on == acknowledged.feedback_due_on == date(2028, 3, 28)


def test_the_feedback_extension_needs_a_reason_lands_on_a_leap_day_and_happens_once(
    factory: ModelFactory, db_session: Session
) -> None:
    desk = factory.desk()
    officer = member(factory, desk.id)
    tip = received_tip(factory, desk.id, date(2027, 8, 25))
    now = datetime(2027, 8, 31, 9, tzinfo=UTC)
    workflow.change_status(db_session, tip, officer, TipStatus.ACKNOWLEDGED, now=now)
    assert tip.feedback_due_on == date(2027, 11, 30) == tip.next_due_on
    with pytest.raises(InvalidInput):
        workflow.extend_feedback_deadline(db_session, tip, officer, "   ", now=now)
    due = workflow.extend_feedback_deadline(
        db_session, tip, officer, "Awaiting a platform's reply", now=now
    )
    assert due == date(2028, 2, 29) == tip.next_due_on  # 31 August + 6 months, leap year
    with pytest.raises(InvalidInput, match="already"):
        workflow.extend_feedback_deadline(db_session, tip, officer, "again", now=now)
    details = db_session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "tip.feedback_extended")
    ).one()
    assert details == {"feedback_due_on": "2028-02-29"}  # the free-text reason stays out


def test_status_changes_set_their_days_follow_the_workflow_and_are_audited(
    factory: ModelFactory, db_session: Session
) -> None:
    desk = factory.desk()
    officer = member(factory, desk.id)
    tip = received_tip(factory, desk.id, date(2028, 1, 10))
    with pytest.raises(InvalidInput):
        workflow.change_status(db_session, tip, officer, TipStatus.FEEDBACK_GIVEN, now=NOW)
    workflow.change_status(db_session, tip, officer, TipStatus.TRIAGED, now=NOW)
    assert tip.acknowledged_on == TODAY and tip.next_due_on == date(2028, 5, 20)
    workflow.change_status(db_session, tip, officer, TipStatus.INVESTIGATING, now=NOW)
    workflow.change_status(db_session, tip, officer, TipStatus.FEEDBACK_GIVEN, now=NOW)
    assert tip.feedback_given_on == TODAY and tip.next_due_on is None
    with pytest.raises(InvalidInput, match="why"):
        workflow.change_status(db_session, tip, officer, TipStatus.CLOSED, now=NOW)
    workflow.change_status(
        db_session,
        tip,
        officer,
        TipStatus.CLOSED,
        now=NOW,
        outcome=workflow.ClosingOutcome.ACTION_TAKEN,
    )
    assert (tip.closed_on, tip.outcome) == (TODAY, "action_taken")
    actions = db_session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "tip.status_changed")
    ).all()
    assert [d["to"] for d in actions] == ["triaged", "investigating", "feedback_given", "closed"]
    assert verify_chain(db_session).intact


def test_only_desk_members_can_be_assigned_and_tags_come_from_the_lists(
    factory: ModelFactory, db_session: Session
) -> None:
    desk, other = factory.desk(), factory.desk()
    officer = member(factory, desk.id)
    outsider = member(factory, other.id)
    tip = received_tip(factory, desk.id, TODAY)
    with pytest.raises(InvalidInput):
        workflow.assign(db_session, tip, officer, outsider.id, now=NOW)
    workflow.assign(db_session, tip, officer, officer.id, now=NOW)
    assert tip.assignee_id == officer.id
    with pytest.raises(InvalidInput):
        workflow.set_tags(db_session, tip, officer, {TagKind.COMMODITY: ["unicorn"]}, now=NOW)
    workflow.set_tags(
        db_session, tip, officer, {TagKind.COMMODITY: ["horn", "ivory_tusk"]}, now=NOW
    )
    assert workflow.tags_of(db_session, tip.id)[TagKind.COMMODITY] == {"horn", "ivory_tusk"}
    with pytest.raises(access.TipNotOnYourDesks):
        access.staff_tip(db_session, outsider, tip.id)


def test_a_preservation_request_lasts_90_days_and_is_extended_once_while_it_runs(
    factory: ModelFactory, db_session: Session
) -> None:
    desk = factory.desk()
    officer = member(factory, desk.id)
    tip = received_tip(factory, desk.id, date(2027, 12, 1))
    request = casework.add_preservation_request(
        db_session, tip, officer, platform="Example Market", sent_on=date(2027, 12, 2), now=NOW
    )
    assert request.expires_on == date(2028, 3, 1)
    casework.extend_preservation_request(db_session, tip, officer, request.id, now=NOW)
    assert (request.extended_on, request.expires_on) == (TODAY, date(2028, 5, 30))
    with pytest.raises(InvalidInput, match="once"):
        casework.extend_preservation_request(db_session, tip, officer, request.id, now=NOW)


def test_outcomes_carry_amounts_only_for_penalties_and_forfeitures(
    factory: ModelFactory, db_session: Session
) -> None:
    desk = factory.desk()
    officer = member(factory, desk.id)
    tip = received_tip(factory, desk.id, date(2027, 12, 1))
    amount, currency = casework.parse_amount("1,500.5", "kes")
    assert (amount, currency) == (Decimal("1500.50"), "KES")
    with pytest.raises(InvalidInput):
        casework.parse_amount("10", "")
    with pytest.raises(InvalidInput):
        casework.record_outcome(
            db_session,
            tip,
            officer,
            kind=casework.OutcomeKind.ARREST,
            occurred_on=TODAY,
            amount=amount,
            currency=currency,
            reference_number="",
            now=NOW,
        )
    casework.record_outcome(
        db_session,
        tip,
        officer,
        kind=casework.OutcomeKind.PENALTY,
        occurred_on=TODAY,
        amount=amount,
        currency=currency,
        reference_number="CR 12/2028",
        now=NOW,
    )
    with pytest.raises(InvalidInput):
        casework.record_outcome(
            db_session,
            tip,
            officer,
            kind=casework.OutcomeKind.SEIZURE,
            occurred_on=TODAY,
            amount=None,
            currency=None,
            reference_number="<script>",
            now=NOW,
        )
    figures = stats.statistics(db_session, today=TODAY)
    penalty = next(o for o in figures.outcomes if o.kind is casework.OutcomeKind.PENALTY)
    assert (penalty.count, penalty.amounts) == (1, {"KES": Decimal("1500.50")})


@pytest.fixture
def seeded(factory: ModelFactory, db_session: Session) -> dict[str, object]:
    """Two desks; tips whose next deadline is overdue, due this week, later, or none."""
    kenya, france = factory.desk(name="Kenya"), factory.desk(name="France")
    officer = member(factory, kenya.id)
    member(factory, france.id)
    tips = {
        "ack_overdue": received_tip(factory, kenya.id, TODAY - timedelta(days=10)),
        "ack_due_today": received_tip(factory, kenya.id, TODAY - timedelta(days=7)),
        "ack_this_week": received_tip(factory, kenya.id, TODAY - timedelta(days=2)),
        "feedback_overdue": received_tip(
            factory,
            kenya.id,
            date(2027, 10, 1),
            acknowledged_on=date(2027, 10, 3),
            feedback_due_on=date(2028, 1, 3),
            status=TipStatus.INVESTIGATING,
        ),
        "feedback_later": received_tip(
            factory,
            kenya.id,
            date(2028, 1, 20),
            acknowledged_on=date(2028, 1, 21),
            feedback_due_on=date(2028, 4, 21),
            status=TipStatus.TRIAGED,
        ),
        "given": received_tip(
            factory,
            kenya.id,
            date(2027, 9, 1),
            acknowledged_on=date(2027, 9, 2),
            feedback_due_on=date(2027, 12, 2),
            feedback_given_on=date(2027, 11, 1),
            status=TipStatus.FEEDBACK_GIVEN,
        ),
        "closed_overdue": received_tip(
            factory, kenya.id, date(2027, 1, 1), status=TipStatus.CLOSED, closed_on=date(2027, 2, 1)
        ),
        "other_desk_overdue": received_tip(factory, france.id, TODAY - timedelta(days=30)),
    }
    tips["feedback_overdue"].assignee_id = officer.id
    db_session.flush()
    return {"officer": officer, "tips": {name: tip.id for name, tip in tips.items()}}


def view(
    db_session: Session, user_id: int, the_view: board.BoardView, **filters: object
) -> list[str]:
    page = board.board_page(
        db_session,
        user_id,
        today=TODAY,
        filters=board.BoardFilter(view=the_view, **filters),  # type: ignore[arg-type]
    )
    return [row.tip_id for row in page.rows]


def test_the_overdue_and_due_this_week_views_on_a_seeded_data_set(
    db_session: Session, seeded: dict[str, object]
) -> None:
    officer = seeded["officer"]
    ids = seeded["tips"]
    assert isinstance(officer, StaffUser) and isinstance(ids, dict)
    assert view(db_session, officer.id, board.BoardView.OVERDUE) == [
        ids["feedback_overdue"],
        ids["ack_overdue"],
    ]
    assert view(db_session, officer.id, board.BoardView.DUE_THIS_WEEK) == [
        ids["ack_due_today"],
        ids["ack_this_week"],
    ]
    assert set(view(db_session, officer.id, board.BoardView.OPEN)) == {
        ids[name]
        for name in (
            "ack_overdue",
            "ack_due_today",
            "ack_this_week",
            "feedback_overdue",
            "feedback_later",
        )
    }
    assert view(db_session, officer.id, board.BoardView.OVERDUE, assignee_id=officer.id) == [
        ids["feedback_overdue"]
    ]
    assert view(db_session, officer.id, board.BoardView.OVERDUE, assignee_id=board.UNASSIGNED) == [
        ids["ack_overdue"]
    ]


def test_board_pages_follow_each_other_without_gaps_or_repeats(
    db_session: Session, seeded: dict[str, object]
) -> None:
    officer = seeded["officer"]
    assert isinstance(officer, StaffUser)
    everything = view(db_session, officer.id, board.BoardView.OPEN)
    seen: list[str] = []
    cursor = None
    while True:
        page = board.board_page(
            db_session,
            officer.id,
            today=TODAY,
            filters=board.BoardFilter(view=board.BoardView.OPEN),
            cursor=cursor,
            page_size=2,
        )
        seen += [row.tip_id for row in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == everything


def test_statistics_count_medians_and_deadlines_met(
    db_session: Session, seeded: dict[str, object]
) -> None:
    figures = stats.statistics(db_session, today=TODAY)
    assert sum(count for _, count in figures.per_month) == 7  # the 2027-01 tip is too old
    assert figures.statuses[TipStatus.RECEIVED] == 4
    assert figures.median_days_to_acknowledge == 1  # 2, 1 and 1 days
    assert figures.acknowledgements.met == 3 and figures.acknowledgements.due == 5
    assert stats.median_of_histogram([(1, 2), (5, 1)]) == 1
    assert stats.median_of_histogram([]) is None


def test_csv_cells_that_a_spreadsheet_would_run_are_defused() -> None:
    assert [stats.csv_safe(v) for v in ("=1+1", "+x", "-2", "@SUM", "ok", None, 3)] == [
        "'=1+1",
        "'+x",
        "'-2",
        "'@SUM",
        "ok",
        "",
        "3",
    ]
