"""Benchmark: the case officers' board and statistics at 10,000 and 100,000 tips (PostgreSQL).

Creates a scratch database, migrates it, bulk-inserts tips of two desks with realistic workflow
metadata (received over two years; most older tips closed, recent ones open, some overdue;
random stand-ins for the ciphertext digests: the board reads no blob), signs an officer in and
times pages through the app in-process (server time, no network):
  - the board's overdue view (with the digest panel), due this week, a deep keyset page;
  - the statistics page, computed at every request from the roll-up (app.services.stats_rollup),
    warm: after bulk-loading, every desk-month is marked and computed once, untimed;
  - the statistics service alone on the warm roll-up, and with one desk-month dirty (a change
    in a full month of ~N/48 tips just before; the row is recomputed from its tips);
  - for comparison, the old SQL GROUP BY over every tip of 12 months (the tests' reference);
  - the median of each at 10k and at 100k tips, and the 100k/10k ratio (target <= 2x).

Run: .venv/bin/python bench/board.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
Never run as a timed test: these machines are shared and noisy.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from staff_pages import SIZES, load_tips, median_ms, page, print_ratios, scratch_database
from staff_pages import signed_in_app as staff_app

from app.models import StaffRole, TipState, TipStatus
from app.services import stats as statistics_service
from app.services import stats_rollup
from app.services.board import CURSOR as BOARD_CURSOR
from app.services.deadlines import add_months

DATABASE = "tipline_bench_board"


def tip_rows(count: int, start_seq: int, desk_ids: list[int]) -> list[dict[str, object]]:
    today = datetime.now(UTC).date()
    rows = []
    for offset in range(count):
        received = today - timedelta(days=random.randrange(730))
        age = (today - received).days
        ack_due = received + timedelta(days=7)
        row: dict[str, object] = {
            "id": str(uuid.uuid4()),
            "desk_id": random.choice(desk_ids),
            "state": TipState.SUBMITTED.value,
            "lookup_digest": os.urandom(32),
            "tip_salt": os.urandom(16),
            "tipster_public_key": os.urandom(32),
            "thread_commitment": os.urandom(32),
            "internal_commitment": os.urandom(32),
            "priority": random.choice((0, 0, 0, 1, 2)),
            "received_on": received,
            "ack_due_on": ack_due,
            "last_activity_on": received,
            "activity_seq": start_seq + offset,
        }
        acknowledged = None
        if age > 3 and random.random() < 0.95:
            acknowledged = received + timedelta(days=random.randrange(min(age, 10) + 1))
        feedback_due = add_months(acknowledged or ack_due, 3)
        given = None
        if acknowledged and age > 60 and random.random() < 0.9:
            given = acknowledged + timedelta(days=random.randrange(min(age - 3, 120)))
        status = TipStatus.RECEIVED
        if acknowledged:
            status = random.choice(
                (TipStatus.ACKNOWLEDGED, TipStatus.TRIAGED, TipStatus.INVESTIGATING)
            )
        closed = None
        if given:
            status = TipStatus.FEEDBACK_GIVEN
            if age > 120 and random.random() < 0.85:
                status, closed = TipStatus.CLOSED, given
        next_due = None
        if status is not TipStatus.CLOSED:
            next_due = ack_due if acknowledged is None else (None if given else feedback_due)
        row |= {
            "status": status.value,
            "acknowledged_on": acknowledged,
            "feedback_due_on": feedback_due,
            "feedback_given_on": given,
            "closed_on": closed,
            "outcome": "action_taken" if closed else None,
            "next_due_on": next_due,
        }
        rows.append(row)
    return rows


def main() -> None:
    with scratch_database(DATABASE, __doc__.split("\n")[0]) as url:
        run(url)


def run(url: str) -> None:
    bench = staff_app(url, StaffRole.OFFICER)
    sessions = bench.app.extensions["tipline.sessions"]
    today = datetime.now(UTC).date()
    results: dict[int, dict[str, float]] = {}
    dirty_month = add_months(today.replace(day=1), -2)  # a full month
    inserted = 0
    for size in SIZES:
        inserted = load_tips(bench.engine, tip_rows, inserted, size, bench.desk_ids)
        with bench.engine.connect() as connection:
            deep = connection.execute(
                text(
                    "SELECT next_due_on, id FROM tips WHERE next_due_on IS NOT NULL "
                    "ORDER BY next_due_on, id OFFSET :n LIMIT 1"
                ),
                {"n": size // 100},
            ).one()
            open_tips = connection.execute(
                text("SELECT count(*) FROM tips WHERE next_due_on IS NOT NULL")
            ).scalar_one()
        cursor = BOARD_CURSOR.encode(deep[0], deep[1])
        print(f"{size:,} tips, {open_tips:,} with an open deadline")

        with sessions() as session:
            # The bulk load bypassed the services' marks: mark every desk-month, compute once.
            marked = stats_rollup.mark_every_desk_month(session)
            session.commit()
            started = time.perf_counter()
            figures = statistics_service.statistics(session, today=today)
            session.commit()
            rebuild_ms = (time.perf_counter() - started) * 1000
            # Months older than the 12 shown stay dirty: no page reads them.
            assert figures == statistics_service.statistics_from_tips(session, today=today)
        print(f"  {marked} desk-months marked; the 12 months shown computed in {rebuild_ms:.0f} ms")

        def service(compute: Callable[..., object]) -> Callable[[], object]:
            def call() -> object:
                with sessions() as session:
                    figures = compute(session, today=today)
                    session.commit()
                    return figures

            return call

        def dirty_one_month() -> None:
            with sessions() as session:
                stats_rollup.mark(session, bench.desk_ids[0], dirty_month)
                session.commit()

        results[size] = {
            "board overdue": median_ms(page(bench.client, "/staff/board/?view=overdue")),
            "due this week": median_ms(page(bench.client, "/staff/board/?view=due_this_week")),
            "deep page": median_ms(page(bench.client, f"/staff/board/?view=open&after={cursor}")),
            "statistics page": median_ms(page(bench.client, "/staff/board/stats")),
            "stats, roll-up": median_ms(service(statistics_service.statistics)),
            "stats, 1 dirty": median_ms(
                service(statistics_service.statistics), prepare=dirty_one_month
            ),
            "stats, GROUP BY": median_ms(service(statistics_service.statistics_from_tips)),
        }
    print_ratios("Board", results)
    bench.engine.dispose()


if __name__ == "__main__":
    main()
