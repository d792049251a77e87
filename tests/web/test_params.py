"""Request parameters (app/web/params.py): typed helpers, URL converters, the guard (issue 20)."""

from __future__ import annotations

import uuid
from enum import StrEnum

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from app.errors import InvalidInput
from app.models import StaffRole
from app.web.params import (
    MAX_LINE_CHARS,
    MAX_ROW_ID,
    choice_param,
    day_param,
    int_param,
    text_param,
    uuid_param,
)
from tests.web.conftest import ReceivingDesk, csrf_token_from
from tests.web.staff_steps import make_staff, sign_in
from tests.web.test_board_web import submitted_tip
from tests.web.tipster_steps import submit_report


class Colour(StrEnum):
    RED = "red"


def values(**given: str) -> MultiDict[str, str]:
    return MultiDict(given)


@pytest.mark.parametrize(
    "raw",
    ["²", "٣", "１", "1" * 40, str(MAX_ROW_ID + 1), "-1", "1_000", " +1", "0x10", "1.0", "1e3"],
)
def test_an_integer_parameter_is_ascii_digits_within_64_bits(raw: str) -> None:
    with pytest.raises(InvalidInput, match="Choose one"):
        int_param(values(n=raw), "n", message="Choose one.")


def test_an_integer_parameter_reads_what_the_lists_send() -> None:
    assert int_param(values(n="42"), "n", message="x") == 42
    assert int_param(values(n=str(MAX_ROW_ID)), "n", message="x") == MAX_ROW_ID
    assert int_param(values(n=" 7 "), "n", message="x") == 7
    assert int_param(values(n="-3"), "n", message="x", minimum=-5) == -3
    assert int_param(values(n=""), "n", message="x") is None
    assert int_param(values(), "n", message="x") is None


def test_a_uuid_parameter_is_canonical() -> None:
    canonical = str(uuid.uuid4())
    assert uuid_param(values(t=canonical), "t", message="x") == canonical
    assert uuid_param(values(t=""), "t", message="x") is None
    for raw in (canonical.upper(), canonical.replace("-", ""), f"{{{canonical}}}", "x", "²"):
        with pytest.raises(InvalidInput):
            uuid_param(values(t=raw), "t", message="Give the full id.")


def test_text_choice_and_day_parameters_refuse_what_they_cannot_be() -> None:
    assert text_param(values(a="line"), "a") == "line"
    assert text_param(values(), "a", default="unknown") == "unknown"
    assert text_param(values(a="two\r\nlines\t."), "a", multiline_ok=True) == "two\r\nlines\t."
    for raw, multiline_ok in (("a\x00b", True), ("a\nb", False), ("\x85", True), ("\x7f", False)):
        with pytest.raises(InvalidInput, match="control character"):
            text_param(values(a=raw), "a", multiline_ok=multiline_ok)
    with pytest.raises(InvalidInput, match="longer than 5"):
        text_param(values(a="abcdef"), "a", max_chars=5)
    assert choice_param(values(c="red"), "c", Colour, message="x") is Colour.RED
    assert choice_param(values(c=""), "c", Colour, message="x") is None
    with pytest.raises(InvalidInput, match="Pick"):
        choice_param(values(c="RED"), "c", Colour, message="Pick a colour.")
    assert day_param(values(d="2026-02-28"), "d", message="x") is not None
    for raw in ("2026-02-30", "20260228", "２０２６-02-28", "2026-W01"):
        with pytest.raises(InvalidInput, match="day"):
            day_param(values(d=raw), "d", message="Give a day.")


# --- Through the app ------------------------------------------------------------------------


