"""The tipster comes back with the code: status, thread, follow-ups, burn, logout (issue 4)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.models import DeskStatusText, SealedKey, Tip, TipsterSession, TipsterStatus
from app.services.tipster import DEFAULT_STATUS_TEXTS
from tests.web.conftest import ReceivingDesk, add_desk, csrf_token, make_test_config
from tests.web.tipster_steps import log_in, send_followup, submit_report

NOT_RECOGNISED = "We could not find a tip for this code."


@pytest.fixture
def code(client: FlaskClient, desk: ReceivingDesk) -> str:
    submitted = submit_report(
        client,
        desk.slug,
        {"description": "Two live chimpanzees offered", "species": "chimpanzee"},
        [("offer.png", b"\x89PNG fake screenshot")],
    )
    assert submitted.code is not None
    return submitted.code


def db_session(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["tipline.sessions"]()


def test_code_page_shows_eight_words_and_how_to_keep_them(
    client: FlaskClient, desk: ReceivingDesk
) -> None:
    submitted = submit_report(client, desk.slug, {"description": "parrots"})
    page = submitted.response.get_data(as_text=True)
    assert len(submitted.code.split()) == 8  # type: ignore[union-attr]
    assert "Nobody can recover this code" in page
    assert "Do not keep it in your phone's notes" in page
    assert "Practice typing it" in page


def test_practice_check_accepts_the_code_typed_loosely_and_rejects_a_wrong_one(
    client: FlaskClient, code: str
) -> None:
    token = csrf_token(client)
    loose = "  " + "   ".join(word[:4].upper() for word in code.split()) + " "
    right = client.post(
        "/submit/practice", data={"csrf_token": token, "code": code, "attempt": loose}
    )
    assert "You typed your code right" in right.get_data(as_text=True)
    wrong_words = " ".join(reversed(code.split()))
    wrong = client.post(
        "/submit/practice", data={"csrf_token": token, "code": code, "attempt": wrong_words}
    )
    page = wrong.get_data(as_text=True)
    assert "That is not quite your code" in page
    assert all(word in page for word in code.split())  # shown again to compare


def test_the_code_opens_the_thread_with_status_and_report(client: FlaskClient, code: str) -> None:
    response = log_in(client, code.upper())
    assert response.status_code == 303
    page = client.get("/status/thread").get_data(as_text=True)
    assert DEFAULT_STATUS_TEXTS[TipsterStatus.RECEIVED] in page
    assert "Two live chimpanzees offered" in page
    assert "offer.png" in page


def test_the_desk_canned_text_replaces_the_default(
    app: Flask, client: FlaskClient, code: str
) -> None:
    session = db_session(app)
    tip = session.scalars(select(Tip)).one()
    session.add(
        DeskStatusText(
            desk_id=tip.desk_id,
            status=TipsterStatus.RECEIVED,
            language="en",
            text="Asante! The KWS desk has your tip.",
        )
    )
    session.commit()
    session.close()
    log_in(client, code)
    assert "Asante! The KWS desk has your tip." in client.get("/status/thread").get_data(
        as_text=True
    )


def test_unknown_wrong_and_malformed_codes_get_the_same_answer(
    client: FlaskClient, code: str
) -> None:
    words = code.split()
    attempts = [
        " ".join([*words[:7], words[0]]),  # a wrong word, valid list
        "abandon " * 8,  # a well-formed code of nobody
        "not a code at all",
    ]
    answers = []
    for attempt in attempts:
        response = log_in(client, attempt)
        answers.append((response.status_code, NOT_RECOGNISED in response.get_data(as_text=True)))
        assert "tipline_tipster" not in response.headers.get("Set-Cookie", "")
    assert answers == [(403, True)] * 3


def test_follow_up_message_appears_in_the_thread(client: FlaskClient, code: str) -> None:
    log_in(client, code)
    response = send_followup(client, "The seller moved to Telegram", [("chat.txt", b"hi")])
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your message was sent." in page
    assert "The seller moved to Telegram" in page and "chat.txt" in page


def test_empty_follow_up_is_refused_with_a_clear_message(client: FlaskClient, code: str) -> None:
    log_in(client, code)
    response = send_followup(client, "   ")
    assert response.status_code == 422
    assert "Your message is empty." in response.get_data(as_text=True)


def test_burning_the_code_needs_confirmation_and_then_it_never_works_again(
    app: Flask, client: FlaskClient, code: str
) -> None:
    log_in(client, code)
    token = csrf_token(client, "/status/burn")
    unconfirmed = client.post("/status/burn", data={"csrf_token": token})
    assert unconfirmed.status_code == 400
    assert "Please tick the box" in unconfirmed.get_data(as_text=True)

    burned = client.post("/status/burn", data={"csrf_token": token, "confirm": "y"})
    assert burned.status_code == 200
    assert "Your code no longer works" in burned.get_data(as_text=True)
    session = db_session(app)
    tip = session.scalars(select(Tip)).one()
    assert tip.lookup_digest is None and tip.tipster_public_key is None
    assert session.scalars(select(SealedKey).where(SealedKey.scope == "thread")).all()
    assert session.scalars(select(TipsterSession)).all() == []
    session.close()
    again = log_in(client, code)
    assert again.status_code == 403 and NOT_RECOGNISED in again.get_data(as_text=True)


def test_logout_ends_the_session_on_the_server(app: Flask, client: FlaskClient, code: str) -> None:
    log_in(client, code)
    assert client.get("/status/thread").status_code == 200
    token = csrf_token(client, "/status/thread")
    assert client.post("/status/logout", data={"csrf_token": token}).status_code == 303
    session = db_session(app)
    assert session.scalars(select(TipsterSession)).all() == []
    session.close()
    after = client.get("/status/thread")
    assert after.status_code == 401
    assert "Your session has ended" in after.get_data(as_text=True)


def test_session_cookie_holds_nothing_but_random_bytes(
    app: Flask, client: FlaskClient, code: str
) -> None:
    response = log_in(client, code)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("tipline_tipster=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    session = db_session(app)
    tip = session.scalars(select(Tip)).one()
    stored = session.scalars(select(TipsterSession)).one()
    session.close()
    assert tip.id not in cookie and tip.id.replace("-", "") not in cookie
    assert stored.expires_at.second == 0  # coarse: minute granularity
    assert stored.expires_at > datetime.now(UTC)


def test_idle_session_expires(database_url: str, tmp_path: Path) -> None:
    config = make_test_config(database_url, tmp_path / "i", tipster_session_idle_minutes=0)
    quick_app = create_app(config)
    receiving = add_desk(quick_app, "kenya", ["KE"])
    client = quick_app.test_client()
    code = submit_report(client, receiving.slug, {"description": "x"}).code
    assert code is not None
    assert log_in(client, code).status_code == 303
    assert client.get("/status/thread").status_code == 401
    quick_app.extensions["tipline.engine"].dispose()


def test_code_login_is_rate_limited_in_redis(database_url: str, tmp_path: Path) -> None:
    redis_url = os.environ.get("TIPLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    redis.Redis.from_url(redis_url).ping()  # Redis is required: this fails, it never skips
    config = make_test_config(database_url, tmp_path / "r", redis_url=redis_url)
    limited_app = create_app(config)
    client = limited_app.test_client()
    # No reset: the keys are digests keyed by this app's random secret, so they are this
    # test's alone (and a reset would wipe the counts of tests running beside it).
    token = csrf_token(client)
    statuses = [
        client.post("/status", data={"csrf_token": token, "code": "no such code"}).status_code
        for _ in range(31)
    ]
    assert statuses[:30] == [403] * 30
    assert statuses[30] == 429
    assert "Too many attempts" in client.post(
        "/status", data={"csrf_token": token, "code": "x"}
    ).get_data(as_text=True)
    assert redis.Redis.from_url(redis_url).keys("LIMITS*")
    limited_app.extensions["tipline.engine"].dispose()


def test_unknown_and_wrong_codes_cost_the_same_key_derivation(
    client: FlaskClient, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same work on every path, so timing tells nothing (no wall-clock assertion here)."""
    import app.services.tipster as tipster_module

    derivations: list[bytes] = []
    real_derivation = tipster_module.tipster_keypair

    def counting_derivation(canonical: bytes, tip_salt: bytes):  # type: ignore[no-untyped-def]
        derivations.append(canonical)
        return real_derivation(canonical, tip_salt)

    monkeypatch.setattr(tipster_module, "tipster_keypair", counting_derivation)
    for attempt in ("abandon " * 8, "no such words here", " ".join(reversed(code.split()))):
        derivations.clear()
        assert log_in(client, attempt).status_code == 403
        assert len(derivations) == 1, attempt
    derivations.clear()
    assert log_in(client, code).status_code == 303
    assert len(derivations) == 1
