"""Every response carries the security baseline (DESIGN §2, issue 'foundation')."""

from __future__ import annotations

import logging
import re

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient

from app.security import content_security_policy

REQUIRED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def concrete_paths(app: Flask) -> list[tuple[str, str]]:
    """(method, path) for every registered route, with placeholder values for arguments."""
    placeholders = {"int": "1", "uuid": "00000000-0000-4000-8000-000000000000", "path": "x/y"}
    requests = []
    for rule in app.url_map.iter_rules():
        path = rule.rule
        for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", path):
            value = placeholders.get(converter, "x")
            path = re.sub(rf"<[^>]*\b{name}>", value, path, count=1)
        if rule.endpoint == "static":
            path = "/static/css/tipline.css"
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            requests.append((method, path))
    return requests


def assert_baseline_headers(response_headers: dict[str, str], path: str) -> None:
    for name, value in REQUIRED_HEADERS.items():
        assert response_headers.get(name) == value, f"{name} on {path}"
    csp = response_headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'"), path
    assert "frame-ancestors 'none'" in csp, path
    assert "unsafe-inline" not in csp and "http" not in csp, path


def test_every_route_sends_the_security_headers(client: FlaskClient, app: Flask) -> None:
    requests = concrete_paths(app)
    assert ("GET", "/") in requests and ("GET", "/healthz") in requests
    for method, path in requests:
        response = client.open(path, method=method)
        headers = dict(response.headers)
        assert_baseline_headers(headers, path)
        if path.startswith("/static/"):
            assert "no-store" not in headers["Cache-Control"]
        else:
            assert headers["Cache-Control"] == "no-store", path


def test_error_pages_send_the_security_headers_too(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert_baseline_headers(dict(response.headers), "/no-such-page")
    assert response.headers["Cache-Control"] == "no-store"
    assert b"There is no page at this address." in response.data


def test_pages_run_no_scripts_unless_they_ask() -> None:
    assert "script-src" not in content_security_policy(with_scripts=False)
    with_scripts = content_security_policy(with_scripts=True).split("; ")
    # Same-origin script files only: no inline script, not even one allowed by its hash.
    assert [d for d in with_scripts if d.startswith("script-src")] == [
        "script-src 'self' 'wasm-unsafe-eval'"
    ]


def test_session_cookie_is_httponly_strict_and_secure_outside_development(app: Flask) -> None:
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Strict"
    assert app.config["SESSION_COOKIE_SECURE"] is True  # the testing env is not development


def test_templates_cannot_reach_the_config(app: Flask) -> None:
    assert "config" not in app.jinja_env.globals
    with app.test_request_context("/"):
        rendered = app.jinja_env.from_string("{{ config is defined }}").render()
    assert rendered == "False"


def test_forms_without_a_csrf_token_are_refused(app: Flask) -> None:
    probe = Blueprint("csrf_probe", __name__)

    @probe.post("/csrf-probe")
    def accept() -> str:
        return "accepted"

    app.register_blueprint(probe)
    response = app.test_client().post("/csrf-probe", data={"text": "hello"})
    assert response.status_code == 400
    assert b"This form expired or was not sent from this site" in response.data


def test_public_routes_write_no_access_log(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        client.get("/")
        client.get("/healthz")
        client.get("/no-such-page")
    assert not [r for r in caplog.records if r.name in ("tipline.access", "werkzeug")]
    assert not any("/no-such-page" in r.getMessage() for r in caplog.records)
