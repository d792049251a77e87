"""Where sign-in leads: only ever a path on this site, however a browser reads it (issue 20)."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.models import StaffRole
from app.web.staff_auth import safe_next
from tests.web.conftest import csrf_token_from
from tests.web.staff_steps import StaffAccount, fresh_code, make_staff

HOME = "/staff/"
SITE = "http://localhost/staff/login"

EVIL = [
    "/\t/evil.example/",
    "/%09/evil.example/",
    "/\\evil.example",
    "/\\/evil.example",
    "//evil.example",
    "///evil.example",
    "/\r\n/evil.example",
    "/\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "/ /evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "/\u200b/evil.example",
    "/\u2028/evil.example",
    "/\ufeff/evil.example",
    "/\u3000/evil.example",
    "/／evil.example",
    "/ｅvil.example",
    "/évil.example/ü?q=ß#frag",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/.//evil.example",
    "/..//evil.example",
    "/staff/\r\nSet-Cookie: x=y",
    "evil.example",
    "",
    "/" * 3000,
]


def browser_target(location: str) -> tuple[str, str]:
    """Where a browser goes for this Location on SITE: (scheme and host, path), after
    stripping what browsers strip (tab, CR, LF; leading and trailing spaces and controls)."""
    cleaned = "".join(ch for ch in location if ch not in "\t\r\n").strip("\x00- ")
    cleaned = cleaned.replace("\\", "/")  # a browser reads \\ as / in http(s) URLs
    absolute = urljoin(SITE, cleaned)
    parts = urlsplit(absolute)
    return f"{parts.scheme}://{parts.netloc}", parts.path


@pytest.mark.parametrize("target", EVIL)
def test_whatever_next_says_the_browser_stays_on_this_site(target: str) -> None:
    location = safe_next(target, HOME)
    assert location.startswith("/") and not location.startswith("//")
    assert all(0x21 <= ord(ch) < 0x7F for ch in location), location  # nothing to reinterpret
    assert browser_target(location)[0] == "http://localhost"


def test_paths_on_this_site_survive_encoded() -> None:
    assert safe_next("/staff/account", HOME) == "/staff/account"
    assert safe_next("/staff/?status=received&desk=2", HOME) == "/staff/?status=received&desk=2"
    assert safe_next("/ /x", HOME) == "/%20/x"
    assert safe_next("/évil.example/ü", HOME) == "/%C3%A9vil.example/%C3%BC"
    assert safe_next("/%09/evil.example/", HOME) == "/%09/evil.example/"
    for target in ("/\t/evil.example/", "/\\evil.example", "//evil.example", "/\u200b/x", None):
        assert safe_next(target, HOME) == HOME


def sign_in_with_next(app: Flask, account: StaffAccount, target: str) -> TestResponse:
    client = app.test_client()
    token = csrf_token_from(client.get("/staff/login").get_data(as_text=True))
    credentials = {"username": account.username, "password": account.password}
    return client.post(
        "/staff/login",
        query_string={"next": target},
        data={"csrf_token": token, **credentials, "totp": fresh_code(app, account)},
    )


def test_a_hostile_next_never_gets_a_server_error_and_never_leaves_the_site(
    app: Flask, client: FlaskClient
) -> None:
    for number, target in enumerate(EVIL):
        assert client.get("/staff/login", query_string={"next": target}).status_code < 500
        # One account each: a one-time code is good for one sign-in.
        account = make_staff(app, f"user{number}", StaffRole.OFFICER)
        response = sign_in_with_next(app, account, target)
        if response.status_code == 303:
            location = response.headers["Location"]
            assert browser_target(location)[0] == "http://localhost", (target, location)
            assert location.startswith("/") and not location.startswith("//")
        else:  # refused before signing in: a control character, or longer than any path
            assert response.status_code == 400, (target, response.status_code)
            page = response.get_data(as_text=True)
            assert "control character" in page or "longer than this site accepts" in page
