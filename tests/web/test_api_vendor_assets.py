"""The report page's two scripts, libsodium.js and the intake bundle, come from the app with SRI.

No inline script, no import map: the CSP allows same-origin script files and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import REPO_ROOT
from app.web.vendor import (
    BUILD_SCRIPT,
    EXTENSION_KEY,
    INTAKE,
    INTAKE_BUNDLE,
    SODIUM,
    SODIUM_PARTS,
    VendorAssets,
    load_assets,
)
from tests.web.conftest import ReceivingDesk

REPORT_PAGE = "/submit/report?country=KE"
SCRIPT = re.compile(r'<script (type="module"|defer) src="([^"]+)" integrity="([^"]+)"></script>')
SCRIPT_OPENING = re.compile(r"<script\b[^>]*>")
NODE_MODULES = REPO_ROOT / "node_modules"
STATIC_JS = REPO_ROOT / "static" / "js"
# Static imports and re-exports: `import { a, b as c } from "x"`, `export * from "x"`, `import "x"`.
IMPORTS = re.compile(r"""^(?:import|export)\s+(?:[\w$*{},\s]+?\s+from\s+)?['"]([^'"]+)['"]""", re.M)
# The @noble/hashes files static/js/sha256.mjs needs, directly or not.
NOBLE_FILES = ("sha2.js", "_md.js", "_u64.js", "utils.js")


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def served_assets(app: Flask) -> VendorAssets:
    """What the app read at start-up; fails (never skips) when it could not serve both files."""
    assets: VendorAssets = app.extensions[EXTENSION_KEY]
    if SODIUM not in assets.files:
        pytest.fail("node_modules/libsodium* is missing: run `npm ci` (or `make install`).")
    if INTAKE not in assets.files:
        pytest.fail(f"{INTAKE_BUNDLE} is missing or stale: run `make install`.")
    return assets


def script_src(csp: str) -> str:
    (directive,) = [d for d in csp.split("; ") if d.startswith("script-src ")]
    return directive


def assert_no_scripts_and_the_form_posts(client: FlaskClient) -> None:
    response = client.get(REPORT_PAGE)
    page = response.get_data(as_text=True)
    assert "<script" not in page
    assert 'action="/submit/kenya"' in page and 'enctype="multipart/form-data"' in page


def test_the_report_page_has_exactly_libsodium_and_the_bundle_with_matching_sri(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    served_assets(app)
    page = client.get(REPORT_PAGE)
    html = page.get_data(as_text=True)
    scripts = SCRIPT.findall(html)
    assert [(kind, src) for kind, src, _ in scripts] == [
        ("defer", "/vendor/sodium.js"),
        ('type="module"', "/vendor/intake.js"),
    ]
    assert len(SCRIPT_OPENING.findall(html)) == 2  # every <script> is one of the two above
    assert html.count("</script>") == 2
    for _, src, integrity in scripts:
        served = client.get(src)
        assert served.status_code == 200 and served.mimetype == "text/javascript", src
        assert sri(served.get_data()) == integrity, src
    sodium = client.get("/vendor/sodium.js").get_data()
    assert sodium == b"\n;\n".join((NODE_MODULES / part).read_bytes() for part in SODIUM_PARTS)
    assert client.get("/vendor/intake.js").get_data() == INTAKE_BUNDLE.read_bytes()


def test_the_report_pages_csp_allows_same_origin_script_files_and_nothing_inline(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    served_assets(app)
    csp = client.get(REPORT_PAGE).headers["Content-Security-Policy"]
    assert script_src(csp) == "script-src 'self' 'wasm-unsafe-eval'"
    assert "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp and "'sha256-" not in csp and "'nonce-" not in csp


def test_the_served_bundle_is_what_esbuild_builds_from_the_current_sources(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    served_assets(app)
    rebuilt = tmp_path / "intake.js"
    subprocess.run(["sh", str(BUILD_SCRIPT), str(rebuilt)], check=True, timeout=120)
    assert client.get("/vendor/intake.js").get_data() == rebuilt.read_bytes()


def test_the_bundle_holds_every_module_it_needs_and_imports_nothing(app: Flask) -> None:
    bundle = served_assets(app).files[INTAKE].decode("utf-8")
    assert IMPORTS.findall(bundle) == []  # no import or export statements left to resolve
    assert "import(" not in bundle and "require(" not in bundle
    assert "from '@noble/hashes/" not in bundle and 'from "@noble/hashes/' not in bundle
    # esbuild heads each bundled file with its path: our modules and noble's are all inside.
    headings = set(re.findall(r"^// (\S+)$", bundle, re.M))
    assert {f"static/js/{name}" for name in intake_graph()} <= headings
    assert {f"node_modules/@noble/hashes/{name}" for name in NOBLE_FILES} <= headings
    assert "SHA256_IV" in bundle  # noble's code itself, not a reference to it


def intake_graph() -> set[str]:
    """intake.mjs and the static/js modules it imports, directly or not, read from the files."""
    found, pending = {"intake.mjs"}, ["intake.mjs"]
    while pending:
        for target in IMPORTS.findall((STATIC_JS / pending.pop()).read_text()):
            if target.startswith("./") and target[2:] not in found:
                found.add(target[2:])
                pending.append(target[2:])
    assert {"upload.mjs", "sha256.mjs", "tipline_protocol.mjs"} <= found
    return found


def test_the_noble_files_are_exactly_what_our_sha256_adapter_imports() -> None:
    """Keeps NOBLE_FILES above honest: the import graph of static/js/sha256.mjs in @noble/hashes."""
    roots = IMPORTS.findall((STATIC_JS / "sha256.mjs").read_text())
    assert roots and all(r.startswith("@noble/hashes/") for r in roots)
    needed: set[str] = set()
    pending = [r.removeprefix("@noble/hashes/") for r in roots]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        source = (NODE_MODULES / "@noble" / "hashes" / name).read_text()
        for target in IMPORTS.findall(source):
            assert target.startswith("./") and "/" not in target[2:], (name, target)
            pending.append(target[2:])
    assert needed == set(NOBLE_FILES)


def test_only_the_two_scripts_are_served_under_vendor(app: Flask, client: FlaskClient) -> None:
    served_assets(app)
    for name in ("sodium.js", "intake.js"):
        assert client.get(f"/vendor/{name}").status_code == 200, name
    for name in (
        "",
        "intake.mjs",
        "intake",
        "INTAKE.js",
        "intake.js/",
        "./intake.js",
        "build/intake.js",
        "static/build/intake.js",
        "../static/build/intake.js",
        "..%2Fstatic%2Fbuild%2Fintake.js",
        "%2e%2e/%2e%2e/package.json",
        "libsodium.js",
        "package.json",
        "libsodium-wrappers.d.ts",
        "..%2Fpackage.json",
        "noble-hashes/sha2.js",
        "noble-hashes/utils.js",
        "@noble/hashes/sha2.js",
        "js/sha256.mjs",
        "sodium.js/../intake.js",
    ):
        assert client.get(f"/vendor/{name}").status_code == 404, name


def test_other_pages_run_no_scripts(client: FlaskClient, desk: ReceivingDesk) -> None:
    for path in ("/", "/submit", "/status"):
        response = client.get(path)
        assert "script-src" not in response.headers["Content-Security-Policy"], path
        assert "<script" not in response.get_data(as_text=True), path


def test_without_node_modules_the_page_has_no_scripts_and_the_form_still_posts(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, tmp_path: Path
) -> None:
    app.extensions[EXTENSION_KEY] = load_assets(node_modules=tmp_path / "missing")
    assert_no_scripts_and_the_form_posts(client)
    assert client.get("/vendor/sodium.js").status_code == 404


def test_without_the_bundle_the_page_has_no_scripts_either(
    app: Flask,
    client: FlaskClient,
    desk: ReceivingDesk,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="tipline.vendor"):
        app.extensions[EXTENSION_KEY] = load_assets(bundle=tmp_path / "intake.js")
    assert "make install" in caplog.text
    assert_no_scripts_and_the_form_posts(client)
    assert client.get("/vendor/intake.js").status_code == 404


def stale_setup(tmp_path: Path, bundle_newer: bool) -> tuple[Path, Path]:
    """A copy of static/js and a bundle, the bundle one minute older (or newer) than upload.mjs."""
    static_js = tmp_path / "js"
    static_js.mkdir()
    for module in STATIC_JS.glob("*.mjs"):
        (static_js / module.name).write_bytes(module.read_bytes())
        os.utime(static_js / module.name, ns=(1_000_000_000_000_000_000,) * 2)
    bundle = tmp_path / "intake.js"
    bundle.write_bytes(INTAKE_BUNDLE.read_bytes())
    edited = 1_000_000_060_000_000_000  # upload.mjs, a minute after the others
    os.utime(static_js / "upload.mjs", ns=(edited, edited))
    built = edited + (60_000_000_000 if bundle_newer else -30_000_000_000)
    os.utime(bundle, ns=(built, built))
    return static_js, bundle


@pytest.mark.parametrize("bundle_newer", [False, True])
def test_a_bundle_older_than_a_module_is_not_served_and_a_newer_one_is(
    app: Flask,
    client: FlaskClient,
    desk: ReceivingDesk,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    bundle_newer: bool,
) -> None:
    served_assets(app)
    static_js, bundle = stale_setup(tmp_path, bundle_newer=bundle_newer)
    with caplog.at_level(logging.WARNING, logger="tipline.vendor"):
        app.extensions[EXTENSION_KEY] = load_assets(bundle=bundle, static_js=static_js)
    if bundle_newer:
        assert [r for r in caplog.records if r.name == "tipline.vendor"] == []
        assert len(SCRIPT.findall(client.get(REPORT_PAGE).get_data(as_text=True))) == 2
        assert client.get("/vendor/intake.js").get_data() == INTAKE_BUNDLE.read_bytes()
    else:
        assert "older than static/js/upload.mjs" in caplog.text and "make install" in caplog.text
        assert_no_scripts_and_the_form_posts(client)
        assert client.get("/vendor/intake.js").status_code == 404
