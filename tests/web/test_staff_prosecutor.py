"""Prosecutors read, download, reply and note; nobody else can (issue 6)."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from app.config import Config
from app.models import (
    AuditEvent,
    DeskMembership,
    SealedKey,
    StaffRole,
    StaffSession,
    StaffUser,
    Tip,
)
from app.services.key_grants import revoke_desk_keys
from crypto.codes import parse_code, tipster_keypair
from tests.support.canary import canary_file, new_canary
from tests.support.reading import read_tip_as
from tests.web.conftest import ReceivingDesk, add_desk
from tests.web.staff_steps import (
    approve_reader,
    inbox_tip_ids,
    make_staff,
    post_text,
    sign_in,
)
from tests.web.test_intake_nojs import assert_canary_nowhere, only_tip_id
from tests.web.tipster_steps import every_field, log_in, submit_report


def _submit(app: Flask, slug: str, canary: str, files: list[tuple[str, bytes]] = ()) -> str:  # type: ignore[assignment]
    tipster = app.test_client()
    submitted = submit_report(tipster, slug, every_field(canary), files)
    assert submitted.response.status_code == 200, submitted.response.get_data(as_text=True)
    assert submitted.code is not None
    return submitted.code


def _rows(app: Flask, model: type, *where: object) -> list:  # type: ignore[type-arg]
    session = app.extensions["tipline.sessions"]()
    try:
        return list(session.scalars(select(model).where(*where)))  # type: ignore[arg-type]
    finally:
        session.close()


def test_a_desk_prosecutor_reads_the_tip_the_recovery_key_too(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    canary = new_canary()
    prosecutor = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    _submit(app, desk.slug, canary)
    tip_id = only_tip_id(app)

    sign_in(app, client, prosecutor)
    assert inbox_tip_ids(client) == [tip_id]
    page = client.get(f"/staff/tips/{tip_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"{canary} description" in html
    # Tipster URLs are text, never live links.
    assert f'href="https://market.example/{canary}' not in html
    assert f"https://market.example/{canary}/listing_urls" in html

    recovered = read_tip_as(
        desk.recovery, app.extensions["tipline.engine"], app.extensions["tipline.blobs"], tip_id
    )
    assert recovered[0].metadata["fields"]["description"] == f"{canary} description"


def test_what_the_tipster_wrote_is_escaped_never_html(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    prosecutor = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    _submit(app, desk.slug, '<script>alert("x")</script><img src=x onerror=alert(1)>')
    sign_in(app, client, prosecutor)
    html = client.get(f"/staff/tips/{only_tip_id(app)}").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


@pytest.mark.parametrize("role", ["officer", "admin"])
def test_officers_and_admins_get_403_and_their_sessions_hold_no_key(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, role: str
) -> None:
    desks = [desk.slug] if role == "officer" else []
    member = make_staff(app, "olive", StaffRole(role), desks)
    _submit(app, desk.slug, new_canary())
    tip_id = only_tip_id(app)
    sign_in(app, client, member)
    for path in (f"/staff/tips/{tip_id}", f"/staff/tips/{tip_id}/files/{tip_id}"):
        assert client.get(path).status_code == 403
    for path in (f"/staff/tips/{tip_id}/reply", f"/staff/tips/{tip_id}/notes"):
        assert client.post(path, data={"text": "x"}).status_code in (400, 403)
    sessions = _rows(app, StaffSession)
    assert len(sessions) == 1 and sessions[0].key_custody_blob is None


def test_a_prosecutor_of_another_desk_gets_the_same_404_as_for_no_tip(
    app: Flask, client: FlaskClient
) -> None:
    kenya = add_desk(app, "kenya", ["KE"])
    add_desk(app, "vietnam", ["VN"])
    stranger = make_staff(app, "victor", StaffRole.PROSECUTOR, ["vietnam"])
    _submit(app, kenya.slug, new_canary())
    sign_in(app, client, stranger)
    assert inbox_tip_ids(client) == []
    foreign = client.get(f"/staff/tips/{only_tip_id(app)}")
    missing = client.get(f"/staff/tips/{uuid.uuid4()}")
    # One answer, so the page never confirms that another desk's tip exists (THREAT_MODEL).
    assert foreign.status_code == missing.status_code == 404
    assert foreign.text == missing.text


def test_reply_reaches_the_tipster_notes_never_do(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    prosecutor = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    code = _submit(app, desk.slug, new_canary())
    tip_id = only_tip_id(app)
    sign_in(app, client, prosecutor)
    reply, note = new_canary("reply"), new_canary("note")
    assert post_text(client, tip_id, "reply", f"Thank you. {reply}").status_code == 303
    assert post_text(client, tip_id, "notes", f"Suspect seen before. {note}").status_code == 303
    staff_page = client.get(f"/staff/tips/{tip_id}").get_data(as_text=True)
    assert reply in staff_page and note in staff_page

    tipster = app.test_client()
    assert log_in(tipster, code).status_code == 303
    thread = tipster.get("/status/thread").get_data(as_text=True)
    assert reply in thread
    assert note not in thread

    # The tipster's own key opens the thread scope only: the note is out of its reach.
    session = app.extensions["tipline.sessions"]()
    try:
        tip = session.get(Tip, tip_id)
        assert tip is not None
        keypair = tipster_keypair(parse_code(code), tip.tip_salt)
    finally:
        session.close()
    engine, blobs = app.extensions["tipline.engine"], app.extensions["tipline.blobs"]
    opened = read_tip_as(keypair, engine, blobs, tip_id)
    assert {o.scope for o in opened} == {"thread"}
    assert any(reply in o.metadata.get("text", "") for o in opened)
    assert not any(note in str(o.metadata) for o in opened)
    internal = _rows(app, SealedKey, SealedKey.tip_id == tip_id, SealedKey.key_id == keypair.key_id)
    assert {row.scope.value for row in internal} == {"thread"}


def test_empty_or_too_long_reply_keeps_the_text_and_stores_nothing(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    prosecutor = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    _submit(app, desk.slug, new_canary())
    tip_id = only_tip_id(app)
    sign_in(app, client, prosecutor)
    blobs_before = sorted(p.name for p in (app.extensions["tipline.config"].data_dir).rglob("*"))
    assert post_text(client, tip_id, "reply", "   ").status_code == 422
    long_text = "word " * 5000
    response = post_text(client, tip_id, "notes", long_text)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "under 20000 characters" in html
    assert long_text.strip()[:200] in html  # the text comes back, nothing typed is lost
    blobs_after = sorted(p.name for p in (app.extensions["tipline.config"].data_dir).rglob("*"))
    assert blobs_after == blobs_before


def test_download_is_the_exact_file_as_an_attachment(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    prosecutor = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    canary = new_canary()
    evidence = canary_file(canary, 3 * 1024 * 1024 + 7)
    _submit(app, desk.slug, canary, [("ivory <offer>.html", evidence)])
    tip_id = only_tip_id(app)
    sign_in(app, client, prosecutor)
    html = client.get(f"/staff/tips/{tip_id}").get_data(as_text=True)
    assert hashlib.sha256(evidence).hexdigest() in html
    link = re.search(rf'href="(/staff/tips/{tip_id}/files/[0-9a-f-]+)"', html)
    assert link is not None
    response = client.get(link.group(1))
    assert response.status_code == 200
    assert response.data == evidence
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "ivory%20%3Coffer%3E.html" in response.headers["Content-Disposition"]
    assert response.headers["Content-Length"] == str(len(evidence))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    actions = [e.action for e in _rows(app, AuditEvent, AuditEvent.tip_id == tip_id)]
    assert "tip.decrypted" in actions and "file.downloaded" in actions


def test_every_decrypt_download_reply_and_note_is_audited(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    prosecutor = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    _submit(app, desk.slug, new_canary())
    tip_id = only_tip_id(app)
    sign_in(app, client, prosecutor)
    post_text(client, tip_id, "reply", "Received, thank you.")
    post_text(client, tip_id, "notes", "Check the seller's other listings.")
    events = _rows(app, AuditEvent, AuditEvent.tip_id == tip_id)
    user = _rows(app, StaffUser, StaffUser.username == "pat")[0]
    assert {e.action for e in events} >= {"tip.decrypted", "reply.sent", "note.added"}
    assert all(e.actor_user_id == user.id for e in events)


def test_nothing_readable_in_a_dump_and_the_blob_dir(
    app: Flask,
    client: FlaskClient,
    desk: ReceivingDesk,
    app_config: Config,
    private_tmpdir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    prosecutor = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    canary = new_canary()
    _submit(app, desk.slug, canary, [("photo.jpg", canary_file(canary, 100_000))])
    tip_id = only_tip_id(app)
    sign_in(app, client, prosecutor)
    client.get(f"/staff/tips/{tip_id}")
    reply, note = new_canary("reply"), new_canary("note")
    post_text(client, tip_id, "reply", reply)
    post_text(client, tip_id, "notes", note)
    for needle in (canary, reply, note, prosecutor.password):
        assert_canary_nowhere(needle, app, app_config, private_tmpdir, caplog)


def test_cookie_without_its_row_and_row_without_its_cookie_both_fail(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    prosecutor = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    _submit(app, desk.slug, new_canary())
    tip_id = only_tip_id(app)
    sign_in(app, client, prosecutor)
    cookie = client.get_cookie("tipline_staff")
    assert cookie is not None
    assert client.get(f"/staff/tips/{tip_id}").status_code == 200

    # The row with a cookie whose key half is someone else's: the custody blob won't open.
    import base64

    raw = base64.urlsafe_b64decode(cookie.value)
    forged = base64.urlsafe_b64encode(raw[:32] + bytes(32)).decode()
    thief = app.test_client()
    thief.set_cookie("tipline_staff", forged, path="/")
    assert thief.get(f"/staff/tips/{tip_id}").status_code == 303

    # The genuine cookie once its server-side row is gone (logout, expiry, or a fresh DB).
    session = app.extensions["tipline.sessions"]()
    session.execute(delete(StaffSession))
    session.commit()
    session.close()
    response = client.get(f"/staff/tips/{tip_id}")
    assert response.status_code == 303 and "/staff/login" in response.headers["Location"]


def test_sessions_end_when_idle_and_at_logout(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    prosecutor = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    sign_in(app, client, prosecutor)
    assert client.get("/staff/").status_code == 200
    session = app.extensions["tipline.sessions"]()
    row = session.scalars(select(StaffSession)).one()
    row.expires_at = row.created_at  # as if idle past the timeout
    session.commit()
    session.close()
    assert client.get("/staff/").status_code == 303
    assert _rows(app, StaffSession) == []  # the expired custody blob is deleted

    sign_in(app, client, prosecutor)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/staff/").text)
    assert token is not None
    assert client.post("/staff/logout", data={"csrf_token": token.group(1)}).status_code == 303
    assert _rows(app, StaffSession) == []
    assert client.get("/staff/").status_code == 303


def test_a_late_prosecutor_reads_older_tips_only_after_a_colleague_approves_them(
    app: Flask, desk: ReceivingDesk
) -> None:
    first = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    canary = new_canary()
    _submit(app, desk.slug, canary)
    tip_id = only_tip_id(app)
    late = make_staff(app, "lena", StaffRole.PROSECUTOR, [desk.slug])

    late_client = app.test_client()
    sign_in(app, late_client, late)
    assert "1 tip of your desks will become readable" in late_client.get("/staff/").text
    refused = late_client.get(f"/staff/tips/{tip_id}")
    assert refused.status_code == 409 and "once a colleague" in refused.text
    first_client = app.test_client()
    sign_in(app, first_client, first)
    # Signing in grants nothing any more: only an explicit approval does.
    assert late_client.get(f"/staff/tips/{tip_id}").status_code == 409
    page = first_client.get("/staff/approvals/").text
    assert "Lena" in page or "lena" in page
    approve_reader(first_client, page, "lena")
    assert canary in late_client.get(f"/staff/tips/{tip_id}").get_data(as_text=True)
    assert "will become readable" not in late_client.get("/staff/").text

    # Leaving the desk deletes the leaver's sealed keys and access.
    session = app.extensions["tipline.sessions"]()
    lena = session.scalars(select(StaffUser).where(StaffUser.username == "lena")).one()
    assert lena.key is not None
    key_id = lena.key.key_id
    assert revoke_desk_keys(session, lena.id, session.get(Tip, tip_id).desk_id) == 2  # type: ignore[union-attr]
    session.execute(delete(DeskMembership).where(DeskMembership.user_id == lena.id))
    session.commit()
    session.close()
    assert late_client.get(f"/staff/tips/{tip_id}").status_code == 404
    assert _rows(app, SealedKey, SealedKey.key_id == key_id) == []


def test_a_tampered_sealed_key_is_refused_not_shown(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    prosecutor = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    _submit(app, desk.slug, new_canary())
    tip_id = only_tip_id(app)
    session = app.extensions["tipline.sessions"]()
    user = session.scalars(select(StaffUser).where(StaffUser.username == "pat")).one()
    assert user.key is not None
    for row in session.scalars(select(SealedKey).where(SealedKey.key_id == user.key.key_id)):
        row.sealed = bytes(len(row.sealed))
    session.commit()
    session.close()
    sign_in(app, client, prosecutor)
    response = client.get(f"/staff/tips/{tip_id}")
    assert response.status_code == 500
    assert "damaged or tampered with" in response.get_data(as_text=True)
