"""The statistics roll-up gives exactly the figures of a GROUP BY over the tips, at any moment.

A seeded random run of intake, status changes, extensions, outcomes and purges across desks,
months and days of "today" compares :func:`stats.statistics` (roll-up) with
:func:`stats.statistics_from_tips` (GROUP BY over every tip) after every step, on whichever
database the run uses; focused tests cover a deadline passing with no write, a mark arriving
during a recompute, the real intake paths, and the migration's marks for existing tips.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.db import make_engine, make_session_factory
from app.errors import InvalidInput
from app.migrate import downgrade, upgrade
from app.models import Desk, Outcome, OutcomeKind, StaffUser, StatsRollup, Tip, TipStatus
from app.services import casework, retention, stats, stats_rollup, tips, workflow
from app.services.desks import add_recovery_key, create_desk
from app.storage import FileBlobStore
from crypto.keys import generate_keypair
from tests.models.model_factory import ModelFactory
from tests.services.test_drafts import finalize, open_draft

START = date(2026, 1, 5)


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def receive(session: Session, factory: ModelFactory, desk: Desk, today: date) -> Tip:
    """A tip submitted today, with the bookkeeping ``TipIntake.complete`` does."""
    tip = factory.tip(desk=desk, received_on=today, last_activity_on=today)
    tips.set_initial_deadlines(tip, desk, today)
    session.flush()
    tips.touch(session, tip, tips.Change.SUBMITTED, today=today)
    return tip


def assert_roll_up_matches(session: Session, today: date, scopes: list[list[int] | None]) -> None:
    for desk_ids in scopes:
        expected = stats.statistics_from_tips(session, today=today, desk_ids=desk_ids)
        assert stats.statistics(session, today=today, desk_ids=desk_ids) == expected, desk_ids
    session.commit()


class RandomCasework:
    """Random changes through the services, as staff and the retention job make them."""

    def __init__(self, session: Session, tmp_path: Path, seed: int) -> None:
        self.session = session
        self.factory = ModelFactory(session)
        self.random = random.Random(seed)
        self.blob_store = FileBlobStore(tmp_path / "blobs")
        self.today = START
        self.desks = [
            self.factory.desk(name="Kenya"),
            self.factory.desk(name="Kenya"),  # desks sharing a name are one line, as in SQL
            self.factory.desk(name="France", auto_acknowledge=True),
        ]
        self.officer = self.factory.staff_user()
        self.tip_ids: list[str] = []
        # A year and a half of history before the run, so months leave the 12-month window.
        for _ in range(30):
            self.today = START - timedelta(days=self.random.randrange(540))
            self.receive()
        self.today = START
        session.commit()

    def scopes(self) -> list[list[int] | None]:
        ids = [desk.id for desk in self.desks]
        return [None, self.random.sample(ids, self.random.randint(1, len(ids)))]

    def tip(self) -> Tip | None:
        if not self.tip_ids:
            return None
        return self.session.get(Tip, self.random.choice(self.tip_ids))

    def now(self) -> datetime:
        return noon(self.today)

    def receive(self) -> None:
        tip = receive(self.session, self.factory, self.random.choice(self.desks), self.today)
        self.tip_ids.append(tip.id)

    def change_status(self) -> None:
        tip = self.tip()
        if tip is None:
            return
        wanted = self.random.choice(sorted(workflow.TRANSITIONS[tip.status]))
        outcome = None
        if wanted is TipStatus.CLOSED:
            outcome = self.random.choice(list(workflow.ClosingOutcome))
        workflow.change_status(
            self.session, tip, self.officer, wanted, now=self.now(), outcome=outcome
        )

    def extend(self) -> None:
        tip = self.tip()
        if tip is None:
            return
        try:
            workflow.extend_feedback_deadline(
                self.session, tip, self.officer, "Waiting for a platform", now=self.now()
            )
        except InvalidInput:
            self.session.rollback()

    def record_outcome(self) -> None:
        tip = self.tip()
        if tip is None:
            return
        kind = self.random.choice(list(OutcomeKind))
        amount = currency = None
        if kind in casework.KINDS_WITH_AMOUNT and self.random.random() < 0.8:
            amount = Decimal(self.random.randrange(1, 10**7)) / 100
            currency = self.random.choice(("KES", "EUR"))
        casework.record_outcome(
            self.session,
            tip,
            self.officer,
            kind=kind,
            occurred_on=self.today,
            amount=amount,
            currency=currency,
            reference_number="CR 1/2026",
            now=self.now(),
        )

    def remove_outcome(self) -> None:
        outcome_ids = list(self.session.scalars(select(Outcome.id).order_by(Outcome.id)))
        if not outcome_ids:
            return
        outcome = self.session.get_one(Outcome, self.random.choice(outcome_ids))
        tip = self.session.get_one(Tip, outcome.tip_id)
        casework.remove_outcome(self.session, tip, self.officer, outcome.id, now=self.now())

    def purge(self) -> None:
        closed = [
            tip
            for tip in map(self.session.get, [Tip] * len(self.tip_ids), self.tip_ids)
            if tip is not None and tip.status is TipStatus.CLOSED
        ]
        if not closed:
            return
        tip = self.random.choice(closed)
        retention.purge_tip(self.session, self.blob_store, tip, now=self.now())
        self.tip_ids.remove(tip.id)

    def pass_days(self) -> None:
        self.today += timedelta(days=self.random.choice((0, 1, 3, 6, 7, 8, 13, 31, 95)))

    def step(self) -> None:
        actions = {
            self.receive: 4,
            self.change_status: 5,
            self.extend: 1,
            self.record_outcome: 2,
            self.remove_outcome: 1,
            self.purge: 1,
            self.pass_days: 3,
        }
        # Sometimes several changes between two readings, so a row collects several marks.
        for _ in range(self.random.choice((1, 1, 2, 4))):
            action = self.random.choices(list(actions), weights=list(actions.values()))[0]
            action()
        self.session.commit()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_roll_up_equals_the_group_by_after_every_random_change(
    db_session: Session, tmp_path: Path, seed: int
) -> None:
    run = RandomCasework(db_session, tmp_path, seed)
    assert stats_rollup.dirty_rows(db_session) > 0
    for _ in range(70):
        run.step()
        assert_roll_up_matches(db_session, run.today, run.scopes())
    assert stats_rollup.dirty_rows(db_session) >= 0  # rows outside the window may stay dirty
    figures = stats.statistics(db_session, today=run.today)
    assert sum(count for _, count in figures.per_month) > 0


def test_a_deadline_passing_turns_due_into_missed_without_any_write(
    db_session: Session,
) -> None:
    factory = ModelFactory(db_session)
    desk = factory.desk()
    tip = receive(db_session, factory, desk, START)
    db_session.commit()
    due = tip.ack_due_on
    assert due == START + timedelta(days=7)
    on_the_day = stats.statistics(db_session, today=due)
    assert (on_the_day.acknowledgements.met, on_the_day.acknowledgements.due) == (0, 0)
    db_session.commit()
    assert stats_rollup.dirty_rows(db_session) == 0
    version = db_session.scalar(select(StatsRollup.computed_version))
    day_after = stats.statistics(db_session, today=due + timedelta(days=1))
    assert (day_after.acknowledgements.met, day_after.acknowledgements.due) == (0, 1)
    assert day_after == stats.statistics_from_tips(db_session, today=due + timedelta(days=1))
    assert db_session.scalar(select(StatsRollup.computed_version)) == version  # no recompute


def test_a_mark_that_arrives_during_a_recompute_is_not_lost(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions() as writer:
        factory = ModelFactory(writer)
        desk = factory.desk()
        officer = factory.staff_user()
        tip = receive(writer, factory, desk, START)
        writer.commit()
        desk_id, tip_id = desk.id, tip.id
    month = START.replace(day=1)
    with sessions() as reader, sessions() as writer:
        version = reader.scalar(select(StatsRollup.version))
        assert version is not None
        figures = stats_rollup.compute(reader, desk_id, month)
        reader.commit()  # the reader computed from the tips as they were
        workflow.change_status(
            writer,
            writer.get_one(Tip, tip_id),
            writer.get_one(StaffUser, officer.id),
            TipStatus.TRIAGED,
            now=noon(START),
        )
        writer.commit()
        assert not stats_rollup.store(reader, desk_id, month, version, figures)
        reader.commit()
        assert stats_rollup.dirty_rows(reader) == 1
        later = START + timedelta(days=1)
        current = stats.statistics(reader, today=later)
        assert current.statuses[TipStatus.TRIAGED] == 1
        assert current == stats.statistics_from_tips(reader, today=later)
        reader.commit()
        assert stats_rollup.dirty_rows(reader) == 0


def test_two_marks_of_a_new_month_make_one_row(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions() as first, sessions() as second:
        desk = ModelFactory(first).desk()
        first.commit()
        stats_rollup.mark(first, desk.id, START)
        first.commit()
        stats_rollup.mark(second, desk.id, START + timedelta(days=3))
        second.commit()
        rows = first.execute(select(StatsRollup.version, StatsRollup.computed_version)).all()
        assert [tuple(row) for row in rows] == [(2, 0)]


def test_a_finalized_draft_counts_at_once(db_session: Session, tmp_path: Path) -> None:
    create_desk(
        db_session, slug="kenya", name="Kenya", country_codes=["KE"], now=noon(START), actor_id=None
    )
    add_recovery_key(
        db_session,
        slug="kenya",
        public_key=generate_keypair().public_key,
        label="r",
        now=noon(START),
        actor_id=None,
    )
    db_session.commit()
    store = FileBlobStore(tmp_path / "blobs")
    created = open_draft(db_session, store, "kenya", on=START)
    assert stats.statistics(db_session, today=START).per_month[-1][1] == 0  # a draft is no tip
    finalize(db_session, store, created, on=START)
    figures = stats.statistics(db_session, today=START)
    assert figures.per_month[-1] == ("2026-01", 1)
    assert figures == stats.statistics_from_tips(db_session, today=START)


def test_tips_from_before_the_roll_up_are_counted_after_the_migration(database_url: str) -> None:
    downgrade(database_url, "0003")
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            factory = ModelFactory(session)
            desk = factory.desk()
            tip = factory.tip(desk=desk, received_on=START)
            tips.set_initial_deadlines(tip, desk, START)
            session.commit()
        upgrade(database_url)
        with make_session_factory(engine)() as session:
            assert stats_rollup.dirty_rows(session) == 1
            figures = stats.statistics(session, today=START)
            assert figures.per_month[-1] == ("2026-01", 1)
            assert figures == stats.statistics_from_tips(session, today=START)
    finally:
        engine.dispose()
