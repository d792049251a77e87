"""The scenarios of tests/services/test_audit_completeness.py: each sets the stage for one
request or command, and returns the request unsent (or the command's arguments).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pyotp
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.models import Outcome, PreservationRequest
from crypto.codes import generate_code
from crypto.keyfile import dump_key_file
from crypto.keys import generate_keypair
from tests.crypto.bundle_factory import build_bundle
from tests.services.audit_stage import (
    ADMIN,
    OFFICER,
    PROSECUTOR,
    Act,
    Stage,
    new_password,
    public_key_file,
)
from tests.web.api_steps import DRAFTS, PythonBrowser, plan
from tests.web.conftest import csrf_token
from tests.web.staff_steps import StaffAccount, make_staff
from tests.web.test_digest import Inbox, free_port
from tests.web.tipster_steps import submit_report


def done(act: Act) -> None:
    """Run a step a scenario needs before its own action (it must succeed)."""
    response = act()
    assert response.status_code in (200, 303), response.get_data(as_text=True)


# --- Routes -----------------------------------------------------------------------------


def submit_a_tip(s: Stage) -> Act:
    token, slug, fields = csrf_token(s.client), s.desk.slug, {"description": "pangolin scales"}
    return lambda: submit_report(s.client, slug, fields, token=token).response


def practise_the_code(s: Stage) -> Act:
    code = generate_code("english")
    return s.form("/status", "/submit/practice", code=code, attempt=code)


def come_back_with_the_code(s: Stage) -> Act:
    return s.form("/status", "/status", code=s.tipster_code())


def burn_the_code(s: Stage) -> Act:
    return s.tipster_signed_in().form("/status/burn", "/status/burn", confirm="y")


def leave_the_thread(s: Stage) -> Act:
    return s.tipster_signed_in().form("/status/thread", "/status/logout")


def send_a_follow_up(s: Stage) -> Act:
    token = s.tipster_signed_in().token("/status/thread")
    data = {"csrf_token": token, "message": "The seller posts again on Friday."}
    return lambda: s.client.post("/status/messages", data=data, content_type="multipart/form-data")


def open_a_draft(s: Stage) -> Act:
    browser, slug = PythonBrowser(s.client, plan({"description": "pangolin scales"})), s.desk.slug
    return lambda: browser.create(slug)


def upload_a_chunk(s: Stage) -> Act:
    browser = s.draft()
    return lambda: browser.send(0, 0, browser.ciphertexts[0])


def finalize_a_draft(s: Stage) -> Act:
    browser = s.draft()
    browser.upload_all()
    return browser.finalize


def discard_a_draft(s: Stage) -> Act:
    browser = s.draft()
    path = f"{DRAFTS}/{browser.draft_id}"
    return lambda: s.client.delete(path, headers=browser.headers())


def sign_in_form(s: Stage, account: StaffAccount, **override: str) -> Act:
    s.actor = account.username
    fields = {
        "csrf_token": s.token("/staff/login"),
        "username": account.username,
        "password": account.password,
        "totp": s.code_for(account),
        **override,
    }
    return lambda: s.client.post("/staff/login", data=fields)


def sign_in(s: Stage) -> Act:
    return sign_in_form(s, s.account("ada", ADMIN))


def sign_in_wrongly(s: Stage) -> Act:
    return sign_in_form(s, s.account("ada", ADMIN), password="Not-the-password-1")


def sign_in_forged(s: Stage) -> Act:
    return sign_in_form(s, s.account("ada", ADMIN), csrf_token="forged")


def sign_out(s: Stage) -> Act:
    return s.as_admin().form("/staff/account", "/staff/logout")


def accept_an_invitation(s: Stage) -> Act:
    invited = s.invitation("ines")
    s.actor = invited.username
    password, page = new_password(), f"/staff/invitation/{invited.token}"
    code = pyotp.TOTP(invited.totp_secret).now()
    return s.form(page, page, password=password, confirm=password, totp=code)


def change_password(s: Stage) -> Act:
    olga = s.account("olga", OFFICER)
    s.signed_in(olga)
    password = new_password()
    return s.form(
        "/staff/account",
        "/staff/account",
        current=olga.password,
        password=password,
        confirm=password,
        totp=s.code_for(olga),
    )


def on_a_tip(action: str, **data: str) -> Callable[[Stage], Act]:
    """A prosecutor's form on the tip page (reading the page for its token is audited too)."""

    def arrange(s: Stage) -> Act:
        tip = s.reading_prosecutor()
        return s.form(f"/staff/tips/{tip}", f"/staff/tips/{tip}/{action}", **data)

    return arrange


