"""Retention purge: exactly the expired closed tips go, keys first; the rest stays intact."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.config import Config
from app.models import AuditEvent, EncryptedObject, SealedKey, Tip, TipStatus
from app.services.retention import purge_expired
from crypto.datakeys import open_data_key
from crypto.errors import DecryptionError
from crypto.ids import id_from_str
from crypto.object_reader import decrypt_object_bytes
from tests.support.canary import files_under
from tests.support.reading import read_tip_as
from tests.web.conftest import ReceivingDesk
from tests.web.tipster_steps import submit_report


def submit_tips(client: FlaskClient, desk: ReceivingDesk, count: int) -> None:
    for number in range(count):
        assert submit_report(
            client, desk.slug, {"description": f"tip {number}"}, [("e.jpg", b"x" * 5000)]
        ).code


def set_closed(app: Flask, tip_id: str, closed_on: date | None) -> None:
    session = app.extensions["tipline.sessions"]()
    tip = session.get(Tip, tip_id)
    tip.status = TipStatus.CLOSED if closed_on else TipStatus.INVESTIGATING
    tip.closed_on = closed_on
    session.commit()
    session.close()


def test_purge_removes_exactly_the_expired_closed_tips_and_shreds_their_keys(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, app_config: Config, tmp_path: Path
) -> None:
    submit_tips(client, desk, 4)
    session = app.extensions["tipline.sessions"]()
    expired, recent, open_tip, open_old = list(session.scalars(select(Tip.id).order_by(Tip.id)))
    session.close()
    today = datetime.now(UTC).date()
    set_closed(app, expired, today - timedelta(days=366))  # desk retention: 365 days
    set_closed(app, recent, today - timedelta(days=10))
    set_closed(app, open_old, None)
    blob_copy = tmp_path / "stolen-blobs"
    shutil.copytree(app_config.data_dir / "blobs", blob_copy)
    session = app.extensions["tipline.sessions"]()
    expired_object_ids = list(
        session.scalars(select(EncryptedObject.id).where(EncryptedObject.tip_id == expired))
    )
    session.close()

    session = app.extensions["tipline.sessions"]()
    report = purge_expired(session, app.extensions["tipline.blobs"], now=datetime.now(UTC))
    remaining = set(session.scalars(select(Tip.id)))
    expired_objects = session.scalar(
        select(func.count()).select_from(EncryptedObject).where(EncryptedObject.tip_id == expired)
    )
    expired_keys = session.scalar(
        select(func.count()).select_from(SealedKey).where(SealedKey.tip_id == expired)
    )
    actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.tip_id == expired)))
    session.close()

    assert report.tips == 1 and report.blobs == 3  # the report, the file and its body
    assert remaining == {recent, open_tip, open_old}
    assert expired_objects == 0 and expired_keys == 0
    assert actions == ["tip.keys_shredded", "tip.purged"]
    assert len(files_under(app_config.data_dir / "blobs")) == 9  # 3 x (report, file, body)
    engine, blobs = app.extensions["tipline.engine"], app.extensions["tipline.blobs"]
    for tip_id in remaining:
        assert [o.kind for o in read_tip_as(desk.recovery, engine, blobs, tip_id)] == [
            "report",
            "file",
        ]
    # The old blobs survive in the copy, but no key left anywhere opens them.
    assert len(files_under(blob_copy)) == 12
    session = app.extensions["tipline.sessions"]()
    leftover_keys = [
        open_data_key(
            row.sealed,
            tip_id=id_from_str(row.tip_id),
            keypair=desk.recovery,
            scope=row.scope.value,
            expected_commitment=(
                row.tip.thread_commitment if row.scope == "thread" else row.tip.internal_commitment
            ),
        )
        for row in session.scalars(
            select(SealedKey).where(SealedKey.key_id == desk.recovery.key_id)
        )
    ]
    session.close()
    assert len(leftover_keys) == 6
    for object_id in expired_object_ids:
        (stolen,) = [p for p in files_under(blob_copy) if p.name == object_id]
        for data_key in leftover_keys:
            with pytest.raises(DecryptionError):
                decrypt_object_bytes(data_key, id_from_str(object_id), stolen.read_bytes())


def test_tipline_purge_also_removes_abandoned_drafts_and_audits_both(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, app_config: Config
) -> None:
    from click.testing import CliRunner

    from app.cli import cli
    from tests.services.test_drafts import open_draft

    submit_tips(client, desk, 2)
    session = app.extensions["tipline.sessions"]()
    expired, kept = list(session.scalars(select(Tip.id).order_by(Tip.id)))
    session.close()
    today = datetime.now(UTC).date()
    set_closed(app, expired, today - timedelta(days=400))
    session = app.extensions["tipline.sessions"]()
    store = app.extensions["tipline.blobs"]
    stale = open_draft(session, store, desk.slug, on=today - timedelta(days=3))
    fresh = open_draft(session, store, desk.slug, on=today)
    before = session.scalar(select(func.max(AuditEvent.id))) or 0  # the desk's own events
    session.close()

    result = CliRunner().invoke(
        cli,
        ["purge"],
        env={
            "TIPLINE_DATA_DIR": str(app_config.data_dir),
            "TIPLINE_DATABASE_URL": app_config.database_url,
            "TIPLINE_ENV": "testing",
        },
    )

    assert result.exit_code == 0, result.output
    assert "purged 1 closed tips" in result.output and "1 expired drafts" in result.output
    session = app.extensions["tipline.sessions"]()
    remaining = set(session.scalars(select(Tip.id)))
    actions = list(
        session.scalars(
            select(AuditEvent.action).where(AuditEvent.id > before).order_by(AuditEvent.id)
        )
    )
    session.close()
    assert remaining == {kept, fresh.view.draft_id}
    assert stale.view.draft_id not in remaining
    assert actions == ["tip.keys_shredded", "tip.purged", "drafts.purged"]
