"""Code login: one client's flood never locks out another, and the Argon2id work is bounded.

Limits count per Tor circuit (when the config trusts nginx's header), else per browser
session, else in one small shared pool (app/web/rate_limits.py); a worker derives at most a
few keys at once and answers "busy, try again in a minute" (503) instead of queueing
(app/services/kdf_slots.py). The limit tests run on the in-memory default and on Redis.
"""

from __future__ import annotations

import html
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import create_app
from app.models import TipsterSession
from app.services.kdf_slots import KdfSlots, ServerBusy
from app.web.rate_limits import ANONYMOUS_CODE_LOGINS, CIRCUIT_HEADER, PER_CLIENT_CODE_LOGINS
from tests.support.catalogs import use_catalog
from tests.web.conftest import add_desk, csrf_token, make_test_config
from tests.web.tipster_steps import submit_report

PER_CLIENT = int(PER_CLIENT_CODE_LOGINS.split()[0])
ANONYMOUS = int(ANONYMOUS_CODE_LOGINS.split()[0])
WRONG_CODE = "abandon " * 8


def redis_test_url() -> str:
    url = os.environ.get("TIPLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    redis.Redis.from_url(url).ping()  # Redis is required: this fails, it never skips
    return url


@pytest.fixture(params=["memory", "redis"])
def limited_app(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[Flask]:
    """The app on the in-memory default or on Redis; each app's keys are its own (the digests
    are keyed by its random secret), so nothing needs resetting between tests."""
    redis_url = redis_test_url() if request.param == "redis" else None
    config = make_test_config(database_url, tmp_path / "instance", redis_url=redis_url)
    flask_app = create_app(config)
    yield flask_app
    flask_app.extensions["tipline.engine"].dispose()


@pytest.fixture
def circuit_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    config = make_test_config(database_url, tmp_path / "instance", trust_circuit_header=True)
    flask_app = create_app(config)
    yield flask_app
    flask_app.extensions["tipline.engine"].dispose()


def valid_code(flask_app: Flask) -> str:
    desk = add_desk(flask_app, "kenya", ["KE"])
    code = submit_report(flask_app.test_client(), desk.slug, {"description": "pangolin scales"})
    assert code.code is not None
    return code.code


def attempt(client: FlaskClient, token: str, code: str, **headers: str) -> int:
    return client.post(
        "/status", data={"csrf_token": token, "code": code}, headers=headers
    ).status_code


def test_a_flood_from_one_session_never_stops_another_sessions_valid_code(
    limited_app: Flask,
) -> None:
    code = valid_code(limited_app)
    flooder, tipster = limited_app.test_client(), limited_app.test_client()
    flooder_token, tipster_token = csrf_token(flooder), csrf_token(tipster)
    flood = [attempt(flooder, flooder_token, WRONG_CODE) for _ in range(PER_CLIENT + 20)]
    assert flood[:PER_CLIENT] == [403] * PER_CLIENT
    assert set(flood[PER_CLIENT:]) == {429}
    assert attempt(tipster, tipster_token, code) == 303
    assert tipster.get("/status/thread").status_code == 200
    assert attempt(flooder, flooder_token, code) == 429  # the flooder's own budget is spent


def test_a_flood_from_one_circuit_never_stops_another_circuits_valid_code(
    circuit_app: Flask,
) -> None:
    code = valid_code(circuit_app)
    client = circuit_app.test_client()
    token = csrf_token(client)
    flooding = {CIRCUIT_HEADER: "fc00:dead:beef:4dad::1:2"}
    flood = [attempt(client, token, WRONG_CODE, **flooding) for _ in range(PER_CLIENT + 5)]
    assert flood[:PER_CLIENT] == [403] * PER_CLIENT and set(flood[PER_CLIENT:]) == {429}
    # A fresh cookie does not help on the same circuit: the circuit is what counts.
    rotated = circuit_app.test_client()
    assert attempt(rotated, csrf_token(rotated), code, **flooding) == 429
    # The same browser session on another circuit is another client.
    other = {CIRCUIT_HEADER: "fc00:dead:beef:4dad::3:4"}
    assert attempt(client, token, code, **other) == 303


def test_the_circuit_header_is_ignored_unless_the_config_trusts_it(
    limited_app: Flask,
) -> None:
    client = limited_app.test_client()
    token = csrf_token(client)
    statuses = [
        attempt(client, token, WRONG_CODE, **{CIRCUIT_HEADER: f"fc00::{n:x}"})
        for n in range(PER_CLIENT + 1)
    ]
    assert statuses[-1] == 429  # a made-up circuit per request buys no fresh budget


def test_clients_without_a_session_token_share_one_small_pool(limited_app: Flask) -> None:
    code = valid_code(limited_app)
    # The report form's page gives a CSRF token but no client token; the code page would
    # add one, so this client keeps sending the cookie it had before (the anonymous pool).
    anonymous = limited_app.test_client()
    token = csrf_token(anonymous, "/submit/report?country=KE")
    cookie = anonymous.get_cookie("tipline_session")
    assert cookie is not None
    statuses = []
    for _ in range(ANONYMOUS + 1):
        anonymous.set_cookie("tipline_session", cookie.value)
        statuses.append(attempt(anonymous, token, WRONG_CODE))
    assert statuses == [403] * ANONYMOUS + [429]
    tipster = limited_app.test_client()
    assert attempt(tipster, csrf_token(tipster), code) == 303


def test_no_circuit_id_or_client_token_reaches_the_limit_store(
    database_url: str, tmp_path: Path
) -> None:
    redis_url = redis_test_url()
    config = make_test_config(
        database_url, tmp_path / "instance", redis_url=redis_url, trust_circuit_header=True
    )
    flask_app = create_app(config)
    client = flask_app.test_client()
    token = csrf_token(client)
    circuit = "fc00:dead:beef:4dad::abcd:ef01"
    with client.session_transaction() as browser_session:
        client_token = browser_session["client_token"]
    attempt(client, token, WRONG_CODE)  # counted by session token
    attempt(client, token, WRONG_CODE, **{CIRCUIT_HEADER: circuit})  # counted by circuit
    keys = b" ".join(redis.Redis.from_url(redis_url).keys("LIMITS*"))
    assert b"code-login:session:" in keys and b"code-login:circuit:" in keys
    assert client_token.encode() not in keys
    assert circuit.encode() not in keys and b"abcd:ef01" not in keys
    flask_app.extensions["tipline.engine"].dispose()


# --- Bounded Argon2id work ------------------------------------------------------------------


@pytest.fixture
def one_slot_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    config = make_test_config(
        database_url, tmp_path / "instance", code_login_slots=1, code_login_wait_seconds=0.05
    )
    flask_app = create_app(config)
    yield flask_app
    flask_app.extensions["tipline.engine"].dispose()


def hold_every_slot(flask_app: Flask) -> tuple[threading.Event, threading.Thread]:
    """Hold the app's only key-derivation slot in another thread until the event is set."""
    slots: KdfSlots = flask_app.extensions["tipline.code_login_slots"]
    taken, release = threading.Event(), threading.Event()

    def holder() -> None:
        with slots.hold():
            taken.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    assert taken.wait(5)
    return release, thread


def test_a_worker_with_every_slot_taken_says_busy_and_locks_nobody_out(
    one_slot_app: Flask,
) -> None:
    code = valid_code(one_slot_app)
    client = one_slot_app.test_client()
    token = csrf_token(client)
    release, holder = hold_every_slot(one_slot_app)
    try:
        busy = client.post("/status", data={"csrf_token": token, "code": code})
    finally:
        release.set()
        holder.join()
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "60"
    page = busy.get_data(as_text=True)
    assert "Please try again in a minute" in page and 'href="/status"' in page
    session = one_slot_app.extensions["tipline.sessions"]()
    assert session.scalar(select(func.count()).select_from(TipsterSession)) == 0
    session.close()
    assert attempt(client, token, code) == 303  # the slot is free again: in at once


def test_the_busy_page_speaks_the_tipsters_language(one_slot_app: Flask, tmp_path: Path) -> None:
    """The page's words go through gettext: with a French catalog, a French tipster reads
    French (the real catalogs are not written yet)."""
    use_catalog(
        one_slot_app,
        tmp_path / "translations",
        "fr",
        {
            "Many people are using the tip line right now.": "Beaucoup de monde en ce moment.",
            "Please try again in a minute. Your code is not locked.": (
                "Réessayez dans une minute. Votre code n'est pas bloqué."
            ),
        },
    )
    client = one_slot_app.test_client()
    token = csrf_token(client)
    release, holder = hold_every_slot(one_slot_app)
    try:
        busy = client.post("/status?lang=fr", data={"csrf_token": token, "code": WRONG_CODE})
    finally:
        release.set()
        holder.join()
    page = html.unescape(busy.get_data(as_text=True))
    assert busy.status_code == 503
    assert "Beaucoup de monde en ce moment." in page and "Votre code n'est pas bloqué." in page
    assert '<html lang="fr"' in page


def test_every_code_login_derivation_holds_a_slot(
    one_slot_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known, unknown and malformed codes all derive inside the bound (no unguarded path)."""
    import app.services.tipster as tipster_module

    code = valid_code(one_slot_app)
    slots: KdfSlots = one_slot_app.extensions["tipline.code_login_slots"]
    held: list[bool] = []
    real_derivation = tipster_module.tipster_keypair

    def observed(canonical: bytes, tip_salt: bytes):  # type: ignore[no-untyped-def]
        free = slots._semaphore.acquire(blocking=False)
        if free:
            slots._semaphore.release()
        held.append(not free)
        return real_derivation(canonical, tip_salt)

    monkeypatch.setattr(tipster_module, "tipster_keypair", observed)
    client = one_slot_app.test_client()
    token = csrf_token(client)
    for text in (WRONG_CODE, "not a code at all", code):
        attempt(client, token, text)
    assert held == [True, True, True]


def test_the_busy_answer_is_json_for_the_api(one_slot_app: Flask) -> None:
    from app.web.errors import unavailable_response

    with one_slot_app.test_request_context("/api/v1/drafts", method="POST"):
        response = unavailable_response(busy=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert response.get_json()["error"] == "busy"


def test_kdf_slots_refuse_a_caller_after_the_wait_and_never_over_release() -> None:
    slots = KdfSlots(1, wait_seconds=0.01)
    with slots.hold(), pytest.raises(ServerBusy), slots.hold():
        pass
    with slots.hold():
        pass  # released after the refusal and after use
    with pytest.raises(ValueError):
        KdfSlots(0, wait_seconds=1)


def test_flooding_with_fresh_sessions_spends_argon2_only_inside_the_bound(
    database_url: str, tmp_path: Path
) -> None:
    """A client that discards its cookie each time gets a fresh budget (documented in
    docs/THREAT_MODEL.md): what bounds it then is the slots, never more at once."""
    config = make_test_config(database_url, tmp_path / "instance", code_login_slots=2)
    flask_app = create_app(config)
    slots: KdfSlots = flask_app.extensions["tipline.code_login_slots"]
    in_flight = peak = 0
    lock = threading.Lock()
    import app.services.tipster as tipster_module

    real_derivation = tipster_module.tipster_keypair

    def counted(canonical: bytes, tip_salt: bytes):  # type: ignore[no-untyped-def]
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            return real_derivation(canonical, tip_salt)
        finally:
            with lock:
                in_flight -= 1

    statuses: list[int] = []

    def fresh_client_attempts() -> None:
        for _ in range(5):
            client = flask_app.test_client()
            statuses.append(attempt(client, csrf_token(client), WRONG_CODE))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tipster_module, "tipster_keypair", counted)
        threads = [threading.Thread(target=fresh_client_attempts) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert peak <= slots.slots
    assert set(statuses) <= {403, 503} and 403 in statuses
    flask_app.extensions["tipline.engine"].dispose()
