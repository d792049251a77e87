"""The activity order (``tips.activity_seq``) under concurrency: every number drawn is unique,
and within a desk the numbers increase in the order the transactions commit (issue 20)."""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections import defaultdict
from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import make_session_factory
from app.models import Desk, Scope, Tip, TipState
from app.services import tips
from tests.models.model_factory import ModelFactory

DAY = date(2026, 3, 2)
WORKERS = 8
CHANGES_PER_WORKER = 12


def submit_bare_tip(session: Session, desk: Desk, today: date = DAY) -> Tip:
    """A submitted tip through the tip core, with no keys or objects (the order needs none)."""
    return tips.add_submitted_tip(
        session,
        tip_id=str(uuid.uuid4()),
        desk=desk,
        tipster=tips.TipsterKey(os.urandom(32), os.urandom(16), os.urandom(32)),
        commitments={scope: os.urandom(32) for scope in Scope},
        sealed_keys=[],
        objects=[],
        today=today,
    )


def test_concurrent_submissions_and_new_activity_draw_unique_numbers_in_commit_order(
    engine: Engine,
) -> None:
    sessions = make_session_factory(engine)
    with sessions() as session:
        factory = ModelFactory(session)
        desk_ids = [factory.desk().id, factory.desk().id]
        existing = {d: [submit_bare_tip(session, session.get_one(Desk, d)).id] for d in desk_ids}
        session.commit()

    committed: list[tuple[int, int]] = []  # (desk id, activity_seq) in commit order
    commit_order = threading.Lock()
    failures: list[BaseException] = []
    start = threading.Barrier(WORKERS)

    def worker(seed: int) -> None:
        chance = random.Random(seed)  # interleaving only
        start.wait(timeout=60)
        for _ in range(CHANGES_PER_WORKER):
            desk_id = chance.choice(desk_ids)
            try:
                with sessions() as session:
                    if chance.random() < 0.5:
                        tip = submit_bare_tip(session, session.get_one(Desk, desk_id))
                    else:
                        tip = session.get_one(Tip, chance.choice(existing[desk_id]))
                        tips.touch(session, tip, tips.Change.NEW_ACTIVITY, today=DAY)
                        session.flush()
                    seq = tip.activity_seq
                    # Widen the window between drawing a number and committing it.
                    threading.Event().wait(chance.uniform(0, 0.01))
                    with commit_order:  # the list's order is exactly the commit order
                        session.commit()
                        committed.append((desk_id, seq))
            except BaseException as error:  # reported below, with the others'
                failures.append(error)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert failures == []
    assert len(committed) == WORKERS * CHANGES_PER_WORKER
    numbers = [seq for _, seq in committed]
    assert len(set(numbers)) == len(numbers)
    per_desk: dict[int, list[int]] = defaultdict(list)
    for desk_id, seq in committed:
        per_desk[desk_id].append(seq)
    for desk_id, seqs in per_desk.items():
        assert seqs == sorted(seqs), desk_id
    with sessions() as session:
        shared = session.scalar(
            select(func.count())
            .select_from(Tip)
            .where(Tip.state == TipState.SUBMITTED)
            .group_by(Tip.activity_seq)
            .order_by(func.count().desc())
            .limit(1)
        )
        assert shared == 1


def test_two_submitted_tips_cannot_share_a_number_but_drafts_all_stand_at_zero(
    db_session: Session,
) -> None:
    factory = ModelFactory(db_session)
    desk = factory.desk()
    factory.tip(desk=desk, state=TipState.DRAFT, activity_seq=0)
    factory.tip(desk=desk, state=TipState.DRAFT, activity_seq=0)
    factory.tip(desk=desk, activity_seq=41)
    with pytest.raises(IntegrityError):
        factory.tip(desk=desk, activity_seq=41)


def test_the_numbers_keep_increasing_after_the_highest_tip_is_gone(db_session: Session) -> None:
    desk = ModelFactory(db_session).desk()
    newest = submit_bare_tip(db_session, desk)
    db_session.delete(newest)
    db_session.flush()
    assert submit_bare_tip(db_session, desk).activity_seq > newest.activity_seq
