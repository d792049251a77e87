"""Benchmark: the prosecutor's inbox at 10,000 and at 100,000 tips in PostgreSQL.

Creates a scratch database, migrates it, bulk-inserts tips of two desks (workflow metadata and
random stand-ins for the ciphertext digests; the inbox reads no blob), signs a prosecutor in
and times inbox pages through the app in-process (server time, no network):
  - first page, a filtered page (status), and a page deep into the keyset (cursor);
  - the median of each at 10k and at 100k tips, and the 100k/10k ratio (target < 2x).

Run: .venv/bin/python bench/staff.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyotp
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from app import create_app
from app.config import Config, Environment, StaffKdf
from app.instance import init_instance
from app.migrate import upgrade
from app.models import StaffRole, Tip, TipState, TipStatus
from app.services.desks import create_desk
from app.services.staff import create_staff_user

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "10000,100000").split(","))
REPEATS = 40
DATABASE = "tipline_bench_staff"
PASSWORD = "Inbox-timing-" + secrets.token_hex(8)  # a throwaway account, database and run


def tip_rows(count: int, start_seq: int, desk_ids: list[int]) -> list[dict[str, object]]:
    today = date(2026, 11, 1)
    statuses = list(TipStatus)
    rows = []
    for offset in range(count):
        received = today - timedelta(days=random.randrange(700))
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "desk_id": random.choice(desk_ids),
                "state": TipState.SUBMITTED.value,
                "lookup_digest": os.urandom(32),
                "tip_salt": os.urandom(16),
                "tipster_public_key": os.urandom(32),
                "thread_commitment": os.urandom(32),
                "internal_commitment": os.urandom(32),
                "status": random.choice(statuses).value,
                "priority": 0,
                "received_on": received,
                "ack_due_on": received + timedelta(days=7),
                "last_activity_on": received,
                "activity_seq": start_seq + offset,
            }
        )
    return rows


def median_ms(call: Callable[[], object]) -> float:
    call()  # warm caches and plans
    timings = []
    for _ in range(REPEATS):
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
        role=StaffRole.PROSECUTOR,
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
                    "SELECT activity_seq, id FROM tips ORDER BY activity_seq DESC, id DESC "
                    "OFFSET 5000 LIMIT 1"
                )
            ).one()
        cursor = f"{deep[0]}.{deep[1]}"

        def page(query: str) -> Callable[[], object]:
            def call() -> object:
                response = client.get(f"/staff/{query}")
                assert response.status_code == 200, response.status_code
                return response

            return call

        results[size] = {
            "first page": median_ms(page("")),
            "status filter": median_ms(page("?status=investigating")),
            "deep page": median_ms(page(f"?after={cursor}")),
        }
    print(f"Inbox medians over {REPEATS} requests (server time, in-process):")
    small, large = SIZES
    for name in results[small]:
        a, b = results[small][name], results[large][name]
        print(
            f"  {name:<14} {small:>7,} tips {a:7.2f} ms   {large:>7,} tips {b:7.2f} ms   "
            f"ratio {b / a:4.2f}x (target < 2x)"
        )
    app.extensions["tipline.engine"].dispose()


if __name__ == "__main__":
    main()
