"""Chunk batch bodies read straight from gunicorn's socket (app/web/upload/socket_body.py).

The fast path is checked against gunicorn's real parser on a real socket pair (it must be
taken with the pinned gunicorn, and a kept-alive connection must parse its next request
exactly), then end to end through `tipline serve`: a batch that breaks off keeps its whole
secretstream chunks, and the upload resumes from there byte for byte.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from gunicorn.config import Config as GunicornConfig
from gunicorn.http.parser import RequestParser
from gunicorn.http.wsgi import create as gunicorn_environ

from app.cli import cli
from app.web.upload.socket_body import IncompleteBody, _gunicorn_body, body_pieces
from crypto.layout import CIPHERTEXT_CHUNK_SIZE, HEADER_BYTES, ciphertext_length
from tests.support.served import tipline_serve

MiB = 1024 * 1024


def request_head(length: int, path: str = "/upload") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


NEXT_REQUEST = b"GET /next?after=body HTTP/1.1\r\nHost: localhost\r\n\r\n"


@pytest.fixture
def connection() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def parsed(server: socket.socket) -> tuple[RequestParser, dict[str, Any]]:
    """gunicorn's parser on the server end, and the environ it gives the first request."""
    cfg = GunicornConfig()
    parser = RequestParser(cfg, server, ("127.0.0.1", 50000))
    request = next(parser)
    _, environ = gunicorn_environ(request, server, ("127.0.0.1", 50000), ("127.0.0.1", 80), cfg)
    return parser, environ


def send_in_background(
    client: socket.socket, *parts: bytes, close: bool = False
) -> threading.Thread:
    def send() -> None:
        for part in parts:
            client.sendall(part)
            time.sleep(0.01)  # separate arrivals: the reader must not need them in one piece
        if close:
            client.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def read_all(environ: dict[str, Any], length: int, piece_bytes: int = MiB) -> bytes:
    # Each piece is copied as it comes: the reader reuses one buffer.
    return b"".join(
        bytes(p) for p in body_pieces(environ, environ["wsgi.input"], length, piece_bytes)
    )


@pytest.mark.parametrize("split", [0, 1, 5000, MiB, 3 * MiB + 16])
def test_under_gunicorn_the_body_comes_from_the_socket_and_the_next_request_parses(
    connection: tuple[socket.socket, socket.socket], split: int
) -> None:
    server, client = connection
    body = os.urandom(3 * MiB + 17)
    # The head, then the body cut at `split`, then the next request of the kept-alive
    # connection sent right behind it (so gunicorn may already hold part of all three).
    stream = request_head(len(body)) + body + NEXT_REQUEST
    cut = len(request_head(len(body))) + split
    sender = send_in_background(client, stream[:cut], stream[cut:])
    parser, environ = parsed(server)

    assert _gunicorn_body(environ, len(body)) is not None  # the pinned gunicorn takes this path
    assert read_all(environ, len(body)) == body
    sender.join(timeout=10)

    following = next(parser)
    assert (following.method, following.path, following.query) == ("GET", "/next", "after=body")


