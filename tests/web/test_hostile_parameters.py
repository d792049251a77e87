"""Every route, every parameter, every hostile value: a 4xx with a message, never a 5xx (issue 20).

One explicit table (:func:`route_table`) names, for every endpoint of the app, who may call it
and a plausible value for each of its path variables, query parameters, form fields, JSON
fields and headers. The test replaces one parameter at a time by each value of
:data:`HOSTILE`, the others keeping their plausible values, and sends the request as each role
the route admits. A test checks that the table covers every rule of ``app.url_map`` and every
parameter name the views read, so a new route or parameter cannot be left out.

Control characters only fail on PostgreSQL (``DataError`` for a NUL): run this file once with
``TIPLINE_TEST_DATABASE_URL`` too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from app.models import Desk, DeskRecoveryKey, StaffRole, StaffUser
from app.security import limiter
from app.services.report_form import REPORT_FIELDS
from tests.web.api_steps import PythonBrowser, plan
from tests.web.conftest import ReceivingDesk, csrf_token_from
from tests.web.staff_steps import inbox_tip_ids, make_staff, sign_in
from tests.web.tipster_steps import every_field, log_in, submit_report

REPO = Path(__file__).resolve().parents[2]

HOSTILE = {
    "NUL": "a\x00b",
    "unit separator": "\x1f",
    "10,000 characters": "x" * 10_000,
    "300 characters": "ü" * 300,  # past every name column, within what the guard lets by
    "superscript two": "²",
    "40-digit number": "1" * 40,
    "minus one": "-1",
    "non-canonical UUID": "5F0C7A1E5B2A4E0C9D1E2F3A4B5C6D7E",
    "percent-encoded": "%C2%B2",
    "parent directory": "../",
    "emoji": "🦏",
}

TODAY = date.today().isoformat()
CSRF = "<csrf>"  # replaced by the token of the client that sends the request

ANYONE = "anyone"
TIPSTER = "tipster"
OFFICER = "officer"
PROSECUTOR = "prosecutor"
ADMIN = "admin"
SPARE = "spare"  # an officer whose wrong passwords and codes may lock their own account
CASE_WORKERS = (OFFICER, PROSECUTOR)
EVERY_STAFF_ROLE = (OFFICER, PROSECUTOR, ADMIN)


@dataclass(frozen=True)
class Route:
    """Who calls an endpoint, and a plausible value for each parameter it reads."""

    roles: tuple[str, ...]
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)  # urlencoded, on POST
    multipart: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # an application/octet-stream body
    post_roles: tuple[str, ...] | None = None  # when POST is for other roles than GET
    last: bool = False  # ends the caller's session (logout, burn): sent after the others


@dataclass(frozen=True)
class World:
    """What the plausible values refer to: a desk, a tip with a file, workflow rows, a draft."""

    tip_id: str
    file_id: str
    preservation_id: str
    outcome_id: str
    desk_id: str
    officer_id: str
    recovery_key_id: str
    invitation: str
    draft_id: str
    draft_object_id: str
    draft_token: str


# Values of the right shape for every path variable, for the tests that need no real rows.
SHAPED = World(
    tip_id=str(uuid.uuid4()),
    file_id=str(uuid.uuid4()),
    preservation_id="1",
    outcome_id="1",
    desk_id="1",
    officer_id="1",
    recovery_key_id="1",
    invitation="token",
    draft_id=str(uuid.uuid4()),
    draft_object_id=str(uuid.uuid4()),
    draft_token="token",
)


def route_table(w: World) -> dict[str, Route]:
    tip = {"tip_id": w.tip_id}
    desk = {"slug": "kenya"}
    # validate_report checks a field by its kind: one field of each kind stands for the rest.
    first_of_kind = {field.kind: field.name for field in reversed(REPORT_FIELDS)}
    report = {name: "" for name in first_of_kind.values()}
    chunk_path = {"draft_id": w.draft_id, "object_id": w.draft_object_id}
    bearer = {"Authorization": f"Bearer {w.draft_token}"}
    approve = {"csrf_token": CSRF, "compared": "yes", "key_id": "0" * 32}
    return {
        # Public and tipster pages
        "public.index": Route((ANYONE,), query={"lang": "en"}),
        "public.healthz": Route((ANYONE,)),
        "static": Route((ANYONE,), path={"filename": "css/tipline.css"}),
        "vendor.asset": Route((ANYONE,), path={"name": "intake.js"}),
        "tipster.choose_desk": Route((ANYONE,), query={"lang": "fr"}),
        "tipster.report_form": Route((ANYONE,), query={"country": "KE", "lang": "en"}),
        # The description is empty unless it is the hostile field, so that the others are
        # validated without every request filing a tip.
        "tipster.submit": Route(
            (ANYONE,), path=desk, multipart={"csrf_token": CSRF, **report}, query={"lang": "en"}
        ),
        "tipster.practice_code": Route(
            (ANYONE,), form={"csrf_token": CSRF, "code": "a b c", "attempt": "a b c"}
        ),
        "tipster.login": Route((ANYONE,), query={"lang": "en"}),
        "tipster.login_submit": Route((ANYONE,), form={"csrf_token": CSRF, "code": "a b c"}),
        "tipster.thread": Route((TIPSTER,), query={"sent": "1", "lang": "en"}),
        "tipster.send_message": Route(
            (TIPSTER,), multipart={"csrf_token": CSRF, "message": "more details"}
        ),
        "tipster.burn_confirm": Route((TIPSTER,)),
        "tipster.burn": Route((TIPSTER,), form={"csrf_token": CSRF, "confirm": "y"}, last=True),
        "tipster.logout": Route((TIPSTER,), form={"csrf_token": CSRF}, last=True),
        # The browser intake's API
        "api.openapi": Route((ANYONE,)),
        "api.create_draft": Route(
            (ANYONE,),
            json={
                "desk": "kenya",
                "lang": "en",
                "objects": [{"kind": "report", "ciphertext_size": 4096}],
            },
        ),
        "api.read_draft": Route((ANYONE,), path={"draft_id": w.draft_id}, headers=bearer),
        "api.discard_draft": Route((ANYONE,), path={"draft_id": w.draft_id}),
        "api.append_chunk": Route(
            (ANYONE,),
            path=chunk_path,
            query={"offset": "0"},
            headers=bearer,
            body=b"\x00" * 64,
        ),
        "api.finalize_draft": Route(
            (ANYONE,),
            path={"draft_id": w.draft_id},
            headers=bearer,
            json={"commitments": {"thread": "AAAA", "internal": "AAAA"}, "sealed_keys": []},
        ),
        # Staff: signing in, account, inbox, reading
        "staff.login": Route((ANYONE,), query={"next": "/staff/account"}),
        "staff.login_submit": Route(
            (ANYONE,),
            query={"next": "/staff/account"},
            form={"csrf_token": CSRF, "username": "lou", "password": "wrong", "totp": "123456"},
        ),
        "staff.logout": Route((OFFICER,), form={"csrf_token": CSRF}, last=True),
        "staff.invitation": Route(
            (ANYONE,),
            path={"token": w.invitation},
            form={
                "csrf_token": CSRF,
                "password": "Correct-horse-battery-1",
                "confirm": "Correct-horse-battery-1",
                "totp": "123456",
            },
        ),
        "staff.account": Route(
            EVERY_STAFF_ROLE,
            query={"changed": "1"},
            form={
                "csrf_token": CSRF,
                "current": "wrong",
                "password": "Correct-horse-battery-2",
                "confirm": "Correct-horse-battery-2",
                "totp": "123456",
            },
            post_roles=(SPARE,),
        ),
        "staff.home": Route(EVERY_STAFF_ROLE),
        "staff.inbox_view": Route(
            CASE_WORKERS,
            query={"status": "received", "desk": w.desk_id, "unread": "1", "after": ""},
        ),
        "staff.tip_view": Route((PROSECUTOR,), path=tip, query={"sent": "reply"}),
        "staff.tip_reply": Route((PROSECUTOR,), path=tip, form={"csrf_token": CSRF, "text": "Hi"}),
        "staff.tip_note": Route((PROSECUTOR,), path=tip, form={"csrf_token": CSRF, "text": "N"}),
        "staff.tip_mark_unread": Route((PROSECUTOR,), path=tip, form={"csrf_token": CSRF}),
        "staff.tip_download": Route(
            (PROSECUTOR,), path={"tip_id": w.tip_id, "object_id": w.file_id}
        ),
        # The board
        "board.index": Route(
            CASE_WORKERS,
            query={"view": "all", "desk": w.desk_id, "assignee": w.officer_id, "after": ""},
        ),
        "board.statistics": Route(CASE_WORKERS),
        "board.statistics_csv": Route(CASE_WORKERS),
        "board.tip": Route(CASE_WORKERS, path=tip),
        # A change on the board works the same for both roles (app/web/board.py).
        "board.tip_status": Route(
            (OFFICER,), path=tip, form={"csrf_token": CSRF, "status": "closed", "outcome": ""}
        ),
        "board.tip_assignee": Route(
            (OFFICER,), path=tip, form={"csrf_token": CSRF, "assignee": w.officer_id}
        ),
        "board.tip_priority": Route(
            (OFFICER,), path=tip, form={"csrf_token": CSRF, "priority": "2"}
        ),
        "board.tip_tags": Route(
            (OFFICER,),
            path=tip,
            form={
                "csrf_token": CSRF,
                "species_group": "parrots",
                "commodity": "live_animal",
                "platform_type": "forum",
            },
        ),
        "board.tip_extension": Route((OFFICER,), path=tip, form={"csrf_token": CSRF, "reason": ""}),
        "board.tip_preservation": Route(
            (OFFICER,),
            path=tip,
            form={"csrf_token": CSRF, "platform": "Example", "sent_on": TODAY},
        ),
        "board.tip_preservation_extend": Route(
            (OFFICER,),
            path={"tip_id": w.tip_id, "request_id": w.preservation_id},
            form={"csrf_token": CSRF},
        ),
        "board.tip_outcome": Route(
            (OFFICER,),
            path=tip,
            form={
                "csrf_token": CSRF,
                "kind": "seizure",
                "occurred_on": TODAY,
                "amount": "",
                "currency": "",
                "reference_number": "",
            },
        ),
        "board.tip_outcome_remove": Route(
            (OFFICER,),
            path={"tip_id": w.tip_id, "outcome_id": w.outcome_id},
            form={"csrf_token": CSRF},
        ),
        # Approvals
        "approvals.index": Route((PROSECUTOR,), query={"done": "member"}),
        "approvals.approve_member": Route(
            (PROSECUTOR,), path={"desk_id": w.desk_id, "user_id": w.officer_id}, form=approve
        ),
        "approvals.approve_recovery_key": Route(
            (PROSECUTOR,),
            path={"desk_id": w.desk_id, "recovery_key_id": w.recovery_key_id},
            form=approve,
        ),
        # The admin area
        "admin.index": Route((ADMIN,)),
        "admin.desk_list": Route((ADMIN,)),
        "admin.desk_create": Route(
            (ADMIN,),
            form={
                "csrf_token": CSRF,
                "slug": "",
                "name": "New desk",
                "countries": "UG",
                "languages": "en",
                "triage": "",
            },
        ),
        "admin.desk_edit": Route((ADMIN,), path=desk),
        "admin.desk_update": Route(
            (ADMIN,),
            path=desk,
            form={
                "csrf_token": CSRF,
                "name": "Desk kenya",
                "countries": "KE",
                "languages": "en",
                "retention_days": "365",
                "auto_acknowledge": "",
            },
        ),
        "admin.desk_status_text": Route(
            (ADMIN,),
            path=desk,
            form={"csrf_token": CSRF, "status": "received", "language": "en", "text": ""},
        ),
        "admin.desk_guidance_edit": Route(
            (ADMIN,), path=desk, form={"csrf_token": CSRF, "language": "en", "markdown": ""}
        ),
        "admin.desk_recovery_key": Route(
            (ADMIN,), path=desk, form={"csrf_token": CSRF, "key_file": "", "label": "spare"}
        ),
        "admin.desk_member_add": Route(
            (ADMIN,), path=desk, form={"csrf_token": CSRF, "username": "nobody"}
        ),
        "admin.desk_member_remove": Route(
            (ADMIN,), path={"slug": "kenya", "username": "nobody"}, form={"csrf_token": CSRF}
        ),
        "admin.user_list": Route((ADMIN,)),
        "admin.user_create": Route(
            (ADMIN,),
            form={
                "csrf_token": CSRF,
                "username": "",
                "display_name": "New",
                "role": "officer",
                "desks": "kenya",
            },
        ),
        "admin.user_disable": Route(
            (ADMIN,), path={"username": "nobody"}, form={"csrf_token": CSRF}
        ),
        "admin.audit_view": Route(
            (ADMIN,),
            query={
                "actor": "ada",
                "action": "tip.",
                "tip": w.tip_id,
                "since": "2020-01-01",
                "until": "2040-01-01",
                "before": "",
            },
        ),
        "admin.settings": Route((ADMIN,)),
        "admin.statistics": Route((ADMIN,)),
        "admin.statistics_csv": Route((ADMIN,)),
    }


# --- Checking an answer ------------------------------------------------------------------


class _AlertText(HTMLParser):
    """The text of the visible ``role="alert"`` elements of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if self.depth:
            self.depth += 1
        elif names.get("role") == "alert" and "hidden" not in names:
            self.depth = 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.texts[-1] += data


