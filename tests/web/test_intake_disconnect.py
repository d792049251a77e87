"""A connection dropped mid-upload leaves nothing: no tip, no rows, no blob, no temp file."""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from app.config import Config
from app.models import EncryptedObject, Tip
from tests.support.canary import files_under
from tests.web.conftest import ReceivingDesk
from tests.web.test_intake_nojs import count

FIFTY_MB = 50 * 1024 * 1024
BOUNDARY = "tiplineboundary"


@pytest.fixture
def live_server(app: Flask) -> Iterator[BaseWSGIServer]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(timeout=10)


def session_and_token(port: int) -> tuple[str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/status")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token and cookie
    return cookie, token.group(1)


def wait_until(condition: object, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_dropped_connection_halfway_through_50_mb_leaves_nothing(
    app: Flask,
    desk: ReceivingDesk,
    live_server: BaseWSGIServer,
    app_config: Config,
    private_tmpdir: Path,
) -> None:
    cookie, token = session_and_token(live_server.server_port)
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="description"\r\n\r\n'
        "leopard skins\r\n"
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="evidence"; '
        'filename="first.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        + "a complete first file"
        * 1000
        + f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="evidence"; '
        'filename="video.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    content_length = len(head) + FIFTY_MB + len(tail)
    blobs = app_config.data_dir / "blobs"

    with socket.create_connection(("127.0.0.1", live_server.server_port)) as raw:
        raw.sendall(
            (
                f"POST /submit/{desk.slug} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Cookie: {cookie}\r\nContent-Length: {content_length}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
            ).encode()
            + head
        )
        piece = b"\x42" * (1024 * 1024)
        for _ in range(FIFTY_MB // len(piece) // 2):
            raw.sendall(piece)
        # The first file is stored (its body and its file object, encrypted); the second
        # file's body object is being written right now.
        assert wait_until(lambda: len(files_under(blobs)) == 3, 10)
    # Connection closed with half the body unsent.
    assert wait_until(lambda: files_under(blobs) == [])
    assert count(app, Tip) == 0
    assert count(app, EncryptedObject) == 0
    assert files_under(private_tmpdir) == []
