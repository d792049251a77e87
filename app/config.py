"""Typed, frozen configuration built from ``TIPLINE_*`` variables.

This is the only module that reads the process environment. Secrets may come from the
environment or from 0600 files in the data directory (written by ``tipline init``); a missing or
weak secret stops the app with one line naming it.
"""

from __future__ import annotations

import binascii
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
PEPPER_FILE = "pepper"
MIN_SECRET_KEY_BYTES = 32
PEPPER_BYTES = 32
DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024**3
# Code logins derive Argon2id keys; at most this many at once per worker process.
DEFAULT_CODE_LOGIN_SLOTS = 2

_E = TypeVar("_E", bound=StrEnum)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the variable and what to do."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TESTING = "testing"


class BlobStoreKind(StrEnum):
    FILE = "file"
    DATABASE = "database"


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"  # a relay on localhost only


SMTP_DEFAULT_PORTS = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465, SmtpSecurity.NONE: 25}


@dataclass(frozen=True)
class SmtpConfig:
    """Where the daily digest is mailed (``TIPLINE_SMTP_*``); absent when no host is set."""

    host: str
    port: int
    security: SmtpSecurity
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StaffKdf:
    """Argon2id cost for wrapping staff secret keys (raised over time; stored beside each blob)."""

    opslimit: int = 3
    memlimit: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class Config:
    env: Environment
    data_dir: Path
    database_url: str
    secret_key: bytes = field(repr=False)
    pepper: bytes = field(repr=False)
    redis_url: str | None = None
    blob_store: BlobStoreKind = BlobStoreKind.FILE
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    tipster_session_idle_minutes: int = 30
    staff_session_idle_minutes: int = 30
    staff_session_max_hours: int = 12
    staff_kdf: StaffKdf = field(default_factory=StaffKdf)
    smtp: SmtpConfig | None = None
    # Only behind our nginx, which sets X-Tor-Circuit from tor's PROXY header (deploy/).
    trust_circuit_header: bool = False
    code_login_slots: int = DEFAULT_CODE_LOGIN_SLOTS
    code_login_wait_seconds: float = 1.0

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry the Secure flag everywhere except local development over plain HTTP."""
        return self.env is not Environment.DEVELOPMENT

    @property
    def rate_limit_storage_uri(self) -> str:
        return self.redis_url or "memory://"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Build the config from ``TIPLINE_*`` variables (``os.environ`` when not given).

        :raises ConfigError: a value is missing, malformed or a secret is weak.
        """
        env_vars = os.environ if environ is None else environ
        env = _parse_enum(Environment, "TIPLINE_ENV", env_vars.get("TIPLINE_ENV", "production"))
        data_dir = data_dir_from_env(env_vars)
        database_url = env_vars.get("TIPLINE_DATABASE_URL") or default_database_url(data_dir)
        secret_key = _read_secret(env_vars, "TIPLINE_SECRET_KEY", data_dir / SECRET_KEY_FILE)
        pepper = _read_secret(env_vars, "TIPLINE_PEPPER", data_dir / PEPPER_FILE)
        return cls(
            env=env,
            data_dir=data_dir,
            database_url=database_url,
            secret_key=check_secret_key(secret_key),
            pepper=check_pepper(pepper),
            redis_url=env_vars.get("TIPLINE_REDIS_URL") or None,
            blob_store=_parse_enum(
                BlobStoreKind, "TIPLINE_BLOB_STORE", env_vars.get("TIPLINE_BLOB_STORE", "file")
            ),
            max_upload_bytes=_parse_positive_int(
                env_vars, "TIPLINE_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES
            ),
            staff_session_idle_minutes=_parse_positive_int(
                env_vars, "TIPLINE_STAFF_SESSION_IDLE_MINUTES", 30
            ),
            staff_session_max_hours=_parse_positive_int(
                env_vars, "TIPLINE_STAFF_SESSION_MAX_HOURS", 12
            ),
            smtp=smtp_from_env(env_vars),
            trust_circuit_header=_parse_bool(env_vars, "TIPLINE_TRUST_CIRCUIT_HEADER"),
            code_login_slots=_parse_positive_int(
                env_vars, "TIPLINE_CODE_LOGIN_SLOTS", DEFAULT_CODE_LOGIN_SLOTS
            ),
        )


