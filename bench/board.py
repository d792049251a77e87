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

import argparse
import os
import random
import re
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from app import create_app
from app.config import Config, Environment, StaffKdf
from app.instance import init_instance
from app.migrate import upgrade
from app.models import StaffRole, Tip, TipState, TipStatus
from app.services import stats as statistics_service
from app.services import stats_rollup
from app.services.deadlines import add_months
from app.services.desks import create_desk
from app.services.staff import create_staff_user

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "10000,100000").split(","))
REPEATS = 40
DATABASE = "tipline_bench_board"
PASSWORD = "Board-timing-" + secrets.token_hex(8)  # a throwaway account, database and run


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


def median_ms(call: Callable[[], object]) -> float:
    call()  # warm caches and plans
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def median_ms_after(prepare: Callable[[], object], call: Callable[[], object]) -> float:
    """Like :func:`median_ms`, with ``prepare`` run untimed before every call."""
    prepare()
    call()
    timings = []
    for _ in range(REPEATS):
        prepare()
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the database to inspect")
    args = parser.parse_args()
    server = create_engine(args.server, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE}"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    url = make_url(args.server).set(database=DATABASE).render_as_string(hide_password=False)
    try:
        run(url)
    finally:
        if args.keep:
            print(f"kept {url}")
        else:
            with server.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        server.dispose()


def run(url: str) -> None:
    upgrade(url)
    data_dir = Path(tempfile.mkdtemp(prefix="tipline-bench-"))
    init_instance(data_dir)
    config = Config(
        env=Environment.TESTING,
        data_dir=data_dir,
        database_url=url,
        secret_key=os.urandom(32),
        pepper=os.urandom(32),
        staff_kdf=StaffKdf(opslimit=1, memlimit=8 * 1024 * 1024),
    )
    app = create_app(config)
    engine = app.extensions["tipline.engine"]
    session = app.extensions["tipline.sessions"]()
    today = datetime.now(UTC).date()
    for slug, country in (("kenya", "KE"), ("vietnam", "VN")):
        create_desk(session, slug=slug, name=slug, country_codes=[country], today=today)
    session.flush()
    desk_ids = [row[0] for row in session.execute(text("SELECT id FROM desks ORDER BY id"))]
    create_staff_user(
        session,
        username="bench",
        role=StaffRole.OFFICER,
        desk_slugs=["kenya", "vietnam"],
        password=PASSWORD,
        now=datetime.now(UTC),
        kdf=config.staff_kdf,
    )
    session.commit()
    session.close()

    client = app.test_client()
    with engine.connect() as connection:
        secret = connection.execute(text("SELECT totp_secret FROM staff_users")).scalar_one()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page)
    assert token is not None
    form = {"csrf_token": token.group(1), "username": "bench", "password": PASSWORD}
    response = client.post("/staff/login", data=form | {"totp": pyotp.TOTP(secret).now()})
    assert response.status_code == 303, response.get_data(as_text=True)

    results: dict[int, dict[str, float]] = {}
    sessions = app.extensions["tipline.sessions"]
    dirty_month = add_months(today.replace(day=1), -2)  # a full month
    inserted = 0
    for size in SIZES:
        with engine.begin() as connection:
            while inserted < size:
                batch = min(10_000, size - inserted)
                connection.execute(insert(Tip), tip_rows(batch, inserted + 1, desk_ids))
                inserted += batch
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
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
        cursor = f"{deep[0].isoformat()}.{deep[1]}"
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
                stats_rollup.mark(session, desk_ids[0], dirty_month)
                session.commit()

        def page(path: str) -> Callable[[], object]:
            def call() -> object:
                response = client.get(path)
                assert response.status_code == 200, response.status_code
                return response

            return call

        results[size] = {
            "board overdue": median_ms(page("/staff/board/?view=overdue")),
            "due this week": median_ms(page("/staff/board/?view=due_this_week")),
            "deep page": median_ms(page(f"/staff/board/?view=open&after={cursor}")),
            "statistics page": median_ms(page("/staff/board/stats")),
            "stats, roll-up": median_ms(service(statistics_service.statistics)),
            "stats, 1 dirty": median_ms_after(
                dirty_one_month, service(statistics_service.statistics)
            ),
            "stats, GROUP BY": median_ms(service(statistics_service.statistics_from_tips)),
        }
    print(f"Board medians over {REPEATS} requests (server time, in-process):")
    small, large = SIZES
    for name in results[small]:
        a, b = results[small][name], results[large][name]
        print(
            f"  {name:<15} {small:>7,} tips {a:7.2f} ms   {large:>7,} tips {b:7.2f} ms   "
            f"ratio {b / a:4.2f}x (target <= 2x)"
        )
    app.extensions["tipline.engine"].dispose()


if __name__ == "__main__":
    main()
