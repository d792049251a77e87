"""libsodium.js and @noble/hashes come from node_modules through allow-listed routes, pinned."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from app import REPO_ROOT
from app.web.vendor import NOBLE_HASHES, load_assets
from tests.web.conftest import ReceivingDesk

SCRIPT = re.compile(r'<script (type="module"|defer) src="([^"]+)" integrity="([^"]+)"></script>')
IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.DOTALL)
NOBLE = REPO_ROOT / "node_modules" / "@noble" / "hashes"
# Static imports and re-exports: `import { a, b as c } from "x"`, `export * from "x"`, `import "x"`.
IMPORTS = re.compile(r"""^(?:import|export)\s+(?:[\w$*{},\s]+?\s+from\s+)?['"]([^'"]+)['"]""", re.M)


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


def test_the_import_map_comes_first_and_the_csp_allows_exactly_it_by_hash(
    client: FlaskClient, desk: ReceivingDesk
) -> None:
    page = client.get("/submit/report?country=KE")
    html = page.get_data(as_text=True)
    (text,) = IMPORT_MAP.findall(html)
    assert html.index('<script type="importmap">') < html.index("<script defer")
    assert html.index('<script type="importmap">') < html.index('<script type="module"')
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    csp = page.headers["Content-Security-Policy"]
    (script_src,) = [d for d in csp.split("; ") if d.startswith("script-src ")]
    assert script_src == f"script-src 'self' 'wasm-unsafe-eval' 'sha256-{digest}'"
    mapping = json.loads(text)
    assert mapping["imports"] == {"@noble/hashes/": "/vendor/noble-hashes/"}
    noble = {f"/vendor/noble-hashes/{n}" for n in NOBLE_HASHES}
    ours = {f"/static/js/{name}" for name in intake_imports()}
    assert set(mapping["integrity"]) == noble | ours
    for url, integrity in mapping["integrity"].items():
        served = client.get(url)
        assert served.status_code == 200 and served.mimetype == "text/javascript", url
        if url in noble:
            name = url.removeprefix("/vendor/noble-hashes/")
            assert served.get_data() == (NOBLE / name).read_bytes(), url  # as installed
        assert sri(served.get_data()) == integrity, url


def intake_imports() -> set[str]:
    """The static/js modules intake.mjs imports, directly or not, read from the files."""
    found: set[str] = set()
    pending = ["intake.mjs"]
    while pending:
        source = (REPO_ROOT / "static" / "js" / pending.pop()).read_text()
        for target in IMPORTS.findall(source):
            if target.startswith("./") and target[2:] not in found:
                found.add(target[2:])
                pending.append(target[2:])
    assert {"upload.mjs", "sha256.mjs", "tipline_protocol.mjs"} <= found
    return found - {"intake.mjs"}


def test_the_noble_allow_list_is_exactly_the_import_graph_of_our_sha256_adapter() -> None:
    roots = IMPORTS.findall((REPO_ROOT / "static" / "js" / "sha256.mjs").read_text())
    assert roots and all(r.startswith("@noble/hashes/") for r in roots)
    needed: set[str] = set()
    pending = [r.removeprefix("@noble/hashes/") for r in roots]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        source = (NOBLE / name).read_text()
        assert "import(" not in source, name  # no dynamic imports to follow
        for target in IMPORTS.findall(source):
            assert target.startswith("./") and "/" not in target[2:], (name, target)
            pending.append(target[2:])
    assert needed == set(NOBLE_HASHES)


def test_only_allow_listed_files_are_served_from_node_modules(client: FlaskClient) -> None:
    for name in (
        "libsodium.js",
        "package.json",
        "libsodium-wrappers.d.ts",
        "..%2Fpackage.json",
        "noble-hashes/",
        "noble-hashes/index.js",
        "noble-hashes/sha3.js",
        "noble-hashes/package.json",
        "noble-hashes/sha2.d.ts",
        "noble-hashes/src/sha2.ts",
        "noble-hashes/..%2fsha2.js",
        "noble-hashes/..%2f..%2fpackage.json",
        "noble-hashes/../sodium.js",
        "noble-hashes%2fsha2.js/../utils.js",
        "noble-hashes/%2e%2e/%2e%2e/package.json",
        "@noble/hashes/sha2.js",
        "noble-hashes//sha2.js",
        "noble-hashes/sha2.js/",
        "noble-hashes/SHA2.js",
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
    app.extensions["tipline.vendor"] = load_assets(node_modules=tmp_path / "missing")
    response = client.get("/submit/report?country=KE")
    page = response.get_data(as_text=True)
    assert "<script" not in page and "'sha256-" not in response.headers["Content-Security-Policy"]
    assert 'action="/submit/kenya"' in page and 'enctype="multipart/form-data"' in page
    assert client.get("/vendor/sodium.js").status_code == 404
    assert client.get("/vendor/noble-hashes/sha2.js").status_code == 404


def test_without_noble_hashes_the_page_has_no_scripts_either(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, tmp_path: Path
) -> None:
    partial = tmp_path / "node_modules"
    for part in (
        "libsodium/dist/modules/libsodium.js",
        "libsodium-wrappers/dist/modules/libsodium-wrappers.js",
    ):
        (partial / part).parent.mkdir(parents=True, exist_ok=True)
        (partial / part).write_bytes((REPO_ROOT / "node_modules" / part).read_bytes())
    app.extensions["tipline.vendor"] = load_assets(node_modules=partial)
    page = client.get("/submit/report?country=KE").get_data(as_text=True)
    assert "<script" not in page and 'action="/submit/kenya"' in page


def test_without_one_of_our_intake_modules_the_page_has_no_scripts_either(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, tmp_path: Path
) -> None:
    partial = tmp_path / "js"
    partial.mkdir()
    for module in (REPO_ROOT / "static" / "js").glob("*.mjs"):
        if module.name != "upload.mjs":
            (partial / module.name).write_bytes(module.read_bytes())
    app.extensions["tipline.vendor"] = load_assets(static_js=partial)
    page = client.get("/submit/report?country=KE").get_data(as_text=True)
    assert "<script" not in page and 'action="/submit/kenya"' in page
