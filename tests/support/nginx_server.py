"""deploy/nginx.conf run by the real nginx, on free loopback ports with paths under a test's
directory, and a client that talks to it as tor does (a PROXY protocol v1 header first)."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.served import free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DEPLOYED_LISTEN = "127.0.0.1:8080"
DEPLOYED_APP = "127.0.0.1:5000"
DEPLOYED_ERROR_LOG = "/var/log/nginx/tipline-error.log"


def nginx_executable() -> str:
    executable = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if executable is None:
        pytest.fail("nginx is missing: install Debian's nginx package (apt-get install nginx).")
    return executable


@dataclass
class NginxSite:
    """deploy/nginx.conf rewritten to run under ``directory``; ``main_conf`` includes it."""

    directory: Path
    listen_port: int
    app_port: int
    main_conf: Path = field(init=False)
    error_log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.error_log = self.directory / "tipline-error.log"
        site = (DEPLOY / "nginx.conf").read_text()
        for deployed, here in (
            (DEPLOYED_LISTEN, f"127.0.0.1:{self.listen_port}"),
            (DEPLOYED_APP, f"127.0.0.1:{self.app_port}"),
            (DEPLOYED_ERROR_LOG, str(self.error_log)),
        ):
            assert deployed in site, deployed
            site = site.replace(deployed, here)
        (self.directory / "tipline.conf").write_text(site)
        temp = self.directory / "temp"
        temp.mkdir(exist_ok=True)
        # As root, workers would switch to "nobody", who cannot enter the test's directory.
        user = "user root;\n" if os.geteuid() == 0 else ""
        self.main_conf = self.directory / "nginx.conf"
        self.main_conf.write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {self.directory}/nginx.pid;\n"
            f"error_log {self.directory}/main-error.log;\nevents {{}}\nhttp {{\n"
            "    access_log off;\n"
            + "".join(
                f"    {kind}_temp_path {temp}/{kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"    include {self.directory}/tipline.conf;\n}}\n"
        )

    def check(self) -> subprocess.CompletedProcess[str]:
        """``nginx -t`` on the configuration."""
        return subprocess.run(
            [nginx_executable(), "-t", "-p", str(self.directory), "-c", str(self.main_conf)],
            capture_output=True,
            text=True,
            check=False,
        )


@contextmanager
def running_nginx(directory: Path, app_port: int) -> Iterator[NginxSite]:
    site = NginxSite(directory, free_port(), app_port)
    process = subprocess.Popen(
        [nginx_executable(), "-p", str(site.directory), "-c", str(site.main_conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", site.listen_port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield site
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def tor_circuit_address(circuit_id: int) -> str:
    """The source address tor writes for a circuit (man tor, HiddenServiceExportCircuitID)."""
    return f"fc00:dead:beef:4dad::{circuit_id >> 16:x}:{circuit_id & 0xFFFF:x}"


def request_as_tor(
    port: int,
    circuit_id: int | None,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> Answer:
    """One request on a new connection, preceded (unless ``circuit_id`` is None) by the PROXY
    v1 line tor sends for that circuit.

    :raises http.client.HTTPException, OSError: nginx closed the connection without answering.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        if circuit_id is not None:
            source = tor_circuit_address(circuit_id)
            connection.sendall(f"PROXY TCP6 {source} ::1 65535 80\r\n".encode())
        lines = [f"{method} {path} HTTP/1.1", "Host: tipline.onion", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        response = http.client.HTTPResponse(connection)
        response.begin()
        return Answer(response.status, response.headers, response.read())