def smtp_from_env(environ: Mapping[str, str]) -> SmtpConfig | None:
    """The digest's SMTP settings, or None when ``TIPLINE_SMTP_HOST`` is unset.

    :raises ConfigError: a host without sender or recipients, or a bad port or security mode.
    """
    host = environ.get("TIPLINE_SMTP_HOST", "").strip()
    if not host:
        return None
    security = _parse_enum(
        SmtpSecurity, "TIPLINE_SMTP_SECURITY", environ.get("TIPLINE_SMTP_SECURITY", "starttls")
    )
    sender = environ.get("TIPLINE_SMTP_FROM", "").strip()
    recipients = tuple(
        address.strip()
        for address in environ.get("TIPLINE_DIGEST_TO", "").split(",")
        if address.strip()
    )
    if "@" not in sender:
        raise ConfigError(
            "TIPLINE_SMTP_FROM must be an email address when TIPLINE_SMTP_HOST is set"
        )
    if not recipients or any("@" not in address for address in recipients):
        raise ConfigError(
            "TIPLINE_DIGEST_TO must list the digest's email addresses (comma-separated) "
            "when TIPLINE_SMTP_HOST is set"
        )
    return SmtpConfig(
        host=host,
        port=_parse_positive_int(environ, "TIPLINE_SMTP_PORT", SMTP_DEFAULT_PORTS[security]),
        security=security,
        sender=sender,
        recipients=recipients,
        username=environ.get("TIPLINE_SMTP_USERNAME") or None,
        password=environ.get("TIPLINE_SMTP_PASSWORD") or None,
    )


def data_dir_from_env(environ: Mapping[str, str] | None = None) -> Path:
    """The data directory alone: ``tipline init`` needs it before any secret exists."""
    env_vars = os.environ if environ is None else environ
    return Path(env_vars.get("TIPLINE_DATA_DIR") or "instance").resolve()


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'tipline.sqlite3'}"


def decode_secret(name: str, text: str) -> bytes:
    """Secrets are hex (preferred, what ``tipline init`` writes) or standard/url-safe base64.

    :raises ConfigError: the text is neither.
    """
    text = text.strip()
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        padded = text + "=" * (-len(text) % 4)
        return binascii.a2b_base64(padded.replace("-", "+").replace("_", "/"), strict_mode=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"{name} is not hex or base64; generate one with: "
            "python3 -c 'import secrets; print(secrets.token_hex(32))'"
        ) from None


def check_secret_key(secret: bytes) -> bytes:
    """:raises ConfigError: the key is shorter than 32 bytes or visibly not random."""
    if len(secret) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"TIPLINE_SECRET_KEY is too short ({len(secret)} bytes); it needs at least "
            f"{MIN_SECRET_KEY_BYTES} random bytes"
        )
    if _looks_weak(secret):
        raise ConfigError("TIPLINE_SECRET_KEY is weak (repeated bytes); generate a random one")
    return secret


def check_pepper(pepper: bytes) -> bytes:
    """:raises ConfigError: the pepper is not exactly 32 random bytes."""
    if len(pepper) != PEPPER_BYTES:
        raise ConfigError(
            f"TIPLINE_PEPPER must be exactly {PEPPER_BYTES} bytes (64 hex characters), "
            f"got {len(pepper)}"
        )
    if _looks_weak(pepper):
        raise ConfigError("TIPLINE_PEPPER is weak (repeated bytes); generate a random one")
    return pepper


def _looks_weak(secret: bytes) -> bool:
    # 32 random bytes almost surely have > 16 distinct values; "0000…" or "abab…" do not.
    return len(set(secret)) < len(secret) // 4


def _read_secret(environ: Mapping[str, str], name: str, fallback_file: Path) -> bytes:
    if environ.get(name):
        return decode_secret(name, environ[name])
    try:
        info = fallback_file.stat()
    except FileNotFoundError:
        raise ConfigError(
            f"{name} is missing: set it, or run 'tipline init' to create {fallback_file}"
        ) from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{name} file {fallback_file} is readable by others; run: chmod 600 {fallback_file}"
        )
    return decode_secret(name, fallback_file.read_text(encoding="ascii"))


def _parse_enum(enum: type[_E], name: str, value: str) -> _E:
    try:
        return enum(value.strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ConfigError(f"{name}={value!r} is not one of: {allowed}") from None


def _parse_bool(environ: Mapping[str, str], name: str) -> bool:
    """Unset or empty is false.

    :raises ConfigError: anything but 1/0, true/false, yes/no, on/off.
    """
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}={raw!r} is not one of: 1, 0, true, false, yes, no, on, off")


def _parse_positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value
