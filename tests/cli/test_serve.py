"""`tipline serve` runs gunicorn: pages answer, and tipster visits leave no log line."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from app.cli import cli


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_answers_and_logs_no_tipster_request(tmp_path: Path, database_url: str) -> None:
    env = {
        "TIPLINE_DATA_DIR": str(tmp_path / "instance"),
        "TIPLINE_DATABASE_URL": database_url,
        "TIPLINE_ENV": "development",
        "PATH": "/usr/bin:/bin",
    }
    assert CliRunner().invoke(cli, ["demo"], env=env).exit_code == 0
    port = free_port()
    script = Path(sys.executable).with_name("tipline")
    server = subprocess.Popen(
        [str(script), "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = urllib.request.urlopen(f"{base}/healthz", timeout=2)  # noqa: S310 - loopback
                break
            except OSError:
                assert server.poll() is None, "server exited early"
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert json.load(health) == {"status": "ok", "database": "ok", "blob_store": "ok"}
        landing = urllib.request.urlopen(f"{base}/", timeout=5)  # noqa: S310 - loopback
        assert landing.status == 200 and b"Submit a tip" in landing.read()
        assert landing.headers["Cache-Control"] == "no-store"
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert "Tipline serving on" in output
    assert "GET /" not in output and "/healthz" not in output
