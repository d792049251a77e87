"""No route spools an uploaded file to disk: Werkzeug's form parser writes file parts over
500 KB to temporary files in plaintext, so the request class refuses them everywhere, and
tip uploads are stream-parsed instead (DESIGN §2.1, §5). This walks every POST route of the
app, new ones included, with a multipart body carrying a canary file part.
"""

from __future__ import annotations

import io
import logging
import re
import tempfile
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import Config
from app.models import StaffRole
from tests.support.canary import canary_file, new_canary
from tests.web.conftest import ReceivingDesk
from tests.web.staff_steps import make_staff, sign_in
from tests.web.test_intake_nojs import assert_canary_nowhere

BIG = 2 * 1024 * 1024  # well over Werkzeug's 500 KB in-memory threshold


PLACEHOLDER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _sample_path(rule: str, desk_slug: str) -> str:
    """The rule with a plausible value in each placeholder (``<uuid:draft_id>`` → a UUID)."""

    def value(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if converter == "uuid":
            return str(uuid.uuid4())
        if converter == "int":
            return "1"
        return desk_slug if name == "slug" else "x"

    return PLACEHOLDER.sub(value, rule)


@pytest.fixture
def temp_files_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every temporary file opened through ``tempfile``, even an unnamed one (O_TMPFILE),
    which a directory listing would never show."""
    made: list[str] = []
    for name in ("TemporaryFile", "SpooledTemporaryFile", "NamedTemporaryFile", "mkstemp"):
        original = getattr(tempfile, name)

        def spy(*args: object, _original: object = original, _name: str = name, **kw: object):  # type: ignore[no-untyped-def]
            made.append(_name)
            return _original(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(tempfile, name, spy)
    return made


@pytest.mark.parametrize("role", [None, StaffRole.ADMIN, StaffRole.OFFICER, StaffRole.PROSECUTOR])
def test_no_post_route_writes_an_uploaded_file_anywhere(
    app: Flask,
    desk: ReceivingDesk,
    app_config: Config,
    private_tmpdir: Path,
    caplog: pytest.LogCaptureFixture,
    temp_files_made: list[str],
    role: StaffRole | None,
) -> None:
    caplog.set_level(logging.DEBUG)
    client: FlaskClient = app.test_client()
    if role is not None:
        sign_in(app, client, make_staff(app, f"walker-{role.value}", role, []))
    canary = new_canary("spool")
    body = canary_file(canary, BIG)
    posted = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()):
            continue
        path = _sample_path(rule.rule, desk.slug)
        response = client.post(
            path,
            data={"csrf_token": "x", "text": canary, "upload": (io.BytesIO(body), f"{canary}.bin")},
            content_type="multipart/form-data",
        )
        assert response.status_code < 500, (path, response.status_code)
        assert response.status_code not in (200, 201), (path, response.status_code)
        posted.append(path)
    assert any(p.startswith("/admin/") for p in posted)
    assert any(p.startswith("/staff/board/") for p in posted)
    assert any(p.startswith("/api/v1/") for p in posted)
    assert "/status/messages" in posted and f"/submit/{desk.slug}" in posted
    assert temp_files_made == []  # no spooled upload, not even an unnamed temporary file
    assert list(private_tmpdir.rglob("*")) == []
    assert_canary_nowhere(canary, app, app_config, private_tmpdir, caplog)
