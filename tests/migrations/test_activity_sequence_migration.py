"""Migration 0007: tips that shared an ``activity_seq`` are spread apart, in the same order and
with the same read marks, and new numbers start past the highest."""

from __future__ import annotations

import os
import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import make_engine
from app.migrate import downgrade, upgrade
from app.models import Desk, TipState
from tests.models.model_factory import ModelFactory
from tests.services.test_activity_order import submit_bare_tip

DAY = date(2026, 3, 2)
# Three numbers shared (by up to three tips), two not; one draft at 0.
OLD_NUMBERS = [1, 2, 2, 3, 3, 3, 5]


def _tip_row(desk_id: int, seq: int, state: TipState = TipState.SUBMITTED) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "desk_id": desk_id,
        "state": state.value,
        "lookup_digest": os.urandom(32),
        "tip_salt": os.urandom(16),
        "tipster_public_key": os.urandom(32),
        "thread_commitment": os.urandom(32),
        "internal_commitment": os.urandom(32),
        "received_on": DAY,
        "last_activity_on": DAY,
        "activity_seq": seq,
    }


def _unread(connection: sa.Connection) -> set[tuple[int, str]]:
    return {
        (row.user_id, row.tip_id)
        for row in connection.execute(
            sa.text(
                "SELECT tip_reads.user_id, tip_reads.tip_id FROM tip_reads"
                " JOIN tips ON tips.id = tip_reads.tip_id"
                " WHERE tip_reads.read_seq < tips.activity_seq"
            )
        )
    }


def _numbers(connection: sa.Connection) -> dict[str, int]:
    rows = connection.execute(sa.text("SELECT id, activity_seq FROM tips"))
    return {row.id: row.activity_seq for row in rows}


def test_0007_spreads_shared_numbers_keeping_order_and_read_marks(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url, "0006")
    engine = make_engine(empty_database_url)
    try:
        with Session(engine) as session:
            factory = ModelFactory(session)
            desk_id = factory.desk().id
            readers = [factory.staff_user().id, factory.staff_user().id]
            session.commit()
        rows = [_tip_row(desk_id, seq) for seq in OLD_NUMBERS]
        draft = _tip_row(desk_id, 0, TipState.DRAFT)
        # Reader 0 has read up to 2 on every tip, reader 1 up to 3: some tips stay unread.
        reads = [
            {"user_id": user_id, "tip_id": row["id"], "read_seq": read_seq}
            for user_id, read_seq in zip(readers, (2, 3), strict=True)
            for row in rows
        ]
        with engine.begin() as connection:
            insert_tip = sa.table("tips", *(sa.column(name) for name in draft)).insert()
            connection.execute(insert_tip, [*rows, draft])
            insert_read = sa.table("tip_reads", *(sa.column(name) for name in reads[0])).insert()
            connection.execute(insert_read, reads)
        with engine.connect() as connection:
            unread_before = _unread(connection)
        order_before = [
            row["id"] for row in sorted(rows, key=lambda r: (r["activity_seq"], r["id"]))
        ]

        upgrade(empty_database_url)

        with engine.connect() as connection:
            numbers = _numbers(connection)
            assert _unread(connection) == unread_before
            assert numbers.pop(str(draft["id"])) == 0
        assert len(set(numbers.values())) == len(OLD_NUMBERS)
        assert sorted(numbers, key=numbers.__getitem__) == order_before
        with Session(engine) as session:
            newest = submit_bare_tip(session, session.get_one(Desk, desk_id))
            assert newest.activity_seq == max(numbers.values()) + 1
            session.rollback()
        downgrade(empty_database_url, "0006")
        upgrade(empty_database_url)  # the numbers are unique now: nothing to spread again
        with engine.connect() as connection:
            again = _numbers(connection)
        assert {tip_id: again[tip_id] for tip_id in numbers} == numbers
    finally:
        engine.dispose()
