"""What the staff-page benchmarks share: a scratch PostgreSQL database, an app on it with two
desks and one signed-in staff member, bulk tip loading, medians and the ratio table.

Imported by bench/staff.py and bench/board.py, and for its scratch database by
bench/intake_text.py (run as scripts, so this directory is on ``sys.path``). The account,
database and secrets are throwaway: made and dropped per run.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from app import create_app
from app.config import Config, Environment, StaffKdf
from app.instance import init_instance
from app.migrate import upgrade
from app.models import StaffRole, Tip
from app.services.desks import create_desk
from app.services.staff import create_staff_user

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "10000,100000").split(","))
REPEATS = 40
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
TipRows = Callable[[int, int, list[int]], list[dict[str, object]]]


def median_ms(call: Callable[[], object], prepare: Callable[[], object] | None = None) -> float:
    """Median of REPEATS timed calls after one warm-up; ``prepare`` runs untimed before each."""
    if prepare:
        prepare()
    call()  # warm caches and plans
    timings = []
    for _ in range(REPEATS):
        if prepare:
            prepare()
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


@contextmanager
def scratch_database(name: str, description: str) -> Iterator[str]:
    """Parse ``--server``/``--keep``, create a database of its own (``name`` plus a random
    suffix, so two runs at once never share or drop each other's), yield its URL, drop it
    after."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--keep", action="store_true", help="keep the database to inspect")
    args = parser.parse_args()
    with created_database(args.server, name, keep=args.keep) as url:
        yield url


@contextmanager
def created_database(server_url: str, name: str, *, keep: bool = False) -> Iterator[str]:
    """A new database on ``server_url`` named ``name`` plus a random suffix (so two runs at
    once never share or drop each other's); yields its URL, drops it after unless ``keep``."""
    name = f"{name}_{secrets.token_hex(4)}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        if keep:
            print(f"kept {url}")
        else:
            with server.connect() as connection:
                # Only this run's database: the name is unique to it.
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        server.dispose()


@dataclass(frozen=True)
class StaffBench:
    app: Flask
    engine: Engine
    client: FlaskClient  # signed in
    desk_ids: list[int]


def signed_in_app(url: str, role: StaffRole) -> StaffBench:
    """Migrate, make desks 'kenya' and 'vietnam' and one member of both, and sign them in."""
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
    password = "Page-timing-" + secrets.token_hex(8)
    with app.extensions["tipline.sessions"]() as session:
        for slug, country in (("kenya", "KE"), ("vietnam", "VN")):
            create_desk(
                session,
                slug=slug,
                name=slug,
                country_codes=[country],
                now=datetime.now(UTC),
                actor_id=None,
            )
        session.flush()
        desk_ids = list(session.scalars(text("SELECT id FROM desks ORDER BY id")))
        created = create_staff_user(
            session,
            username="bench",
            role=role,
            desk_slugs=["kenya", "vietnam"],
            password=password,
            now=datetime.now(UTC),
            kdf=config.staff_kdf,
            actor_id=None,
        )
        session.commit()
        secret = created.totp_secret
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page)
    assert token is not None
    form = {"csrf_token": token.group(1), "username": "bench", "password": password}
    response = client.post("/staff/login", data=form | {"totp": pyotp.TOTP(secret).now()})
    assert response.status_code == 303, response.get_data(as_text=True)
    return StaffBench(app, app.extensions["tipline.engine"], client, desk_ids)


def load_tips(engine: Engine, rows: TipRows, have: int, want: int, desk_ids: list[int]) -> int:
    """Bulk-insert tips until there are ``want`` (10,000 per statement), then ANALYZE."""
    with engine.begin() as connection:
        while have < want:
            batch = min(10_000, want - have)
            connection.execute(insert(Tip), rows(batch, have + 1, desk_ids))
            have += batch
        # The rows carry their own activity numbers: move the sequence past them, so that new
        # activity in the app draws a number no loaded tip holds (migration 0007).
        connection.execute(text("SELECT setval('tips_activity_seq', max(activity_seq)) FROM tips"))
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
    return have


def page(client: FlaskClient, path: str) -> Callable[[], object]:
    """A call that GETs ``path`` and insists on 200."""

    def call() -> object:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    return call


def print_ratios(title: str, results: dict[int, dict[str, float]]) -> None:
    print(f"{title} medians over {REPEATS} requests (server time, in-process):")
    small, large = SIZES
    for name in results[small]:
        a, b = results[small][name], results[large][name]
        print(
            f"  {name:<15} {small:>7,} tips {a:7.2f} ms   {large:>7,} tips {b:7.2f} ms   "
            f"ratio {b / a:4.2f}x (target <= 2x)"
        )
