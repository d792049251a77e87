"""The deployed path end to end: tor's PROXY header -> nginx (deploy/nginx.conf, the real
nginx) -> X-Tor-Circuit -> `tipline serve` (gunicorn), with TIPLINE_TRUST_CIRCUIT_HEADER=1.

The client plays tor: each connection starts with the PROXY v1 line tor writes for a circuit
(``HiddenServiceExportCircuitID haproxy``). One circuit's flood of wrong codes never stops
another circuit's valid code; a client can neither forge the header nor skip the PROXY line.
"""

from __future__ import annotations

import http.client
import re
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import create_app
from app.cli import cli
from app.config import Config
from app.web.rate_limits import CIRCUIT_HEADER, PER_CLIENT_CODE_LOGINS
from tests.support.nginx_server import request_as_tor, running_nginx
from tests.support.served import tipline_serve
from tests.web.conftest import CSRF_PATTERN, add_desk
from tests.web.tipster_steps import submit_report

PER_CLIENT = int(PER_CLIENT_CODE_LOGINS.split()[0])
WRONG_CODE = "abandon " * 8
FLOODER, TIPSTER = 0x0A0B0C0D, 0x01020304


class TorClient:
    """A browser on one Tor circuit: its own session cookie, requests through nginx."""

    def __init__(self, port: int, circuit_id: int) -> None:
        self.port = port
        self.circuit_id = circuit_id
        self.cookie = ""
        self.csrf = ""

    def open_code_page(self) -> None:
        page = request_as_tor(self.port, self.circuit_id, "GET", "/status")
        assert page.status == 200
        set_cookie = page.headers.get_all("Set-Cookie") or []
        self.cookie = next(c.split(";")[0] for c in set_cookie if c.startswith("tipline_session="))
        match = CSRF_PATTERN.search(page.text)
        assert match is not None
        self.csrf = match.group(1)

    def try_code(self, code: str, **extra_headers: str) -> int:
        body = urllib.parse.urlencode({"csrf_token": self.csrf, "code": code}).encode()
        headers = {
            "Cookie": self.cookie,
            "Content-Type": "application/x-www-form-urlencoded",
            **extra_headers,
        }
        return request_as_tor(
            self.port, self.circuit_id, "POST", "/status", headers=headers, body=body
        ).status


def test_one_circuits_flood_never_stops_another_circuits_valid_code(
    database_url: str, tmp_path: Path
) -> None:
    env = {
        "TIPLINE_DATA_DIR": str(tmp_path / "instance"),
        "TIPLINE_DATABASE_URL": database_url,
        "TIPLINE_ENV": "development",
        "TIPLINE_TRUST_CIRCUIT_HEADER": "1",
        "PATH": "/usr/bin:/bin",
    }
    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    setup_app = create_app(Config.from_env(env))  # same database, blobs and pepper
    desk = add_desk(setup_app, "kenya", ["KE"])
    code = submit_report(setup_app.test_client(), desk.slug, {"description": "live parrots"}).code
    assert code is not None
    setup_app.extensions["tipline.engine"].dispose()

    with (
        tipline_serve(env) as served,
        running_nginx(tmp_path / "nginx", served.port) as nginx,
    ):
        flooder = TorClient(nginx.listen_port, FLOODER)
        flooder.open_code_page()
        flood = [flooder.try_code(WRONG_CODE) for _ in range(PER_CLIENT + 5)]
        assert flood[:PER_CLIENT] == [403] * PER_CLIENT
        assert set(flood[PER_CLIENT:]) == {429}

        # A new cookie on the same circuit is the same client; so is a forged header.
        flooder.open_code_page()
        assert flooder.try_code(code) == 429
        assert flooder.try_code(code, **{CIRCUIT_HEADER: "fc00:dead:beef:4dad::9:9"}) == 429

        tipster = TorClient(nginx.listen_port, TIPSTER)
        tipster.open_code_page()
        assert tipster.try_code(code) == 303

        # A connection that does not start with tor's PROXY line gets no answer at all.
        with pytest.raises((http.client.HTTPException, OSError)):
            request_as_tor(nginx.listen_port, None, "GET", "/status")

    error_log = nginx.error_log.read_text() if nginx.error_log.exists() else ""
    assert not re.search(r"fc00|dead:beef", error_log)
    assert not list(nginx.directory.glob("**/access.log"))
