"""Real Chromium (Debian's, through Playwright) against the app served on a loopback port.

A missing Chromium, node_modules or intake bundle fails these tests with a clear message; they
never skip. Playwright never downloads a browser here: it drives /usr/bin/chromium.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import REPO_ROOT, create_app
from app.config import Config
from app.web.vendor import INTAKE_BUNDLE, load_assets
from tests.web.conftest import ReceivingDesk, add_desk, make_test_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
NODE_MODULES = REPO_ROOT / "node_modules"


def require_browser_components() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)."
        )
    for package in ("libsodium", "libsodium-wrappers", "@noble/hashes"):
        if not (NODE_MODULES / package).is_dir():
            pytest.fail(f"node_modules/{package} is missing: run `npm ci` in the repository root.")
    if not load_assets().complete:  # the app would serve the report page without scripts
        pytest.fail(f"{INTAKE_BUNDLE} is missing or stale: run `make install`.")


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """One Chromium per test worker; each test opens its own context (cookies, storage)."""
    require_browser_components()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask
    config: Config


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The app on 127.0.0.1 and a free port, one thread per request, for this test only."""
    config = make_test_config(database_url, tmp_path / "instance")
    flask_app = create_app(config)
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", flask_app, config)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        flask_app.extensions["tipline.engine"].dispose()


@pytest.fixture
def live_desk(live_server: LiveServer) -> ReceivingDesk:
    """A desk for Kenya with an offline recovery key, on the live server's database."""
    return add_desk(live_server.app, "kenya", ["KE"])