def message_of(response: TestResponse) -> str:
    """What a refusal tells its reader: the JSON ``message``, or the page's visible alerts."""
    if response.is_json:
        return str((response.get_json() or {}).get("message") or "")
    parser = _AlertText()
    parser.feed(response.get_data(as_text=True))
    return " ".join(text.strip() for text in parser.texts).strip()


# --- Sending -----------------------------------------------------------------------------

_VARIABLE = re.compile(r"<(?:[^<>:]*:)?(\w+)>")


def url_of(rule: Rule, values: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: quote(values[m.group(1)], safe=""), rule.rule)


@dataclass(frozen=True)
class Sent:
    where: str  # e.g. "POST admin.desk_update form 'name' = NUL as admin"
    response: TestResponse


def send(client: FlaskClient, csrf: str, rule: Rule, method: str, route: Route) -> TestResponse:
    def filled(values: dict[str, Any]) -> dict[str, Any]:
        return {name: csrf if value == CSRF else value for name, value in values.items()}

    options: dict[str, Any] = {"method": method, "query_string": route.query}
    options["headers"] = route.headers
    if method != "GET":
        if route.form:
            options["data"] = filled(route.form)
        elif route.multipart:
            options["data"] = filled(route.multipart)
            options["content_type"] = "multipart/form-data"
        elif route.json:
            options["json"] = route.json
        elif route.body is not None:
            options["data"] = route.body
            options["content_type"] = "application/octet-stream"
    return client.open(url_of(rule, route.path), **options)


