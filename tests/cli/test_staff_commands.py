"""`tipline users add|join|leave` as an admin scripts them (issue 6)."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from app.cli import cli


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_users_add_with_files_join_and_leave(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "init").exit_code == 0
    assert run(env, "desks", "add", "kenya", "--name", "Kenya", "--country", "KE").exit_code == 0
    password_file = tmp_path / "password"
    password_file.write_text("Rhino-horn-courier-42\n")
    secret_file = tmp_path / "totp"
    added = run(
        env,
        "users", "add", "pat", "--role", "prosecutor",
        "--password-file", str(password_file), "--totp-secret-file", str(secret_file),
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    secret = secret_file.read_text().strip()
    assert secret not in added.output and pyotp.TOTP(secret).now().isdigit()
    assert secret_file.stat().st_mode & 0o777 == 0o600

    joined = run(env, "users", "join", "pat", "kenya")
    assert joined.exit_code == 0 and "joined desk 'kenya'" in joined.output
    again = CliRunner().invoke(cli, ["users", "join", "pat", "kenya"], env=env)
    assert again.exit_code != 0 and "already a member" in again.output
    assert "pat" in run(env, "users", "list").output

    left = run(env, "users", "leave", "pat", "kenya")
    assert left.exit_code == 0 and "0 sealed keys deleted" in left.output
    engine = create_engine(env["TIPLINE_DATABASE_URL"])
    with engine.connect() as connection:
        actions = connection.execute(text("SELECT action FROM audit_events ORDER BY id")).all()
    engine.dispose()
    assert [a for (a,) in actions][-2:] == ["desk.member_added", "desk.member_removed"]


def test_users_add_without_password_prints_an_invitation(env: dict[str, str]) -> None:
    assert run(env, "init").exit_code == 0
    added = run(env, "users", "add", "olive", "--role", "officer")
    assert added.exit_code == 0
    assert re.search(r"/staff/invitation/[A-Za-z0-9_-]{40,}", added.output)