def read_a_tip(s: Stage) -> Act:
    return s.get(f"/staff/tips/{s.reading_prosecutor()}")


def download_a_file(s: Stage) -> Act:
    tip = s.reading_prosecutor((("evidence.jpg", b"x" * 5000),))
    return s.get(f"/staff/tips/{tip}/files/{s.file_of(tip)}")


def approve(s: Stage, action: str, compared_key_id: str) -> Act:
    """A reader of the desk (holding a new tip's keys) approves on the approvals page."""
    s.reading_prosecutor()
    path = f"/staff/approvals/desks/{s.desk_id}/{action}"
    return s.form("/staff/approvals/", path, compared="yes", key_id=compared_key_id)


def approve_a_prosecutor(s: Stage) -> Act:
    user_id, key_id = s.pending_prosecutor("quinn")
    return approve(s, f"members/{user_id}", key_id)


def share_older_tips(s: Stage) -> Act:
    s.tip()
    s.account("quinn", PROSECUTOR)  # the command line approves at once; older tips wait
    user_id, key_id = s.user_key("quinn")
    return approve(s, f"members/{user_id}", key_id)


def approve_a_key(s: Stage) -> Act:
    recovery_key_id, key_id = s.pending_recovery_key()
    return approve(s, f"recovery-keys/{recovery_key_id}", key_id)


def create_a_desk(s: Stage) -> Act:
    return s.as_admin().form(
        "/admin/desks", "/admin/desks", slug="vietnam", name="Viet Nam", countries="VN"
    )


def rename_the_desk(s: Stage) -> Act:
    return s.as_admin().desk_form(
        "", name="Kenya — KWS", countries="KE TZ", languages="en", retention_days="365"
    )


def set_a_status_text(s: Stage) -> Act:
    return s.as_admin().desk_form(
        "/status-text", status="received", language="en", text="We have it."
    )


def set_the_guidance(s: Stage) -> Act:
    return s.as_admin().desk_form("/guidance", language="en", markdown="**Never buy.**")


def paste_a_recovery_key(s: Stage) -> Act:
    key_file = public_key_file(generate_keypair()).decode()
    return s.as_admin().desk_form("/recovery-keys", label="vault", key_file=key_file)


def invite_an_officer(s: Stage) -> Act:
    return s.as_admin().form(
        "/admin/users", "/admin/users", username="vo", role="officer", desks=s.desk.slug
    )


def add_a_member(s: Stage) -> Act:
    s.as_admin()
    make_staff(s.app, "omar", OFFICER)
    return s.desk_form("/members", username="omar")


def remove_a_member(s: Stage) -> Act:
    s.as_admin()
    s.account("olga", OFFICER)
    return s.desk_form("/members/olga/remove")


def disable_an_account(s: Stage) -> Act:
    s.as_admin()
    s.account("olga", OFFICER)
    return s.form("/admin/users", "/admin/users/olga/disable")


def on_the_board(action: str, **data: str) -> Callable[[Stage], Act]:
    """An officer's form on the board page of a new tip."""

    def arrange(s: Stage) -> Act:
        tip = s.tip()
        return s.as_officer().board(tip, action, **data)

    return arrange


def assign_the_tip(s: Stage) -> Act:
    tip = s.tip()
    return s.as_officer().board(tip, "assignee", assignee=str(s.user_id("olga")))