def test_a_body_and_the_next_request_already_held_by_gunicorn_are_told_apart(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, client = connection
    body = os.urandom(3000)
    client.sendall(request_head(len(body)) + body + NEXT_REQUEST)  # all there before parsing
    parser, environ = parsed(server)

    assert read_all(environ, len(body), piece_bytes=1024) == body
    assert next(parser).path == "/next"


def test_a_body_that_breaks_off_raises_and_the_connection_is_not_reused(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, client = connection
    body = os.urandom(2 * MiB)
    send_in_background(client, request_head(len(body)), body[: MiB + 10], close=True)
    _, environ = parsed(server)

    received = bytearray()
    with pytest.raises(IncompleteBody):
        for piece in body_pieces(environ, environ["wsgi.input"], len(body), 256 * 1024):
            received += piece
    assert received == body[: len(received)] and len(received) >= MiB  # whole pieces came
    assert environ["wsgi.input"].failed  # gunicorn closes instead of parsing the rest


def test_a_client_that_stalls_mid_body_is_let_go_and_what_came_is_handed_on(
    connection: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, client = connection
    monkeypatch.setattr("app.web.upload.socket_body.STALL_SECONDS", 0.3)
    body = os.urandom(MiB)
    client.sendall(request_head(len(body)) + body[:70_000])  # and then nothing, still open
    _, environ = parsed(server)

    received = bytearray()
    with pytest.raises(TimeoutError):
        for piece in body_pieces(environ, environ["wsgi.input"], len(body), 256 * 1024):
            received += piece
    assert received == body[:70_000]
    assert environ["wsgi.input"].failed
    assert server.gettimeout() is None  # gunicorn's blocking socket, as it was


def test_a_body_the_application_started_reading_is_left_to_the_wsgi_stream(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, client = connection
    body = os.urandom(100_000)
    send_in_background(client, request_head(len(body)) + body + NEXT_REQUEST)
    parser, environ = parsed(server)
    first = environ["wsgi.input"].read(10)

    assert _gunicorn_body(environ, len(body) - 10) is None
    rest = b"".join(body_pieces(environ, environ["wsgi.input"], len(body) - 10, 4096))
    assert first + rest == body
    assert next(parser).path == "/next"


def test_without_gunicorn_the_pieces_come_from_the_wsgi_stream() -> None:
    body = os.urandom(10_000)
    pieces = list(body_pieces({}, io.BytesIO(body), len(body), 4096))
    assert [len(p) for p in pieces] == [4096, 4096, 1808] and b"".join(pieces) == body
    with pytest.raises(IncompleteBody):
        list(body_pieces({}, io.BytesIO(body[:5000]), len(body), 4096))


# --- end to end, through `tipline serve` ---------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[int, Path]]:
    """`tipline serve` (gunicorn, one worker) on a demo instance; its port and blob dir."""
    env = {
        "TIPLINE_DATA_DIR": str(tmp_path / "instance"),
        "TIPLINE_DATABASE_URL": database_url,
        "TIPLINE_ENV": "development",
        "PATH": "/usr/bin:/bin",
    }
    assert CliRunner().invoke(cli, ["demo"], env=env).exit_code == 0
    with tipline_serve(env) as server:
        yield server.port, tmp_path / "instance" / "blobs"


def call(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes = b"",
    token: str = "",
    kind: str = "application/json",
) -> tuple[int, Any]:
    headers = {"Content-Type": kind, **({"Authorization": f"Bearer {token}"} if token else {})}
    for _ in range(50):  # the first request may meet a worker still importing the app
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        except (ConnectionError, http.client.RemoteDisconnected):
            connection.close()
            time.sleep(0.2)
    raise AssertionError("the server never answered")


def test_a_batch_that_breaks_off_keeps_its_whole_chunks_and_the_upload_resumes(
    served: tuple[int, Path],
) -> None:
    port, blobs = served
    size = ciphertext_length(2 * MiB)  # a report object, the largest one there is
    api = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    status, draft = call(
        api,
        "POST",
        "/api/v1/drafts",
        json.dumps(
            {"desk": "kenya", "objects": [{"kind": "report", "ciphertext_size": size}]}
        ).encode(),
    )
    assert status == 201, draft
    token, object_id = draft["token"], draft["objects"][0]["object_id"]
    chunks = f"/api/v1/drafts/{draft['draft_id']}/objects/{object_id}/chunks"
    ciphertext = os.urandom(size)

    # The client sends the head and 1.1 MiB of the batch, then its connection drops.
    sent = MiB + 100_000
    with socket.create_connection(("127.0.0.1", port)) as dropped:
        dropped.sendall(
            f"POST {chunks}?offset=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/octet-stream\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Length: {size}\r\n\r\n".encode()
            + ciphertext[:sent]
        )
    whole_chunks = (
        HEADER_BYTES + (sent - HEADER_BYTES) // CIPHERTEXT_CHUNK_SIZE * CIPHERTEXT_CHUNK_SIZE
    )

    def stored() -> int:
        status, view = call(api, "GET", f"/api/v1/drafts/{draft['draft_id']}", token=token)
        assert status == 200, view
        return int(view["objects"][0]["stored"])

    deadline = time.monotonic() + 20
    while stored() != whole_chunks:
        assert time.monotonic() < deadline, f"stored {stored()}, expected {whole_chunks}"
        time.sleep(0.1)
    staged = blobs / ".staged" / object_id
    assert staged.read_bytes() == ciphertext[:whole_chunks]

    # Resumed from there, on a kept-alive connection: the rest in two batches.
    middle = whole_chunks + 5 * CIPHERTEXT_CHUNK_SIZE
    for start, end in ((whole_chunks, middle), (middle, size)):
        status, answer = call(
            api,
            "POST",
            f"{chunks}?offset={start}",
            ciphertext[start:end],
            token,
            "application/octet-stream",
        )
        assert (status, answer) == (200, {"stored": end})
    assert staged.read_bytes() == ciphertext
    # A replay of the last batch is refused, and the connection still serves the next call.
    status, answer = call(
        api,
        "POST",
        f"{chunks}?offset={middle}",
        ciphertext[middle:],
        token,
        "application/octet-stream",
    )
    assert status == 409 and answer["error"] == "offset_mismatch"
    assert stored() == size
