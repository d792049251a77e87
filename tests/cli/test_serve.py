"""`tipline serve` runs gunicorn: pages answer, tipster visits leave no log line, and several
instances share a host."""

from __future__ import annotations

import json
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from click.testing import CliRunner

from app.cli import cli
from tests.support.served import tipline_serve


def test_serve_answers_and_logs_no_tipster_request(tmp_path: Path, database_url: str) -> None:
    env = {
        "TIPLINE_DATA_DIR": str(tmp_path / "instance"),
        "TIPLINE_DATABASE_URL": database_url,
        "TIPLINE_ENV": "development",
        "PATH": "/usr/bin:/bin",
    }
    assert CliRunner().invoke(cli, ["demo"], env=env).exit_code == 0
    with tipline_serve(env, capture_output=True) as served:
        # The master accepts before its worker has loaded the app: the request waits for it.
        health = urllib.request.urlopen(f"{served.url}/healthz", timeout=30)  # noqa: S310 - loopback
        assert json.load(health) == {
            "status": "ok",
            "database": "ok",
            "blob_store": "ok",
            "rate_limits": "ok",
        }
        landing = urllib.request.urlopen(f"{served.url}/", timeout=5)  # noqa: S310 - loopback
        assert landing.status == 200 and b"Submit a tip" in landing.read()
        assert landing.headers["Cache-Control"] == "no-store"
    output = served.output
    assert "Tipline serving on" in output
    assert "GET /" not in output and "/healthz" not in output


def test_two_instances_serve_side_by_side_and_leave_no_control_socket_in_home(
    tmp_path: Path, database_url: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    # No XDG_RUNTIME_DIR: gunicorn's default control socket would be ~/.gunicorn/gunicorn.ctl.
    base_env = {"HOME": str(home), "TIPLINE_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    envs = [
        {**base_env, "TIPLINE_DATA_DIR": str(tmp_path / name), "TIPLINE_ENV": "development"}
        for name in ("first", "second")
    ]
    for env in envs:
        assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    with ExitStack() as running:
        instances = [running.enter_context(tipline_serve(env, capture_output=True)) for env in envs]
        assert instances[0].port != instances[1].port
        for served in instances:
            health = urllib.request.urlopen(f"{served.url}/healthz", timeout=30)  # noqa: S310 - loopback
            assert json.load(health)["status"] == "ok"
        assert not (home / ".gunicorn").exists()
    assert not (home / ".gunicorn").exists()
    for served in instances:
        assert "Control socket" not in served.output