def extend_the_feedback_deadline(s: Stage) -> Act:
    tip = s.tip()
    done(s.as_officer().board(tip, "status", status="acknowledged"))
    return s.board(tip, "extension", reason="Waiting for the platform's records.")


def request_preservation(s: Stage) -> Act:
    return on_the_board("preservation", platform="Instagram", sent_on=today())(s)


def extend_preservation(s: Stage) -> Act:
    tip = s.tip()
    done(s.as_officer().board(tip, "preservation", platform="Instagram", sent_on=today()))
    request_id = s.scalar(select(PreservationRequest.id).where(PreservationRequest.tip_id == tip))
    return s.board(tip, f"preservation/{request_id}/extend")


def record_an_outcome(s: Stage) -> Act:
    return on_the_board("outcomes", kind="seizure", occurred_on=today())(s)


def remove_an_outcome(s: Stage) -> Act:
    tip = s.tip()
    done(s.as_officer().board(tip, "outcomes", kind="seizure", occurred_on=today()))
    outcome_id = s.scalar(select(Outcome.id).where(Outcome.tip_id == tip))
    return s.board(tip, f"outcomes/{outcome_id}/remove")


def today() -> str:
    return datetime.now(UTC).date().isoformat()


# --- Commands ---------------------------------------------------------------------------


def add_a_desk(_s: Stage) -> list[str]:
    return ["desks", "add", "vietnam", "--name", "Viet Nam desk", "--country", "VN"]


def add_an_officer(s: Stage) -> list[str]:
    return ["users", "add", "vo", "--role", "officer", "--desk", s.desk.slug]


def disable_an_officer(s: Stage) -> list[str]:
    return ["users", "disable", s.account("olga", OFFICER).username]


def join_the_desk(s: Stage) -> list[str]:
    omar = make_staff(s.app, "omar", OFFICER)  # on no desk yet
    return ["users", "join", omar.username, s.desk.slug]


def leave_the_desk(s: Stage) -> list[str]:
    return ["users", "leave", s.account("olga", OFFICER).username, s.desk.slug]


def generate_a_key_file(s: Stage) -> list[str]:
    return ["keys", "generate", "--out", str(s.tmp_path / "new.key")]


def a_public_key_file(s: Stage) -> str:
    key_file = s.tmp_path / "recovery.pub.json"
    key_file.write_bytes(public_key_file(generate_keypair()))
    return str(key_file)


def add_a_key(s: Stage) -> list[str]:
    return ["desks", "add-recovery-key", s.desk.slug, a_public_key_file(s)]


def fingerprint_a_key_file(s: Stage) -> list[str]:
    return ["keys", "fingerprint", a_public_key_file(s)]


def decrypt_a_bundle(s: Stage) -> list[str]:
    built = build_bundle(s.tmp_path / "tip.zip")
    key_file = s.tmp_path / "recovery.key"
    key_file.write_bytes(dump_key_file(built.recipient))
    return ["decrypt", "--key", str(key_file), str(built.path), "--out", str(s.tmp_path / "out")]


def an_expired_draft(s: Stage) -> list[str]:
    s.expire(s.draft())
    return ["purge-drafts"]


def an_expired_tip_and_draft(s: Stage) -> list[str]:
    s.closed_long_ago(s.tip((("evidence.jpg", b"x" * 5000),)))
    s.expire(s.draft())
    return ["purge"]


def a_mail_server(s: Stage) -> list[str]:
    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    s.cleanup.callback(controller.stop)
    s.cli_env |= {
        "TIPLINE_SMTP_HOST": "127.0.0.1",
        "TIPLINE_SMTP_PORT": str(port),
        "TIPLINE_SMTP_SECURITY": "none",
        "TIPLINE_SMTP_FROM": "tipline@desk.example",
        "TIPLINE_DIGEST_TO": "officers@desk.example",
    }
    s.tip()
    return ["digest", "send"]