def hostile_variants(route: Route, method: str) -> Iterator[tuple[str, Route]]:
    """The route with one parameter at a time replaced by each hostile value."""
    for label, value in HOSTILE.items():
        for name in route.path:
            yield f"path {name!r} = {label}", replace(route, path={**route.path, name: value})
        for name in route.query:
            yield f"query {name!r} = {label}", replace(route, query={**route.query, name: value})
        if method == "GET":
            continue
        for name in route.form:
            yield f"form {name!r} = {label}", replace(route, form={**route.form, name: value})
        for name in route.multipart:
            changed = {**route.multipart, name: value}
            yield f"multipart {name!r} = {label}", replace(route, multipart=changed)
        for name in route.json:
            yield f"json {name!r} = {label}", replace(route, json={**route.json, name: value})


# --- The world the table refers to -------------------------------------------------------


def _ids(app: Flask) -> tuple[str, str, str]:
    session = app.extensions["tipline.sessions"]()
    try:
        desk_id = session.scalar(select(Desk.id).where(Desk.slug == "kenya"))
        officer_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "otto"))
        key_id = session.scalar(
            select(DeskRecoveryKey.id).where(DeskRecoveryKey.desk_id == desk_id)
        )
    finally:
        session.close()
    return str(desk_id), str(officer_id), str(key_id)


