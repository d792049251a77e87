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

import os
import random
import uuid
from datetime import date, timedelta

from sqlalchemy import text
from staff_pages import SIZES, load_tips, median_ms, page, print_ratios, scratch_database
from staff_pages import signed_in_app as staff_app

from app.models import StaffRole, TipState, TipStatus
from app.services.inbox import CURSOR as INBOX_CURSOR

DATABASE = "tipline_bench_staff"


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


def main() -> None:
    with scratch_database(DATABASE, __doc__.split("\n")[0]) as url:
        run(url)


def run(url: str) -> None:
    bench = staff_app(url, StaffRole.PROSECUTOR)
    results: dict[int, dict[str, float]] = {}
    inserted = 0
    for size in SIZES:
        inserted = load_tips(bench.engine, tip_rows, inserted, size, bench.desk_ids)
        with bench.engine.connect() as connection:
            deep = connection.execute(
                text(
                    "SELECT activity_seq, id FROM tips ORDER BY activity_seq DESC, id DESC "
                    "OFFSET :n LIMIT 1"
                ),
                {"n": min(5000, size // 2)},  # page 100, or the middle of a small run
            ).one()
        cursor = INBOX_CURSOR.encode(deep[0], deep[1])
        results[size] = {
            "first page": median_ms(page(bench.client, "/staff/")),
            "status filter": median_ms(page(bench.client, "/staff/?status=investigating")),
            "deep page": median_ms(page(bench.client, f"/staff/?after={cursor}")),
        }
    print_ratios("Inbox", results)
    bench.engine.dispose()


if __name__ == "__main__":
    main()
