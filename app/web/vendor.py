"""The browser intake's scripts: libsodium.js from node_modules and our own modules, with SRI.

libsodium.js is installed by ``npm ci`` from the pinned package-lock.json and never copied
into the repository. The allow-listed files are read once at start-up and served from memory,
so the bytes a browser receives are exactly the bytes whose SHA-384 the page names in its
``integrity`` attributes. We serve the UMD builds: unlike the ES module build, libsodium.js's
UMD build carries a pure-JavaScript fallback that runs where WebAssembly is unavailable (Tor
Browser's "Safer" level). If node_modules is missing the report page simply has no scripts
and the form is sent the no-JavaScript way.
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
# Served name -> files under node_modules, concatenated. Nothing else there is reachable.
# libsodium.js and its wrappers must run as ONE script: where WebAssembly is missing,
# libsodium.js switches to its JavaScript build in a microtask and, on finishing, deletes the
# module's `ready` promise; as two <script> tags the wrappers would run after that microtask
# and find no `ready` (libsodium.js 0.8.4). In one script they take `ready` first.
VENDOR_FILES = {
    "sodium.js": (
        "libsodium/dist/modules/libsodium.js",
        "libsodium-wrappers/dist/modules/libsodium-wrappers.js",
    ),
}
INTAKE_MODULE = "intake.mjs"  # under static/js; it imports its siblings
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
    files: dict[str, bytes]  # served name -> bytes, fixed at start-up
    integrity: dict[str, str]  # served name -> SRI of those bytes
    intake_integrity: str | None  # of static/js/intake.mjs, or None if it is missing

    @property
    def complete(self) -> bool:
        return len(self.files) == len(VENDOR_FILES) and self.intake_integrity is not None


def sri_sha384(data: bytes) -> str:
    """The ``integrity`` value of ``data``: ``sha384-`` and the base64 digest."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def load_assets(node_modules: Path = NODE_MODULES, static_js: Path = STATIC_JS) -> VendorAssets:
    """Read the allow-listed files; missing ones are left out (and logged)."""
    files = {}
    for name, parts in VENDOR_FILES.items():
        try:
            files[name] = b"\n;\n".join((node_modules / part).read_bytes() for part in parts)
        except OSError:
            log.warning(
                "%s is missing: run `npm ci`; the report page runs without JavaScript", name
            )
    try:
        intake_integrity: str | None = sri_sha384((static_js / INTAKE_MODULE).read_bytes())
    except OSError:
        log.warning(
            "static/js/%s is missing; the report page runs without JavaScript", INTAKE_MODULE
        )
        intake_integrity = None
    return VendorAssets(
        files, {name: sri_sha384(data) for name, data in files.items()}, intake_integrity
    )


def _assets() -> VendorAssets:
    assets: VendorAssets = current_app.extensions[EXTENSION_KEY]
    return assets


@bp.record_once
def _load_on_registration(state: BlueprintSetupState) -> None:
    state.app.extensions[EXTENSION_KEY] = load_assets()
    # Templates call intake_scripts() to emit the script tags.
    state.app.jinja_env.globals["intake_scripts"] = intake_scripts


@bp.get("/vendor/<name>")
def asset(name: str) -> Response:
    data = _assets().files.get(name)
    if data is None:
        abort(404)
    return Response(data, mimetype="text/javascript")


def intake_scripts() -> list[ScriptTag]:
    """The report page's scripts with their SRI hashes, or none if any is unavailable."""
    assets = _assets()
    if not assets.complete:
        return []
    tags = [
        ScriptTag(url_for("vendor.asset", name=name), assets.integrity[name], False)
        for name in VENDOR_FILES
    ]
    assert assets.intake_integrity is not None
    tags.append(
        ScriptTag(url_for("static", filename=f"js/{INTAKE_MODULE}"), assets.intake_integrity, True)
    )
    return tags
