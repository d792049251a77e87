"""The daily digest reaches a real SMTP server and names no tip content, nor does the board."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.cli import cli
from app.config import Config
from app.models import StaffRole, Tip
from tests.support.canary import new_canary
from tests.web.conftest import ReceivingDesk
from tests.web.staff_steps import make_staff, sign_in
from tests.web.tipster_steps import every_field, submit_report


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_the_digest_mail_and_the_board_name_no_tip_content(
    app: Flask,
    client: FlaskClient,
    desk: ReceivingDesk,
    app_config: Config,
    smtp_server: tuple[Inbox, int],
) -> None:
    canary = new_canary("digest")
    submitted = submit_report(
        client, desk.slug, every_field(canary), [(f"{canary}.jpg", canary.encode() * 100)]
    )
    assert submitted.code
    session = app.extensions["tipline.sessions"]()
    tip = session.scalars(select(Tip)).one()
    tip_id = tip.id
    old = datetime.now(UTC).date() - timedelta(days=30)
    tip.received_on, tip.ack_due_on, tip.next_due_on = old, old + timedelta(7), old + timedelta(7)
    session.commit()
    session.close()
    inbox, port = smtp_server
    env = {
        "TIPLINE_DATA_DIR": str(app_config.data_dir),
        "TIPLINE_DATABASE_URL": app_config.database_url,
        "TIPLINE_ENV": "testing",
        "TIPLINE_SMTP_HOST": "127.0.0.1",
        "TIPLINE_SMTP_PORT": str(port),
        "TIPLINE_SMTP_SECURITY": "none",
        "TIPLINE_SMTP_FROM": "tipline@desk.example",
        "TIPLINE_DIGEST_TO": "officers@desk.example, lead@desk.example",
    }

    result = CliRunner().invoke(cli, ["digest", "send"], env=env)

    assert result.exit_code == 0, result.output
    assert "digest sent to 2 recipient(s)" in result.output
    (raw,) = inbox.messages
    message = message_from_bytes(raw, policy=policy.default)
    body = message.get_body().get_content()  # type: ignore[union-attr]
    assert "Acknowledgements overdue: 1" in body and tip_id[:8] in body
    assert re.search(r"Audit log: \d+ events, head [0-9a-f]{64}", body)  # the daily anchor
    assert message["To"] == "officers@desk.example, lead@desk.example"
    assert canary.encode() not in raw and canary not in body
    sign_in(app, client, make_staff(app, "olga", StaffRole.OFFICER, [desk.slug]))
    for page in ("/staff/board/", "/staff/board/?view=open", f"/staff/board/tips/{tip_id}"):
        html = client.get(page).get_data(as_text=True)
        assert tip_id[:8] in html and canary not in html, page
    csv_text = client.get("/staff/board/stats.csv").get_data(as_text=True)
    assert tip_id in csv_text and canary not in csv_text


def test_digest_send_without_smtp_says_what_to_configure(app_config: Config) -> None:
    env = {
        "TIPLINE_DATA_DIR": str(app_config.data_dir),
        "TIPLINE_DATABASE_URL": app_config.database_url,
        "TIPLINE_ENV": "testing",
    }
    result = CliRunner().invoke(cli, ["digest", "send"], env=env)
    assert result.exit_code == 2
    assert "TIPLINE_SMTP_HOST" in result.output