def _message(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize(
    "url",
    [
        "/submit/report?country=K%00E",
        "/?lang=%1f",
        "/status?x%00=1",
        "/static/css/tipline%00.css",
        "/api/v1/openapi.json?a=%0d%0a",
    ],
)
def test_a_control_character_anywhere_in_the_address_is_a_400_with_a_message(
    client: FlaskClient, url: str
) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert "control character" in _message(response)


def test_an_address_value_longer_than_any_the_site_asks_for_is_a_400(client: FlaskClient) -> None:
    response = client.get("/submit/report", query_string={"country": "K" * (MAX_LINE_CHARS + 1)})
    assert response.status_code == 400
    assert "longer than this site accepts" in _message(response)


def test_a_malformed_invitation_is_refused_like_an_unknown_one(client: FlaskClient) -> None:
    for token in ("%C2%B2", "%F0%9F%A6%8F", "a.b"):
        response = client.get(f"/staff/invitation/{token}")
        assert response.status_code == 410
        assert "invitation has expired or was already used" in _message(response)


def test_ids_in_paths_are_canonical_uuids_and_64_bit_integers(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    sign_in(app, client, make_staff(app, "otto", StaffRole.OFFICER, [desk.slug]))
    tip = str(uuid.uuid4())
    assert client.get(f"/staff/board/tips/{tip}").status_code == 404  # no such tip
    for path in (tip.upper(), tip.replace("-", ""), "%C2%B2", "../x"):
        assert client.get(f"/staff/board/tips/{path}").status_code == 404
    token = csrf_token_from(client.get("/staff/board/").get_data(as_text=True))
    for number in ("1" * 40, str(MAX_ROW_ID + 1), "%D9%A3", "-1"):
        response = client.post(
            f"/staff/board/tips/{tip}/outcomes/{number}/remove", data={"csrf_token": token}
        )
        assert response.status_code == 404


@pytest.mark.parametrize("value", ["1" * 40, "²", "-1", "x"])
def test_a_board_filter_that_is_no_listed_id_is_a_400(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, value: str
) -> None:
    sign_in(app, client, make_staff(app, "otto", StaffRole.OFFICER, [desk.slug]))
    for page, name in (
        ("/staff/board/", "assignee"),
        ("/staff/board/", "desk"),
        ("/staff/", "desk"),
    ):
        response = client.get(page, query_string={name: value})
        assert response.status_code == 400, (page, name)
        assert "Unknown filter value" in _message(response)


def test_the_audit_filters_refuse_what_no_event_can_match(app: Flask, client: FlaskClient) -> None:
    sign_in(app, client, make_staff(app, "ada", StaffRole.ADMIN))
    for query, says in (
        ({"tip": "5F0C7A1E"}, "full id"),
        ({"before": "1" * 40}, ""),
        ({"before": "²"}, ""),
        ({"actor": "a" * 65}, "longer than 64"),
        ({"since": "2026-13-01"}, "YYYY-MM-DD"),
    ):
        response = client.get("/admin/audit", query_string=query)
        assert response.status_code == 400, query
        assert says in _message(response)


def test_free_text_keeps_its_line_breaks_and_one_line_fields_refuse_them(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    tip = submitted_tip(app, app.test_client(), desk)
    sign_in(app, client, make_staff(app, "otto", StaffRole.OFFICER, [desk.slug]))
    token = csrf_token_from(client.get(f"/staff/board/tips/{tip}").get_data(as_text=True))
    reason = "Waiting for the platform.\r\n\tTwo lines."
    response = client.post(
        f"/staff/board/tips/{tip}/extension", data={"csrf_token": token, "reason": reason}
    )
    assert response.status_code == 303
    response = client.post(
        f"/staff/board/tips/{tip}/preservation",
        data={"csrf_token": token, "platform": "Example\r\nInjected", "sent_on": "2026-01-01"},
    )
    assert response.status_code == 400
    assert "control character" in _message(response)
    response = client.post(
        f"/staff/board/tips/{tip}/extension", data={"csrf_token": token, "reason": "a\x00b"}
    )
    assert response.status_code == 400


def test_the_guard_leaves_bodies_it_does_not_own_alone(
    client: FlaskClient, desk: ReceivingDesk
) -> None:
    # The API reads JSON and bytes itself: a form sent there is refused for its type.
    response = client.post("/api/v1/drafts", data={"desk": "a\x00b"})
    assert response.status_code == 415
    # The tip form is stream-parsed and encrypted: a NUL in a report field is just text.
    submitted = submit_report(client, desk.slug, {"description": "a\x00b\x1f c"})
    assert submitted.response.status_code == 200 and submitted.code is not None
