"""Drafts not finalized in time are deleted with their uploads; nothing else is touched."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cli import cli
from app.instance import init_instance
from app.models import EncryptedObject, ObjectKind, Scope, Tip, TipState
from app.services import drafts, upload_plan
from app.services.desks import add_recovery_key, create_desk
from app.services.draft_purge import DraftPurgeReport, purge_expired_drafts
from app.storage import FileBlobStore
from crypto.datakeys import SEALED_KEY_BYTES
from crypto.keys import generate_keypair, key_id
from crypto.layout import ciphertext_length

TODAY = date(2026, 12, 10)
SECRET = os.urandom(32)
REPORT_SIZE = ciphertext_length(4096)
BODY_SIZE = ciphertext_length(2 * 65536)  # a file's detached body: two secretstream chunks
FILE_SIZE = ciphertext_length(4096)  # the file object naming it: metadata only


@pytest.fixture
def blob_store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


@pytest.fixture
def desk_slug(db_session: Session) -> str:
    create_desk(
        db_session,
        slug="kenya",
        name="Kenya",
        country_codes=["KE"],
        is_triage=False,
        now=datetime.now(UTC),
        actor_id=None,
    )
    add_recovery_key(
        db_session,
        slug="kenya",
        public_key=generate_keypair().public_key,
        label="r",
        now=datetime.now(UTC),
        actor_id=None,
    )
    db_session.commit()
    return "kenya"


def open_draft(
    session: Session, store: FileBlobStore, desk_slug: str, *, on: date
) -> drafts.CreatedDraft:
    """A draft opened ``on`` that day, with its report and file object fully staged and half
    of the file's body."""
    created = drafts.create_draft(
        session,
        store,
        desk_slug=desk_slug,
        lang="en",
        objects=[
            upload_plan.DeclaredObject(ObjectKind.REPORT, REPORT_SIZE),
            upload_plan.DeclaredObject(ObjectKind.BODY, BODY_SIZE),
            upload_plan.DeclaredObject(ObjectKind.FILE, FILE_SIZE),
        ],
        pepper=os.urandom(32),
        secret_key=SECRET,
        max_upload_bytes=10**9,
        today=on,
    )
    session.commit()
    report, body, file = created.view.objects
    store.append_staged(report.object_id, os.urandom(REPORT_SIZE), 0)
    store.append_staged(body.object_id, os.urandom(24 + 65553), 0)
    store.append_staged(file.object_id, os.urandom(FILE_SIZE), 0)
    return created


def finalize(
    session: Session, store: FileBlobStore, created: drafts.CreatedDraft, *, on: date
) -> None:
    body = created.view.objects[1]
    store.append_staged(body.object_id, os.urandom(BODY_SIZE - 24 - 65553), 24 + 65553)
    keys = [
        drafts.SubmittedKey(r.key_id, scope, os.urandom(SEALED_KEY_BYTES))
        for r in created.view.recipients
        for scope in Scope
    ]
    keys.append(
        drafts.SubmittedKey(
            key_id(created.view.tipster_public_key), Scope.THREAD, os.urandom(SEALED_KEY_BYTES)
        )
    )
    drafts.finalize_draft(
        session,
        store,
        SECRET,
        drafts.DraftCredentials(created.view.draft_id, created.token),
        commitments={Scope.THREAD: os.urandom(32), Scope.INTERNAL: os.urandom(32)},
        sealed_keys=keys,
        today=on,
    )
    session.commit()


def tips(session: Session) -> dict[str, TipState]:
    return {tip.id: tip.state for tip in session.scalars(select(Tip))}


def staged_names(store: FileBlobStore) -> set[str]:
    return {blob.name for blob in store.list_staged()}


