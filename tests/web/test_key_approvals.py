"""No insider path to keys: an admin cannot make themself a reader (issue 20, DESIGN §5 "Staff").

The escalation an audit found: an admin creates a prosecutor account on a desk, accepts its
invitation themself and waits — at the real prosecutor's next sign-in the desk's keys were
re-sealed to it. The same with a recovery key the admin holds. Each step must now fail, until a
prosecutor of the desk approves the newcomer explicitly, having compared the fingerprint.
"""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import UTC, datetime

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import AuditEvent, SealedKey, StaffKey, StaffRole, StaffUser, Tip
from app.services.desks import desk_recipients
from app.services.digest import build_digest, digest_text
from crypto.fingerprint import fingerprint
from crypto.keys import generate_keypair
from tests.support.canary import new_canary
from tests.web.conftest import ReceivingDesk, csrf_token_from
from tests.web.staff_steps import approve_reader, make_staff, sign_in
from tests.web.tipster_steps import every_field, submit_report


def _submit(app: Flask, slug: str, canary: str) -> str:
    before = _tip_ids(app)
    submitted = submit_report(app.test_client(), slug, every_field(canary))
    assert submitted.response.status_code == 200
    (tip_id,) = _tip_ids(app) - before
    return tip_id


def _tip_ids(app: Flask) -> set[str]:
    with app.extensions["tipline.sessions"]() as session:
        return set(session.scalars(select(Tip.id)))


def _sealed_to(app: Flask, tip_id: str, key_id: str) -> bool:
    with app.extensions["tipline.sessions"]() as session:
        found = session.scalar(
            select(SealedKey.id).where(SealedKey.tip_id == tip_id, SealedKey.key_id == key_id)
        )
        return found is not None


def _key_id_of(app: Flask, username: str) -> str:
    with app.extensions["tipline.sessions"]() as session:
        key_id = session.scalar(
            select(StaffKey.key_id)
            .join(StaffUser, StaffUser.id == StaffKey.user_id)
            .where(StaffUser.username == username)
        )
        assert key_id is not None
        return key_id


def _actions(app: Flask, after: int) -> list[str]:
    with app.extensions["tipline.sessions"]() as session:
        return list(
            session.scalars(
                select(AuditEvent.action).where(AuditEvent.id > after).order_by(AuditEvent.id)
            )
        )


def _last_event_id(app: Flask) -> int:
    with app.extensions["tipline.sessions"]() as session:
        return max(session.scalars(select(AuditEvent.id)), default=0)


def _admin_creates_and_takes_over_a_prosecutor(
    app: Flask, admin: FlaskClient, desk_slug: str
) -> FlaskClient:
    """What the malicious admin does: create the account, accept its invitation themself."""
    created = admin.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token_from(admin.get("/admin/users").text),
            "username": "mallory",
            "display_name": "Mallory",
            "role": "prosecutor",
            "desks": [desk_slug],
        },
    )
    assert created.status_code == 200
    link = re.search(r"/staff/invitation/([A-Za-z0-9_-]+)", created.text)
    assert link is not None
    takeover = app.test_client()
    invitation = takeover.get(f"/staff/invitation/{link.group(1)}").text
    secret = re.search(r"secret=([A-Z2-7]+)", html.unescape(invitation))
    assert secret is not None
    accepted = takeover.post(
        f"/staff/invitation/{link.group(1)}",
        data={
            "csrf_token": csrf_token_from(invitation),
            "password": "Quietly-takes-over-the-desk",
            "confirm": "Quietly-takes-over-the-desk",
            "totp": pyotp.TOTP(secret.group(1)).now(),
        },
    )
    assert accepted.status_code == 303, accepted.text
    return takeover