def _first(pattern: str, html: str) -> str:
    match = re.search(pattern, html)
    assert match, f"{pattern} not found"
    return match.group(1)


@dataclass
class Callers:
    clients: dict[str, FlaskClient]
    csrf: dict[str, str]


def build_world(app: Flask, desk: ReceivingDesk) -> tuple[World, Callers]:
    accounts = {
        OFFICER: make_staff(app, "otto", StaffRole.OFFICER, [desk.slug]),
        PROSECUTOR: make_staff(app, "pat", StaffRole.PROSECUTOR, [desk.slug]),
        ADMIN: make_staff(app, "ada", StaffRole.ADMIN),
        SPARE: make_staff(app, "sam", StaffRole.OFFICER, [desk.slug]),
    }
    make_staff(app, "lou", StaffRole.OFFICER, [desk.slug])  # signs in with hostile values
    clients = {role: app.test_client() for role in (ANYONE, TIPSTER, *accounts)}
    for role, account in accounts.items():
        sign_in(app, clients[role], account)

    submitted = submit_report(
        clients[TIPSTER], desk.slug, every_field("hostile"), [("scan.txt", b"evidence")]
    )
    assert submitted.code is not None, submitted.response.get_data(as_text=True)
    assert log_in(clients[TIPSTER], submitted.code).status_code == 303

    prosecutor, officer, admin = clients[PROSECUTOR], clients[OFFICER], clients[ADMIN]
    (tip_id,) = inbox_tip_ids(prosecutor)
    tip_page = prosecutor.get(f"/staff/tips/{tip_id}").get_data(as_text=True)
    file_id = _first(rf"/staff/tips/{tip_id}/files/([0-9a-f-]{{36}})", tip_page)

    token = csrf_token_from(officer.get(f"/staff/board/tips/{tip_id}").get_data(as_text=True))
    board = f"/staff/board/tips/{tip_id}"
    preserved = officer.post(
        f"{board}/preservation",
        data={"csrf_token": token, "platform": "Example", "sent_on": TODAY},
    )
    recorded = officer.post(
        f"{board}/outcomes",
        data={"csrf_token": token, "kind": "seizure", "occurred_on": TODAY},
    )
    assert preserved.status_code == recorded.status_code == 303
    board_page = officer.get(board).get_data(as_text=True)
    preservation_id = _first(r"/preservation/(\d+)/extend", board_page)
    outcome_id = _first(r"/outcomes/(\d+)/remove", board_page)

    users_page = admin.get("/admin/users").get_data(as_text=True)
    created = admin.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token_from(users_page),
            "username": "ivy",
            "display_name": "Ivy",
            "role": "officer",
        },
    ).get_data(as_text=True)
    invitation = _first(r"/staff/invitation/([A-Za-z0-9_-]+)", created)

    draft = PythonBrowser(clients[ANYONE], plan({"description": "x"}))
    assert draft.create(desk.slug).status_code == 201

    desk_id, officer_id, recovery_key_id = _ids(app)
    world = World(
        tip_id=tip_id,
        file_id=file_id,
        preservation_id=preservation_id,
        outcome_id=outcome_id,
        desk_id=desk_id,
        officer_id=officer_id,
        recovery_key_id=recovery_key_id,
        invitation=invitation,
        draft_id=draft.draft_id,
        draft_object_id=draft.object_id(0),
        draft_token=draft.token,
    )
    pages = {ANYONE: "/status", TIPSTER: "/status/thread"}
    csrf = {
        role: csrf_token_from(client.get(pages.get(role, "/staff/account")).get_data(as_text=True))
        for role, client in clients.items()
    }
    return world, Callers(clients, csrf)


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


