"""The deployment files keep the promises: no access logs, no buffering of plaintext uploads."""

from __future__ import annotations

import runpy
from pathlib import Path

from app.server import gunicorn_options

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_gunicorn_config_has_no_access_log_and_matches_tipline_serve() -> None:
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert settings["accesslog"] is None
    served = gunicorn_options("127.0.0.1", 5000, 4)
    for name in (
        "worker_class",
        "threads",
        "timeout",
        "accesslog",
        "bind",
        "workers",
        "control_socket_disable",
    ):
        assert settings[name] == served[name], name


def test_nginx_logs_no_access_and_streams_uploads() -> None:
    conf = (DEPLOY / "nginx.conf").read_text()
    assert "access_log off;" in conf
    assert "proxy_request_buffering off;" in conf
    assert "proxy_set_header X-Real-IP" not in conf
    assert "listen 127.0.0.1:" in conf


def test_onion_service_points_at_nginx() -> None:
    torrc = (DEPLOY / "torrc").read_text()
    nginx_port = "8080"
    assert f"HiddenServicePort 80 127.0.0.1:{nginx_port}" in torrc
    assert f"listen 127.0.0.1:{nginx_port}" in (DEPLOY / "nginx.conf").read_text()
    assert "HiddenServiceVersion 3" in torrc


def test_systemd_unit_forbids_core_dumps_and_shares_no_tmp() -> None:
    unit = (DEPLOY / "tipline.service").read_text()
    for directive in ("LimitCORE=0", "PrivateTmp=true", "UMask=0077", "NoNewPrivileges=true"):
        assert directive in unit


def test_retention_purge_runs_daily_through_the_tipline_command() -> None:
    service = (DEPLOY / "tipline-purge.service").read_text()
    timer = (DEPLOY / "tipline-purge.timer").read_text()
    assert "ExecStart=/opt/tipline/.venv/bin/tipline purge" in service
    assert "LimitCORE=0" in service
    assert "OnCalendar=daily" in timer


def test_the_digest_is_mailed_every_morning_through_the_tipline_command() -> None:
    service = (DEPLOY / "tipline-digest.service").read_text()
    timer = (DEPLOY / "tipline-digest.timer").read_text()
    assert "ExecStart=/opt/tipline/.venv/bin/tipline digest send" in service
    assert "LimitCORE=0" in service and "EnvironmentFile=/etc/tipline/env" in service
    assert "OnCalendar=*-*-* 07:00:00" in timer
