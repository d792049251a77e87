"""Fixtures for tests that drive the web app."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.config import Config, Environment, StaffKdf
from app.instance import init_instance
from app.services.desks import add_recovery_key, create_desk
from crypto.keys import KeyPair, generate_keypair

CSRF_PATTERN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def make_test_config(database_url: str, data_dir: Path, **overrides: object) -> Config:
    init_instance(data_dir)
    values: dict[str, object] = {
        "env": Environment.TESTING,
        "data_dir": data_dir,
        "database_url": database_url,
        "secret_key": os.urandom(32),
        "pepper": os.urandom(32),
        # Staff key wrapping at libsodium's minimum cost: tests check logic, not Argon2's cost.
        "staff_kdf": StaffKdf(opslimit=1, memlimit=8 * 1024 * 1024),
    }
    values.update(overrides)
    return Config(**values)  # type: ignore[arg-type]


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> Config:
    return make_test_config(database_url, tmp_path / "instance")


@pytest.fixture
def app(app_config: Config) -> Iterator[Flask]:
    flask_app = create_app(app_config)
    yield flask_app
    flask_app.extensions["tipline.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass(frozen=True)
class ReceivingDesk:
    slug: str
    recovery: KeyPair


def add_desk(
    app: Flask, slug: str, countries: list[str], *, with_key: bool = True, triage: bool = False
) -> ReceivingDesk:
    """A desk (with an offline recovery key unless ``with_key`` is false)."""
    recovery = generate_keypair()
    session = app.extensions["tipline.sessions"]()
    try:
        create_desk(
            session,
            slug=slug,
            name=f"Desk {slug}",
            country_codes=countries,
            is_triage=triage,
            now=datetime.now(UTC),
            actor_id=None,
        )
        if with_key:
            add_recovery_key(
                session,
                slug=slug,
                public_key=recovery.public_key,
                label="test",
                now=datetime.now(UTC),
                actor_id=None,
            )
        session.commit()
    finally:
        session.close()
    return ReceivingDesk(slug, recovery)


@pytest.fixture
def desk(app: Flask) -> ReceivingDesk:
    return add_desk(app, "kenya", ["KE", "TZ"])


def csrf_token_from(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def csrf_token(client: FlaskClient, path: str = "/status") -> str:
    return csrf_token_from(client.get(path).get_data(as_text=True))


@pytest.fixture
def private_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A TMPDIR of the test's own, so a test can prove nothing was written there."""
    import tempfile

    directory = tmp_path / "tmpdir"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory
