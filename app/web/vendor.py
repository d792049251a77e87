"""The report page's two scripts, served by the app itself with SRI: libsodium.js and our intake.

libsodium.js comes from node_modules, installed by ``npm ci`` from the pinned package-lock.json.
Our intake is one file: static/js/intake.mjs and every module it imports (our static/js
siblings and @noble/hashes) bundled by the pinned esbuild into static/build/intake.js
(scripts/build_intake.sh, run by ``make install``). Both are read once at start-up and served
from memory, so the bytes a browser receives are exactly those whose SHA-384 the page names in
its ``integrity`` attributes. The page has no inline script, and its CSP allows scripts from
``'self'`` only (and WebAssembly).

Why a bundle: an ``integrity`` attribute checks only the file it is on, not what that file
imports. The only per-import check Chromium enforces is an import map's ``integrity``, and an
import map must be inline. ``<link rel="modulepreload" integrity>`` does not protect the later
``import`` in Chromium 156 (a tampered module that failed its preload check was fetched again
unchecked and ran; tried 2026-11-30, whatwg/html#12922 is still open). One bundled file under
one ``integrity`` is checked everywhere, and costs one request instead of a dozen over Tor.

libsodium.js stays a separate classic ``defer`` script: its UMD build carries a pure-JavaScript
fallback that runs where WebAssembly is unavailable (Tor Browser's "Safer" level), which its
ES module build does not.

If a file is missing, or the bundle is older than a static/js module (edited without
``make install``; stale code could disagree with the server), the page has no scripts and the
form is sent the no-JavaScript way.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, url_for
from flask.blueprints import BlueprintSetupState

from app import REPO_ROOT

log = logging.getLogger("tipline.vendor")

NODE_MODULES = REPO_ROOT / "node_modules"
STATIC_JS = REPO_ROOT / "static" / "js"
# Built by scripts/build_intake.sh from STATIC_JS / "intake.mjs"; the Makefile rebuilds it.
INTAKE_BUNDLE = REPO_ROOT / "static" / "build" / "intake.js"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_intake.sh"
# libsodium.js and its wrappers must run as ONE script: where WebAssembly is missing,
# libsodium.js switches to its JavaScript build in a microtask and, on finishing, deletes the
# module's `ready` promise; as two <script> tags the wrappers would run after that microtask
# and find no `ready` (libsodium.js 0.8.4). In one script they take `ready` first.
SODIUM = "sodium.js"
SODIUM_PARTS = (
    "libsodium/dist/modules/libsodium.js",
    "libsodium-wrappers/dist/modules/libsodium-wrappers.js",
)
INTAKE = "intake.js"
EXTENSION_KEY = "tipline.vendor"

bp = Blueprint("vendor", __name__)


@dataclass(frozen=True)
class ScriptTag:
    """One ``<script>`` of the report page, in load order."""

    src: str
    integrity: str
    module: bool


@dataclass(frozen=True)
class VendorAssets:
    files: dict[str, bytes]  # served name (SODIUM, INTAKE) -> bytes, fixed at start-up
    integrity: dict[str, str]  # served name -> SRI of those bytes

    @property
    def complete(self) -> bool:
        return SODIUM in self.files and INTAKE in self.files


def sri_sha384(data: bytes) -> str:
    """The ``integrity`` value of ``data``: ``sha384-`` and the base64 digest."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def load_assets(
    node_modules: Path = NODE_MODULES, bundle: Path = INTAKE_BUNDLE, static_js: Path = STATIC_JS
) -> VendorAssets:
    """Read the two served files; a missing or stale one is left out (and logged)."""
    files = {}
    try:
        files[SODIUM] = b"\n;\n".join((node_modules / part).read_bytes() for part in SODIUM_PARTS)
    except OSError:
        log.warning(
            "node_modules/libsodium* is missing: run `npm ci`; the report page runs without "
            "JavaScript"
        )
    intake = _read_bundle(bundle, static_js)
    if intake is not None:
        files[INTAKE] = intake
    return VendorAssets(files, {name: sri_sha384(data) for name, data in files.items()})


def _read_bundle(bundle: Path, static_js: Path) -> bytes | None:
    """The bundle's bytes, or None (logged) if it is missing or older than a module of
    ``static_js``, the way make judges it stale."""
    try:
        built = bundle.stat().st_mtime_ns
        data = bundle.read_bytes()
    except OSError:
        log.warning(
            "%s is missing: run `make install`; the report page runs without JavaScript", bundle
        )
        return None
    newer = sorted(path.name for path in static_js.glob("*.mjs") if path.stat().st_mtime_ns > built)
    if newer:
        log.warning(
            "%s is older than %s: run `make install` to rebuild it; until then the report "
            "page runs without JavaScript",
            bundle,
            ", ".join(f"static/js/{name}" for name in newer),
        )
        return None
    return data


def _assets() -> VendorAssets:
    assets: VendorAssets = current_app.extensions[EXTENSION_KEY]
    return assets


@bp.record_once
def _load_on_registration(state: BlueprintSetupState) -> None:
    state.app.extensions[EXTENSION_KEY] = load_assets()
    # Templates call intake_scripts() to emit the script tags.
    state.app.jinja_env.globals["intake_scripts"] = intake_scripts


@bp.get("/vendor/<path:name>")
def asset(name: str) -> Response:
    # A dictionary lookup: "../x" and the like are simply not among the keys.
    data = _assets().files.get(name)
    if data is None:
        abort(404)
    return Response(data, mimetype="text/javascript")


def intake_scripts() -> list[ScriptTag] | None:
    """The report page's script tags with their hashes, or None if a file is unavailable."""
    assets = _assets()
    if not assets.complete:
        return None
    return [
        ScriptTag(url_for("vendor.asset", name=SODIUM), assets.integrity[SODIUM], module=False),
        ScriptTag(url_for("vendor.asset", name=INTAKE), assets.integrity[INTAKE], module=True),
    ]