# --- The tests ---------------------------------------------------------------------------


def test_the_table_covers_every_route_and_its_path_variables(
    app: Flask, desk: ReceivingDesk
) -> None:
    table = route_table(SHAPED)
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert sorted(endpoints - set(table)) == [], "routes missing from the table"
    assert sorted(set(table) - endpoints) == [], "the table names routes that do not exist"
    for rule in app.url_map.iter_rules():
        assert set(rule.arguments) == set(table[rule.endpoint].path), rule.rule


# request.args.get("x"), request.form.getlist("x"), int_param(request.args, "x", …)
_READ = re.compile(r"request\.(args|form)(?:\.get(?:list)?\(|,\s*)\"(\w+)\"")


def test_the_table_covers_every_parameter_the_views_read() -> None:
    table = route_table(SHAPED).values()
    known = {
        "args": {name for route in table for name in route.query},
        "form": {name for route in table for name in (*route.form, *route.multipart)},
    }
    read: set[tuple[str, str]] = set()
    for source in (REPO / "app" / "web").rglob("*.py"):
        read |= set(_READ.findall(source.read_text(encoding="utf-8")))
    missing = sorted((where, name) for where, name in read if name not in known[where])
    assert missing == []


def test_every_405_says_which_methods_the_address_allows(app: Flask, client: FlaskClient) -> None:
    table = route_table(SHAPED)
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        path = url_of(rule, table[rule.endpoint].path)
        response = client.open(path, method="PATCH")
        assert response.status_code == 405, path
        assert set(response.headers["Allow"].split(", ")) == set(adapter.allowed_methods(path))
        assert message_of(response), path


@pytest.mark.slow
def test_no_parameter_of_any_route_gets_a_server_error(
    app: Flask, desk: ReceivingDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rate limits would answer 429 before the views read anything; they have tests of their own.
    monkeypatch.setattr(limiter, "enabled", False)
    world, callers = build_world(app, desk)
    table = route_table(world)
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: table[rule.endpoint].last)
    failures: list[str] = []
    sent = 0
    for rule in rules:
        route = table[rule.endpoint]
        for method in _methods(rule):
            roles = route.post_roles if method == "POST" and route.post_roles else route.roles
            for role in roles:
                client, csrf = callers.clients[role], callers.csrf[role]
                for what, variant in hostile_variants(route, method):
                    response = send(client, csrf, rule, method, variant)
                    sent += 1
                    where = f"{method} {rule.endpoint} {what} as {role}"
                    status = response.status_code
                    if status >= 500:
                        failures.append(f"{where}: {status}")
                    elif status >= 400 and not message_of(response):
                        failures.append(f"{where}: {status} without a message")
    assert failures == [], f"{len(failures)} of {sent} requests:\n" + "\n".join(failures)