def test_an_admin_who_creates_a_prosecutor_and_signs_in_as_them_reads_nothing(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    pat = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    older_canary = new_canary()
    older = _submit(app, desk.slug, older_canary)
    sign_in(app, client, make_staff(app, "ada", StaffRole.ADMIN))
    mallory = _admin_creates_and_takes_over_a_prosecutor(app, client, desk.slug)
    mallory_key = _key_id_of(app, "mallory")

    # Step 1: the new account reads nothing of the desk.
    assert mallory.get(f"/staff/tips/{older}").status_code == 409
    # Step 2: the real prosecutor signs in; this grants nothing any more.
    pat_client = app.test_client()
    sign_in(app, pat_client, pat)
    pat_client.get("/staff/")
    assert mallory.get(f"/staff/tips/{older}").status_code == 409
    assert not _sealed_to(app, older, mallory_key)
    # Step 3: new tips are not sealed to the pending account either.
    newer = _submit(app, desk.slug, new_canary())
    assert not _sealed_to(app, newer, mallory_key)
    assert mallory.get(f"/staff/tips/{newer}").status_code == 409
    with app.extensions["tipline.sessions"]() as session:
        desk_id = session.get_one(Tip, newer).desk_id
        assert mallory_key not in {r.key_id for r in desk_recipients(session, desk_id)}
    # Step 4: the admin cannot approve: the page and the action are for prosecutors who read.
    assert client.get("/staff/approvals/").status_code == 403
    assert mallory.get("/staff/approvals/").status_code == 200
    assert "You do not read any desk" in mallory.get("/staff/approvals/").text

    # The desk is told: pat's inbox and the digest say someone waits for approval.
    assert "waiting for you to let them read" in pat_client.get("/staff/").text
    with app.extensions["tipline.sessions"]() as session:
        text = digest_text(build_digest(session, datetime.now(UTC).date()))
    assert "New readers waiting for a prosecutor's approval: 1" in text

    # Only pat's explicit approval, after comparing the fingerprint mallory's page shows, lets
    # the account in — the legitimate path.
    shown = fingerprint(base64.b64decode(_public_key_b64(app, "mallory")))
    assert shown.spoken in mallory.get("/staff/account").text
    page = pat_client.get("/staff/approvals/").text
    assert shown.spoken in page and shown.hex in page
    before = _last_event_id(app)
    approve_reader(pat_client, page, "Mallory")
    assert older_canary in mallory.get(f"/staff/tips/{older}").text
    assert mallory.get(f"/staff/tips/{newer}").status_code == 200
    actions = _actions(app, before)
    assert actions[:2] == ["desk.member_approved", "desk.keys_granted"]


def _public_key_b64(app: Flask, username: str) -> str:
    with app.extensions["tipline.sessions"]() as session:
        public_key = session.scalar(
            select(StaffKey.public_key)
            .join(StaffUser, StaffUser.id == StaffKey.user_id)
            .where(StaffUser.username == username)
        )
        assert public_key is not None
        return base64.b64encode(public_key).decode()


def test_a_recovery_key_an_admin_adds_receives_nothing_until_a_prosecutor_approves_it(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    pat = make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug])
    older = _submit(app, desk.slug, new_canary())
    sign_in(app, client, make_staff(app, "ada", StaffRole.ADMIN))
    held_by_admin = generate_keypair()
    public_file = {
        "format": "tipline-key",
        "v": 1,
        "key_id": held_by_admin.key_id,
        "public_key": base64.b64encode(held_by_admin.public_key).decode(),
    }
    page = f"/admin/desks/{desk.slug}"
    added = client.post(
        f"{page}/recovery-keys",
        data={
            "csrf_token": csrf_token_from(client.get(page).text),
            "label": "admin's own",
            "key_file": json.dumps(public_file),
        },
    )
    assert added.status_code == 303
    assert "waiting for a prosecutor of the desk to approve it" in client.get(page).text
    newer = _submit(app, desk.slug, new_canary())
    assert not _sealed_to(app, newer, held_by_admin.key_id)
    assert not _sealed_to(app, older, held_by_admin.key_id)

    pat_client = app.test_client()
    sign_in(app, pat_client, pat)
    approvals = pat_client.get("/staff/approvals/").text
    assert fingerprint(held_by_admin.public_key).spoken in approvals
    # Approving needs the comparison confirmed, and the key that was shown.
    form_action = re.search(r'action="(/staff/approvals/desks/\d+/recovery-keys/\d+)"', approvals)
    assert form_action is not None
    unconfirmed = pat_client.post(
        form_action.group(1),
        data={"csrf_token": csrf_token_from(approvals), "key_id": held_by_admin.key_id},
    )
    assert unconfirmed.status_code == 400 and "compared" in unconfirmed.text
    swapped = pat_client.post(
        form_action.group(1),
        data={
            "csrf_token": csrf_token_from(approvals),
            "key_id": generate_keypair().key_id,
            "compared": "yes",
        },
    )
    assert swapped.status_code == 409
    assert not _sealed_to(app, newer, held_by_admin.key_id)

    approve_reader(pat_client, approvals, "admin&#39;s own")
    assert _sealed_to(app, older, held_by_admin.key_id)
    assert _sealed_to(app, _submit(app, desk.slug, new_canary()), held_by_admin.key_id)
