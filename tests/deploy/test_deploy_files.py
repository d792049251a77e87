"""The deployment files keep the promises: no access logs, no buffering of plaintext uploads."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

from app.server import gunicorn_options
from tests.support.nginx_server import NginxSite

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


def test_nginx_passes_tors_circuit_id_and_only_that() -> None:
    conf = (DEPLOY / "nginx.conf").read_text()
    assert "listen 127.0.0.1:8080 proxy_protocol;" in conf
    assert "proxy_set_header X-Tor-Circuit $proxy_protocol_addr;" in conf
    # The circuit id never becomes nginx's client address (and so never reaches a log line).
    assert "real_ip_header" not in conf and "set_real_ip_from" not in conf


def test_onion_service_exports_circuit_ids_and_defends_floods_with_proof_of_work() -> None:
    torrc = (DEPLOY / "torrc").read_text()
    assert "HiddenServiceExportCircuitID haproxy" in torrc
    assert "HiddenServicePoWDefensesEnabled 1" in torrc


def test_nginx_accepts_the_deployed_configuration(tmp_path: Path) -> None:
    checked = NginxSite(tmp_path / "nginx", listen_port=8080, app_port=5000).check()
    assert checked.returncode == 0, checked.stderr


def test_tor_accepts_the_deployed_torrc(tmp_path: Path) -> None:
    tor = shutil.which("tor", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/bin")
    if tor is None:
        pytest.fail("tor is missing: install Debian's tor package (apt-get install tor).")
    torrc = (DEPLOY / "torrc").read_text()
    assert "HiddenServiceDir /var/lib/tor/tipline/" in torrc
    service_dir = tmp_path / "onion"
    (tmp_path / "torrc").write_text(torrc.replace("/var/lib/tor/tipline/", f"{service_dir}/"))
    (tmp_path / "defaults").write_text("")
    checked = subprocess.run(
        [
            tor,
            "--verify-config",
            "-f",
            str(tmp_path / "torrc"),
            "--defaults-torrc",
            str(tmp_path / "defaults"),
            "--DataDirectory",
            str(tmp_path / "data"),
            "--SocksPort",
            "0",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Configuration was valid" in checked.stdout
