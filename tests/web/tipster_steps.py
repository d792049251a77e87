"""Steps a tipster takes, shared by the intake and returning-tipster tests."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.services.report_form import REPORT_FIELDS
from tests.web.conftest import csrf_token, csrf_token_from

CODE_PATTERN = re.compile(r'<span class="code-word">([^<]+)</span>')


def every_field(canary: str) -> dict[str, str]:
    """A value for every report field, each carrying the canary where free text is allowed."""
    values = {}
    for field in REPORT_FIELDS:
        if field.kind == "select":
            values[field.name] = field.choices[0].value
        elif field.kind == "date":
            values[field.name] = "2026-01-15"
        elif field.kind in ("url", "urls"):
            values[field.name] = f"https://market.example/{canary}/{field.name}"
        else:
            values[field.name] = f"{canary} {field.name}"
    return values


@dataclass(frozen=True)
class Submitted:
    response: TestResponse
    code: str | None


def submit_report(
    client: FlaskClient,
    desk_slug: str,
    fields: dict[str, str],
    files: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    *,
    token: str | None = None,
) -> Submitted:
    if token is None:
        token = csrf_token(client)
    data: dict[str, object] = {"csrf_token": token, **fields}
    if files:
        data["evidence"] = [(io.BytesIO(body), name) for name, body in files]
    response = client.post(f"/submit/{desk_slug}", data=data, content_type="multipart/form-data")
    words = CODE_PATTERN.findall(response.get_data(as_text=True))
    return Submitted(response, " ".join(words) if words else None)


def log_in(client: FlaskClient, code: str) -> TestResponse:
    return client.post("/status", data={"csrf_token": csrf_token(client), "code": code})


def send_followup(
    client: FlaskClient,
    message: str,
    files: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
) -> TestResponse:
    token = csrf_token_from(client.get("/status/thread").get_data(as_text=True))
    data: dict[str, object] = {"csrf_token": token, "message": message}
    if files:
        data["files"] = [(io.BytesIO(body), name) for name, body in files]
    return client.post("/status/messages", data=data, content_type="multipart/form-data")