def test_drafts_older_than_a_day_go_with_their_uploads_and_fresh_drafts_and_tips_stay(
    db_session: Session, blob_store: FileBlobStore, desk_slug: str
) -> None:
    old = open_draft(db_session, blob_store, desk_slug, on=TODAY - timedelta(days=2))
    fresh_yesterday = open_draft(db_session, blob_store, desk_slug, on=TODAY - timedelta(days=1))
    fresh_today = open_draft(db_session, blob_store, desk_slug, on=TODAY)
    submitted = open_draft(db_session, blob_store, desk_slug, on=TODAY - timedelta(days=5))
    finalize(db_session, blob_store, submitted, on=TODAY - timedelta(days=5))
    old_objects = {o.object_id for o in old.view.objects}
    assert old_objects <= staged_names(blob_store)

    report = purge_expired_drafts(db_session, blob_store, today=TODAY)

    assert (report.drafts, report.blobs) == (1, 3)
    assert tips(db_session) == {
        fresh_yesterday.view.draft_id: TipState.DRAFT,
        fresh_today.view.draft_id: TipState.DRAFT,
        submitted.view.draft_id: TipState.SUBMITTED,
    }
    assert not old_objects & staged_names(blob_store)
    for kept in (fresh_yesterday, fresh_today):
        assert {o.object_id for o in kept.view.objects} <= staged_names(blob_store)
    for published in submitted.view.objects:
        assert blob_store.exists(published.object_id)
    remaining = db_session.scalar(select(func.count()).select_from(EncryptedObject))
    assert remaining == 9


def test_a_draft_lives_at_least_24_hours_whatever_time_of_day_it_was_opened(
    db_session: Session, blob_store: FileBlobStore, desk_slug: str
) -> None:
    created = open_draft(db_session, blob_store, desk_slug, on=TODAY)
    assert created.view.expires_on == TODAY + timedelta(days=1)
    for day in (TODAY, TODAY + timedelta(days=1)):
        assert purge_expired_drafts(db_session, blob_store, today=day).drafts == 0
    assert purge_expired_drafts(db_session, blob_store, today=TODAY + timedelta(days=2)).drafts == 1


def test_staged_uploads_no_draft_owns_are_removed_once_stale(
    db_session: Session, blob_store: FileBlobStore, desk_slug: str, tmp_path: Path
) -> None:
    orphan = "0b6b5c8e-61f5-4c51-9f0e-8f0d1f6a9a11"
    blob_store.append_staged(orphan, b"left by a crash", 0)
    today = datetime.now(UTC).date()  # the staged files carry the real day
    kept = open_draft(db_session, blob_store, desk_slug, on=today)
    tomorrow = today + timedelta(days=1)
    assert purge_expired_drafts(db_session, blob_store, today=tomorrow) == DraftPurgeReport(0, 0, 0)
    later = today + timedelta(days=2)
    report = purge_expired_drafts(db_session, blob_store, today=later)
    assert report.orphans == 1 and orphan not in staged_names(blob_store)
    assert report.drafts == 1 and not {o.object_id for o in kept.view.objects} & staged_names(
        blob_store
    )


def test_tipline_purge_drafts_runs_the_purge(
    database_url: str, tmp_path: Path, db_session: Session, desk_slug: str
) -> None:
    data_dir = tmp_path / "instance"
    init_instance(data_dir)
    store = FileBlobStore(data_dir / "blobs")
    old = open_draft(db_session, store, desk_slug, on=datetime.now(UTC).date() - timedelta(days=3))
    env = {"TIPLINE_DATA_DIR": str(data_dir), "TIPLINE_DATABASE_URL": database_url}
    result = CliRunner().invoke(cli, ["purge-drafts"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == "purged 1 expired drafts (3 encrypted objects, 0 orphaned uploads)\n"
    db_session.expire_all()
    assert old.view.draft_id not in tips(db_session)
    assert staged_names(store) == set()


def test_systemd_runs_the_draft_purge_every_hour_through_the_tipline_command() -> None:
    deploy = Path(__file__).resolve().parents[2] / "deploy"
    service = (deploy / "tipline-purge-drafts.service").read_text()
    timer = (deploy / "tipline-purge-drafts.timer").read_text()
    assert "ExecStart=/opt/tipline/.venv/bin/tipline purge-drafts" in service
    for directive in ("LimitCORE=0", "PrivateTmp=true", "UMask=0077", "Type=oneshot"):
        assert directive in service
    assert "OnCalendar=hourly" in timer and "Persistent=true" in timer
