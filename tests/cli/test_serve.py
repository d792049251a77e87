"""`tipline serve` runs gunicorn: pages answer, and tipster visits leave no log line."""

from __future__ import annotations

import json
import urllib.request
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
        assert json.load(health) == {"status": "ok", "database": "ok", "blob_store": "ok"}
        landing = urllib.request.urlopen(f"{served.url}/", timeout=5)  # noqa: S310 - loopback
        assert landing.status == 200 and b"Submit a tip" in landing.read()
        assert landing.headers["Cache-Control"] == "no-store"
    output = served.output
    assert "Tipline serving on" in output
    assert "GET /" not in output and "/healthz" not in output
