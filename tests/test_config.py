"""The config refuses to start on a missing or weak secret, naming it (STYLE 1)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from app.config import BlobStoreKind, Config, ConfigError, Environment
from app.instance import init_instance


def good_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "TIPLINE_DATA_DIR": str(tmp_path),
        "TIPLINE_SECRET_KEY": secrets.token_hex(32),
        "TIPLINE_PEPPER": secrets.token_hex(32),
    }
    env.update(extra)
    return env


def test_a_complete_environment_gives_a_frozen_config(tmp_path: Path) -> None:
    config = Config.from_env(good_env(tmp_path, TIPLINE_BLOB_STORE="database"))
    assert config.env is Environment.PRODUCTION
    assert config.blob_store is BlobStoreKind.DATABASE
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'tipline.sqlite3'}"
    assert config.secure_cookies is True
    with pytest.raises(AttributeError):
        config.pepper = b"x" * 32  # type: ignore[misc]


def test_secrets_never_appear_in_the_config_repr(tmp_path: Path) -> None:
    env = good_env(tmp_path)
    text = repr(Config.from_env(env))
    assert env["TIPLINE_SECRET_KEY"] not in text and "secret_key=" not in text
    assert env["TIPLINE_PEPPER"] not in text


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("TIPLINE_SECRET_KEY", "", "TIPLINE_SECRET_KEY is missing"),
        ("TIPLINE_SECRET_KEY", "change me!", "TIPLINE_SECRET_KEY is not hex or base64"),
        ("TIPLINE_SECRET_KEY", "changeme", "TIPLINE_SECRET_KEY is too short"),
        ("TIPLINE_SECRET_KEY", "ab" * 16, "TIPLINE_SECRET_KEY is too short"),
        ("TIPLINE_SECRET_KEY", "00" * 32, "TIPLINE_SECRET_KEY is weak"),
        ("TIPLINE_PEPPER", "", "TIPLINE_PEPPER is missing"),
        ("TIPLINE_PEPPER", "0123456789abcdef" * 2, "TIPLINE_PEPPER must be exactly 32 bytes"),
        ("TIPLINE_PEPPER", "abab" * 16, "TIPLINE_PEPPER is weak"),
        ("TIPLINE_ENV", "staging", "TIPLINE_ENV='staging' is not one of"),
        ("TIPLINE_BLOB_STORE", "s3", "TIPLINE_BLOB_STORE='s3' is not one of"),
        ("TIPLINE_MAX_UPLOAD_BYTES", "lots", "TIPLINE_MAX_UPLOAD_BYTES='lots' is not a whole"),
        ("TIPLINE_STAFF_SESSION_IDLE_MINUTES", "0", "TIPLINE_STAFF_SESSION_IDLE_MINUTES must be"),
        ("TIPLINE_STAFF_SESSION_MAX_HOURS", "12h", "TIPLINE_STAFF_SESSION_MAX_HOURS='12h' is not"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(
    tmp_path: Path, variable: str, value: str, complaint: str
) -> None:
    env = good_env(tmp_path)
    env[variable] = value
    with pytest.raises(ConfigError, match=complaint.replace("(", r"\(")):
        Config.from_env(env)


def test_secrets_can_come_from_instance_files_made_by_init(tmp_path: Path) -> None:
    created = init_instance(tmp_path)
    assert sorted(p.name for p in created) == ["pepper", "secret_key"]
    for path in created:
        assert path.stat().st_mode & 0o777 == 0o600
    assert tmp_path.stat().st_mode & 0o777 == 0o700
    config = Config.from_env({"TIPLINE_DATA_DIR": str(tmp_path)})
    assert config.pepper.hex() == (tmp_path / "pepper").read_text().strip()


def test_init_twice_keeps_the_secrets(tmp_path: Path) -> None:
    init_instance(tmp_path)
    before = (tmp_path / "pepper").read_bytes()
    assert init_instance(tmp_path) == []
    assert (tmp_path / "pepper").read_bytes() == before


def test_a_secret_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    init_instance(tmp_path)
    os.chmod(tmp_path / "secret_key", 0o644)
    with pytest.raises(ConfigError, match="readable by others; run: chmod 600"):
        Config.from_env({"TIPLINE_DATA_DIR": str(tmp_path)})
