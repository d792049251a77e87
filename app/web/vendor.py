"""The browser intake's scripts: libsodium.js and @noble/hashes from node_modules, with SRI.

Both are installed by ``npm ci`` from the pinned package-lock.json and never copied into the
repository. The allow-listed files are read once at start-up and served from memory, so the
bytes a browser receives are exactly the bytes whose SHA-384 the page names: in ``integrity``
attributes for the script tags, and in the import map's ``integrity`` section for every
module the intake imports, the @noble/hashes ones and our own static/js siblings of
intake.mjs (hashed at start-up, so a file changed on disk without a restart is refused and
the form falls back to the no-JavaScript way). Browsers without import-map integrity, such
as Firefox ESR 128, still load them unchecked.

We serve libsodium.js's UMD builds: unlike the ES module build, its UMD build carries a
pure-JavaScript fallback that runs where WebAssembly is unavailable (Tor Browser's "Safer"
level). @noble/hashes ships plain ES modules: static/js/sha256.mjs imports them by the bare
specifier ``@noble/hashes/…``, which Node resolves from node_modules and the page's inline
import map resolves to ``/vendor/noble-hashes/``; the CSP allows that one inline script by its
hash. An import map must be inline to count, and it is the only per-module integrity check
we found Chromium enforcing: ``<link rel="modulepreload" integrity>`` does not protect the
later ``import`` in Chromium 156 (a tampered module that failed its preload check was fetched
again unchecked and ran; tried 2026-11-30, whatwg/html#12922 is still open). If node_modules
is missing the report page simply has no scripts and the form is sent the no-JavaScript way.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, g, url_for
from flask.blueprints import BlueprintSetupState
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from app import REPO_ROOT

log = logging.getLogger("tipline.vendor")

NODE_MODULES = REPO_ROOT / "node_modules"
STATIC_JS = REPO_ROOT / "static" / "js"
# libsodium.js and its wrappers must run as ONE script: where WebAssembly is missing,
# libsodium.js switches to its JavaScript build in a microtask and, on finishing, deletes the
# module's `ready` promise; as two <script> tags the wrappers would run after that microtask
# and find no `ready` (libsodium.js 0.8.4). In one script they take `ready` first.
SODIUM = "sodium.js"
# The import graph of static/js/sha256.mjs in @noble/hashes 2.x: sha2.js and utils.js, and
# what they import by relative path. tests/web/test_api_vendor_assets.py checks this list
# against the files' import statements.
NOBLE_HASHES = ("sha2.js", "_md.js", "_u64.js", "utils.js")
NOBLE_DIR = "noble-hashes"  # served under /vendor/noble-hashes/
# Served name -> files under node_modules, concatenated. Nothing else there is reachable.
VENDOR_FILES = {
    SODIUM: (
        "libsodium/dist/modules/libsodium.js",
        "libsodium-wrappers/dist/modules/libsodium-wrappers.js",
    ),
    **{f"{NOBLE_DIR}/{name}": (f"@noble/hashes/{name}",) for name in NOBLE_HASHES},
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
class IntakeScripts:
    """The report page's scripts: the inline import map first, then the script tags."""

    import_map: Markup  # rendered verbatim: the CSP allows exactly these characters by hash
    tags: list[ScriptTag]


@dataclass(frozen=True)
class VendorAssets:
    files: dict[str, bytes]  # served name -> bytes, fixed at start-up
    integrity: dict[str, str]  # served name -> SRI of those bytes
    intake_integrity: str | None  # of static/js/intake.mjs, or None if it is missing
    # The static/js modules intake.mjs imports, directly or not -> SRI of their bytes at
    # start-up; None if one of them is missing.
    module_integrity: dict[str, str] | None = None

    @property
    def complete(self) -> bool:
        return (
            len(self.files) == len(VENDOR_FILES)
            and self.intake_integrity is not None
            and self.module_integrity is not None
        )


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
        files,
        {name: sri_sha384(data) for name, data in files.items()},
        intake_integrity,
        _module_integrity(static_js),
    )


# Static imports and re-exports: `import { a } from './x.mjs'`, `export * from './x.mjs'`.
_IMPORT = re.compile(r"""^(?:import|export)\s+(?:[\w$*{},\s]+?\s+from\s+)?['"]([^'"]+)['"]""", re.M)


def _module_integrity(static_js: Path) -> dict[str, str] | None:
    """SRI of each module of static/js that intake.mjs imports, directly or not, for the
    import map's ``integrity`` (the page's one way to check imported modules; see the module
    docstring); None, and logged, if one cannot be read."""
    integrity: dict[str, str] = {}
    pending, seen = [INTAKE_MODULE], {INTAKE_MODULE}
    while pending:
        name = pending.pop()
        try:
            data = (static_js / name).read_bytes()
        except OSError:
            log.warning("static/js/%s is missing; the report page runs without JavaScript", name)
            return None
        if name != INTAKE_MODULE:
            integrity[name] = sri_sha384(data)
        for target in _IMPORT.findall(data.decode("utf-8")):
            sibling = target.removeprefix("./")
            if target.startswith("./") and "/" not in sibling and sibling not in seen:
                seen.add(sibling)
                pending.append(sibling)  # anything else is @noble/hashes, mapped above
    return integrity


def _assets() -> VendorAssets:
    assets: VendorAssets = current_app.extensions[EXTENSION_KEY]
    return assets


@bp.record_once
def _load_on_registration(state: BlueprintSetupState) -> None:
    state.app.extensions[EXTENSION_KEY] = load_assets()
    # Templates call intake_scripts() to emit the import map and the script tags.
    state.app.jinja_env.globals["intake_scripts"] = intake_scripts


@bp.get("/vendor/<path:name>")
def asset(name: str) -> Response:
    # A dictionary lookup: "noble-hashes/../x" and the like are simply not among the keys.
    data = _assets().files.get(name)
    if data is None:
        abort(404)
    return Response(data, mimetype="text/javascript")


def import_map(assets: VendorAssets) -> Markup:
    """The page's import map, as JSON safe to put between ``<script>`` tags."""
    integrity = {}
    for name in NOBLE_HASHES:
        served = f"{NOBLE_DIR}/{name}"
        integrity[url_for("vendor.asset", name=served)] = assets.integrity[served]
    for name, value in (assets.module_integrity or {}).items():
        integrity[url_for("static", filename=f"js/{name}")] = value
    prefix = url_for("vendor.asset", name=f"{NOBLE_DIR}/")
    return htmlsafe_json_dumps(
        {"imports": {"@noble/hashes/": prefix}, "integrity": integrity}, separators=(",", ":")
    )


def intake_scripts() -> IntakeScripts | None:
    """The report page's scripts with their hashes, or None if any file is unavailable.

    Records the import map for the Content-Security-Policy, which allows it by its hash.
    """
    assets = _assets()
    if not assets.complete:
        return None
    tags = [ScriptTag(url_for("vendor.asset", name=SODIUM), assets.integrity[SODIUM], False)]
    assert assets.intake_integrity is not None
    tags.append(
        ScriptTag(url_for("static", filename=f"js/{INTAKE_MODULE}"), assets.intake_integrity, True)
    )
    scripts = IntakeScripts(import_map(assets), tags)
    g.csp_inline_scripts = (str(scripts.import_map),)
    return scripts
