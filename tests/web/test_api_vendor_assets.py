"""libsodium.js comes from node_modules through an allow-listed route, pinned by SRI."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from app import REPO_ROOT
from app.web.vendor import load_assets
from tests.web.conftest import ReceivingDesk

SCRIPT = re.compile(r'<script (type="module"|defer) src="([^"]+)" integrity="([^"]+)"></script>')


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_the_report_page_loads_libsodium_and_the_intake_module_with_matching_sri(
    client: FlaskClient, desk: ReceivingDesk
) -> None:
    page = client.get("/submit/report?country=KE")
    scripts = SCRIPT.findall(page.get_data(as_text=True))
    assert [src for _, src, _ in scripts] == ["/vendor/sodium.js", "/static/js/intake.mjs"]
    assert [kind for kind, _, _ in scripts] == ["defer", 'type="module"']
    for _, src, integrity in scripts:
        served = client.get(src)
        assert served.status_code == 200 and served.mimetype == "text/javascript", src
        assert sri(served.get_data()) == integrity, src
    sodium = client.get("/vendor/sodium.js").get_data()
    for part in (
        "libsodium/dist/modules/libsodium.js",
        "libsodium-wrappers/dist/modules/libsodium-wrappers.js",
    ):
        assert (REPO_ROOT / "node_modules" / part).read_bytes() in sodium  # as installed
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp and "<script>" not in page.get_data(as_text=True)


def test_only_allow_listed_files_are_served_from_node_modules(client: FlaskClient) -> None:
    for name in ("libsodium.js", "package.json", "libsodium-wrappers.d.ts", "..%2Fpackage.json"):
        assert client.get(f"/vendor/{name}").status_code == 404, name


def test_other_pages_run_no_scripts(client: FlaskClient, desk: ReceivingDesk) -> None:
    for path in ("/", "/submit", "/status"):
        response = client.get(path)
        assert "script-src" not in response.headers["Content-Security-Policy"], path
        assert "<script" not in response.get_data(as_text=True), path


def test_without_node_modules_the_page_has_no_scripts_and_the_form_still_posts(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, tmp_path: Path
) -> None:
    app.extensions["tipline.vendor"] = load_assets(node_modules=tmp_path / "missing")
    page = client.get("/submit/report?country=KE").get_data(as_text=True)
    assert "<script" not in page
    assert 'action="/submit/kenya"' in page and 'enctype="multipart/form-data"' in page
    assert client.get("/vendor/sodium.js").status_code == 404
