"""The `tipline` command: init, db upgrade, demo, desks, users (issue 'foundation')."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app.cli import cli


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "serve", "db", "demo", "desks", "users", "keys", "decrypt"):
        assert f"  {command} " in result.output


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("tipline")
    completed = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert completed.returncode == 0 and "end-to-end encrypted tip line" in completed.stdout


def test_demo_seeds_once_and_keeps_data_when_run_again(env: dict[str, str]) -> None:
    first = run(env, "demo")
    assert first.exit_code == 0, first.output
    assert "demo-prosecutor" in first.output and "TOTP secret" in first.output
    data_dir = Path(env["TIPLINE_DATA_DIR"])
    key_file = data_dir / "demo-recovery-key.json"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (data_dir / "secret_key").stat().st_mode & 0o777 == 0o600
    pepper_before = (data_dir / "pepper").read_bytes()

    second = run(env, "demo")
    assert second.exit_code == 0
    assert "already present" in second.output and "password" not in second.output
    assert (data_dir / "pepper").read_bytes() == pepper_before
    listing = run(env, "users", "list").output
    assert "demo-prosecutor" in listing and "demo-officer" in listing and "demo-admin" in listing
    desks = run(env, "desks", "list").output
    assert "kenya" in desks and "KE,TZ,UG" in desks and "2 recipient keys" in desks


def test_demo_prints_the_sign_in_address_of_the_port_it_is_given(env: dict[str, str]) -> None:
    result = run(env, "demo", "--port", "5123")
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5123/staff/login" in result.output
    assert ":5000" not in result.output


def test_sqlite_instance_uses_wal(env: dict[str, str]) -> None:
    env = {k: v for k, v in env.items() if k != "TIPLINE_DATABASE_URL"}
    assert run(env, "demo").exit_code == 0
    import sqlite3

    database = Path(env["TIPLINE_DATA_DIR"]) / "tipline.sqlite3"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_desks_and_users_can_be_managed(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "init").exit_code == 0
    assert run(env, "db", "upgrade").exit_code == 0
    added = run(env, "desks", "add", "france", "--name", "France — OCLAESP", "--country", "fr")
    assert added.exit_code == 0, added.output
    password_file = tmp_path / "pw"
    password_file.write_text("correct horse battery staple 42\n")
    totp_file = tmp_path / "totp"
    user = run(
        env,
        "users",
        "add",
        "amelie",
        "--role",
        "prosecutor",
        "--desk",
        "france",
        "--password-file",
        str(password_file),
        "--totp-secret-file",
        str(totp_file),
    )
    assert user.exit_code == 0, user.output
    assert totp_file.stat().st_mode & 0o777 == 0o600 and len(totp_file.read_text().strip()) >= 16
    invited = run(env, "users", "add", "bruno", "--role", "officer", "--desk", "france")
    assert "One-time invitation link" in invited.output
    assert "3 recipient" not in run(env, "desks", "list").output
    assert "1 recipient keys" in run(env, "desks", "list").output  # amelie's key
    assert run(env, "users", "disable", "amelie").exit_code == 0
    assert "amelie               prosecutor  disabled" in run(env, "users", "list").output
    assert "0 recipient keys" in run(env, "desks", "list").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["desks", "add", "x y", "--name", "X", "--country", "KE"], "A desk slug is"),
        (["desks", "add", "mars", "--name", "Mars", "--country", "ZZ"], "'ZZ' is not an ISO"),
        (["users", "add", "carol", "--role", "officer", "--desk", "nowhere"], "no desk 'nowhere'"),
        (["users", "disable", "nobody"], "There is no staff account 'nobody'"),
    ],
)
def test_failures_print_one_line_and_exit_2(
    env: dict[str, str], args: list[str], message: str
) -> None:
    run(env, "init")
    run(env, "db", "upgrade")
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_weak_password_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "init")
    run(env, "db", "upgrade")
    weak = tmp_path / "weak"
    weak.write_text("password1234")
    result = CliRunner().invoke(
        cli, ["users", "add", "dan", "--role", "admin", "--password-file", str(weak)], env=env
    )
    assert result.exit_code == 2 and "commonly used word" in result.output


def test_missing_secret_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["db", "upgrade"], env={"TIPLINE_DATA_DIR": str(tmp_path / "empty")}
    )
    assert result.exit_code == 2
    assert "TIPLINE_SECRET_KEY is missing" in result.output
    assert os.path.exists(tmp_path / "empty") is False


def test_a_recovery_key_file_adds_its_public_half_to_a_desk(
    env: dict[str, str], tmp_path: Path
) -> None:
    run(env, "init")
    run(env, "db", "upgrade")
    run(env, "desks", "add", "france", "--name", "France", "--country", "FR")
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("a long offline passphrase for the desk\n")
    key_file = tmp_path / "recovery.json"
    generated = run(
        env, "keys", "generate", "--out", str(key_file), "--passphrase-file", str(passphrase)
    )
    assert generated.exit_code == 0, generated.output
    added = run(env, "desks", "add-recovery-key", "france", str(key_file))
    assert added.exit_code == 0, added.output
    assert "1 recipient keys" in run(env, "desks", "list").output
    again = CliRunner().invoke(cli, ["desks", "add-recovery-key", "france", str(key_file)], env=env)
    assert again.exit_code == 2 and "already has recovery key" in again.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "tipline-key", "public_key": "AAAA", "key_id": "00"}')
    refused = CliRunner().invoke(cli, ["desks", "add-recovery-key", "france", str(broken)], env=env)
    assert refused.exit_code == 2 and "not a valid Tipline key file" in refused.output


def test_a_key_file_with_an_unprotected_secret_is_refused_as_the_web_admin_refuses_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    run(env, "init")
    run(env, "db", "upgrade")
    run(env, "desks", "add", "france", "--name", "France", "--country", "FR")
    plain = tmp_path / "plain.json"
    assert run(env, "keys", "generate", "--out", str(plain)).exit_code == 0
    refused = CliRunner().invoke(cli, ["desks", "add-recovery-key", "france", str(plain)], env=env)
    assert refused.exit_code == 2 and "unprotected" in refused.output
    assert "0 recipient keys" in run(env, "desks", "list").output


OFFLINE_PROBE = """
import sys
class RefuseServerLibraries:
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('flask', 'sqlalchemy', 'werkzeug', 'alembic', 'psycopg'):
            raise ImportError('not on an offline machine: ' + name)
sys.meta_path.insert(0, RefuseServerLibraries())
from app.cli import main
sys.argv = ['tipline', 'keys', 'generate', '--out', sys.argv[1]]
main()
"""


def test_offline_commands_run_without_any_server_library(tmp_path: Path) -> None:
    key_file = tmp_path / "offline.json"
    completed = subprocess.run(
        [sys.executable, "-c", OFFLINE_PROBE, str(key_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert key_file.exists()


def test_the_commands_are_reachable_through_flask_too(env: dict[str, str]) -> None:
    run(env, "init")
    flask = Path(sys.executable).with_name("flask")
    completed = subprocess.run(
        [str(flask), "--app", "app", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    assert completed.returncode == 0, completed.stderr
    for command in ("desks", "users", "audit", "purge", "decrypt"):
        assert f"  {command} " in completed.stdout
