"""The demo instance `make run` seeds: two desks, a recovery key file and three staff accounts."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Config
from app.models import Desk, StaffRole
from app.services.desks import add_recovery_key, create_desk
from app.services.staff import create_staff_user
from crypto.keyfile import dump_key_file
from crypto.keys import generate_keypair

DEMO_DESK = "kenya"
TRIAGE_DESK = "triage"
RECOVERY_KEY_FILE = "demo-recovery-key.json"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: StaffRole
    password: str
    totp_secret: str


@dataclass(frozen=True)
class DemoSeed:
    accounts: list[DemoAccount]
    recovery_key_file: Path

    def describe(self, base_url: str) -> str:
        lines = [
            "Demo instance ready. These credentials are shown ONCE; keep them somewhere safe.",
            "",
            f"Desks: '{DEMO_DESK}' (Kenya, Tanzania, Uganda) and '{TRIAGE_DESK}' (I don't know).",
            f"Offline recovery key for both desks: {self.recovery_key_file}",
            "",
        ]
        for account in self.accounts:
            lines.append(
                f"  {account.role.value:<11} {account.username:<16} password: {account.password}"
                f"   TOTP secret: {account.totp_secret}"
            )
        lines += [
            "",
            f"Staff sign in at {base_url}/staff/login once `tipline serve` runs there.",
            "Add the TOTP secret to an authenticator app, or print the current code with:",
            "  .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"",
        ]
        return "\n".join(lines)


def seed_demo(session: Session, config: Config) -> DemoSeed | None:
    """Create the demo desks, recovery key and accounts; ``None`` if they already exist."""
    if session.scalar(select(Desk.id).where(Desk.slug == DEMO_DESK)) is not None:
        return None
    now = datetime.now(UTC)
    create_desk(
        session,
        slug=DEMO_DESK,
        name="Kenya — wildlife prosecutions (demo)",
        country_codes=["KE", "TZ", "UG"],
        languages=["en", "sw"],
        now=now,
        actor_id=None,
    )
    create_desk(
        session,
        slug=TRIAGE_DESK,
        name="Triage — country not known (demo)",
        country_codes=[],
        is_triage=True,
        now=now,
        actor_id=None,
    )
    recovery = generate_keypair()
    key_file = config.data_dir / RECOVERY_KEY_FILE
    _write_private_file(key_file, dump_key_file(recovery))
    for slug in (DEMO_DESK, TRIAGE_DESK):
        add_recovery_key(
            session, slug=slug, public_key=recovery.public_key, label="demo", now=now, actor_id=None
        )

    accounts = []
    for username, role, desks in (
        ("demo-prosecutor", StaffRole.PROSECUTOR, [DEMO_DESK, TRIAGE_DESK]),
        ("demo-officer", StaffRole.OFFICER, [DEMO_DESK, TRIAGE_DESK]),
        ("demo-admin", StaffRole.ADMIN, []),
    ):
        password = "-".join(secrets.token_hex(3) for _ in range(4))
        created = create_staff_user(
            session,
            username=username,
            role=role,
            desk_slugs=desks,
            password=password,
            now=now,
            kdf=config.staff_kdf,
            actor_id=None,
        )
        accounts.append(DemoAccount(username, role, password, created.totp_secret))
    return DemoSeed(accounts=accounts, recovery_key_file=key_file)


def _write_private_file(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as key_file:
        key_file.write(content)
