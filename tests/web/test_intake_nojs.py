"""The no-JavaScript intake: streamed, encrypted on arrival, all or nothing (issue 4)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import create_app
from app.config import BlobStoreKind, Config
from app.models import EncryptedObject, Tip
from tests.support.canary import (
    canary_file,
    database_dump,
    files_containing,
    files_under,
    new_canary,
)
from tests.support.reading import read_tip_as
from tests.web.conftest import ReceivingDesk, add_desk, csrf_token
from tests.web.tipster_steps import every_field, log_in, send_followup, submit_report

FIVE_MB = 5 * 1024 * 1024 + 123


def count(app: Flask, model: type) -> int:
    session = app.extensions["tipline.sessions"]()
    try:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        session.close()


def only_tip_id(app: Flask) -> str:
    session = app.extensions["tipline.sessions"]()
    try:
        return str(session.scalars(select(Tip.id)).one())
    finally:
        session.close()


def written_places(app_config: Config, tmpdir: Path) -> list[Path]:
    paths = files_under(app_config.data_dir, tmpdir)
    database = app_config.database_url.removeprefix("sqlite:///")
    if app_config.database_url.startswith("sqlite:///"):
        paths += [Path(database + suffix) for suffix in ("-wal", "-shm")]
    return [p for p in paths if p.exists()]


def assert_canary_nowhere(
    canary: str, app: Flask, app_config: Config, tmpdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    needle = canary.encode()
    assert files_containing([needle], written_places(app_config, tmpdir)) == []
    assert needle not in database_dump(app.extensions["tipline.engine"])
    assert canary not in caplog.text


def test_no_plaintext_reaches_disk_database_tmpdir_or_logs(
    app: Flask,
    client: FlaskClient,
    desk: ReceivingDesk,
    app_config: Config,
    private_tmpdir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = new_canary()
    evidence = canary_file(canary, FIVE_MB)
    submitted = submit_report(client, desk.slug, every_field(canary), [(f"{canary}.jpg", evidence)])
    assert submitted.response.status_code == 200, submitted.response.get_data(as_text=True)
    assert submitted.code is not None and len(submitted.code.split()) == 8
    assert count(app, Tip) == 1
    assert_canary_nowhere(canary, app, app_config, private_tmpdir, caplog)

    followup_canary = new_canary("followup")
    log_in(client, submitted.code)
    response = send_followup(
        client,
        f"more: {followup_canary}",
        [(f"{followup_canary}.pdf", canary_file(followup_canary, FIVE_MB))],
    )
    assert response.status_code == 303
    # report, file + its body, follow-up file + its body, follow-up message
    assert count(app, EncryptedObject) == 6
    assert_canary_nowhere(followup_canary, app, app_config, private_tmpdir, caplog)
    assert_canary_nowhere(canary, app, app_config, private_tmpdir, caplog)


@pytest.mark.parametrize("blob_store", [BlobStoreKind.FILE, BlobStoreKind.DATABASE])
def test_recovery_key_decrypts_exactly_what_was_sent(
    app_config: Config, blob_store: BlobStoreKind
) -> None:
    """Each file's body is a detached object written as it arrived, in either blob store."""
    app = create_app(replace(app_config, blob_store=blob_store))
    try:
        desk = add_desk(app, "kenya", ["KE"])
        canary = new_canary()
        fields = every_field(canary)
        first, second = canary_file(canary, FIVE_MB), b"second file\x00\xff"
        sent = [("../../etc/photo 1.jpg", first), ("chat.txt", second), ("empty.txt", b"")]
        submitted = submit_report(app.test_client(), desk.slug, fields, sent)
        assert submitted.response.status_code == 200

        opened = read_tip_as(
            desk.recovery,
            app.extensions["tipline.engine"],
            app.extensions["tipline.blobs"],
            only_tip_id(app),
        )
        assert count(app, EncryptedObject) == 7  # the report, and 3 files with their bodies
    finally:
        app.extensions["tipline.engine"].dispose()
    assert [o.kind for o in opened] == ["report", "file", "file", "file"]
    report = opened[0].metadata
    assert report["kind"] == "report" and report["lang"] == "en"
    expected_fields: dict[str, object] = dict(fields)
    expected_fields["listing_urls"] = [fields["listing_urls"]]
    assert report["fields"] == expected_fields
    expected = [("photo 1.jpg", first), ("chat.txt", second), ("empty.txt", b"")]
    for item, (name, body) in zip(opened[1:], expected, strict=True):
        assert item.body == body
        assert item.metadata["name"] == name
        assert item.metadata["size"] == len(body)
        assert item.metadata["sha256"] == hashlib.sha256(body).hexdigest()
        assert "body" in item.metadata  # the plain form always detaches the body
    assert {o.scope for o in opened} == {"thread"}


def test_empty_report_comes_back_with_a_clear_error_and_nothing_stored(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    submitted = submit_report(client, desk.slug, {"species": "grey parrot"})
    assert submitted.response.status_code == 422
    page = submitted.response.get_data(as_text=True)
    assert "Your report is empty" in page
    assert 'value="grey parrot"' in page  # what the tipster typed is kept
    assert count(app, Tip) == 0


def test_invalid_fields_keep_everything_typed_and_ask_to_reattach_files(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, app_config: Config
) -> None:
    fields = {
        "description": "Ivory bangles <b>sold</b> weekly",
        "listing_urls": "https://ok.example/item\nnot a link",
        "date_seen": "2999-01-01",
    }
    submitted = submit_report(client, desk.slug, fields, [("a.jpg", b"x" * 10_000)])
    assert submitted.response.status_code == 422
    page = submitted.response.get_data(as_text=True)
    assert "Line(s) 2 do not look like web addresses." in page
    assert "This date is in the future." in page
    assert "Ivory bangles &lt;b&gt;sold&lt;/b&gt; weekly" in page
    assert "https://ok.example/item\nnot a link" in page
    assert "please attach them again" in page
    assert count(app, Tip) == 0 and count(app, EncryptedObject) == 0
    assert files_under(app_config.data_dir / "blobs") == []


def test_unknown_desk_is_a_404(client: FlaskClient, desk: ReceivingDesk) -> None:
    submitted = submit_report(client, "atlantis", {"description": "x"})
    assert submitted.response.status_code == 404
    assert "There is no desk" in submitted.response.get_data(as_text=True)


def test_desk_without_any_recipient_key_refuses_tips(app: Flask, client: FlaskClient) -> None:
    add_desk(app, "lonely", ["FR"], with_key=False)
    submitted = submit_report(client, "lonely", {"description": "pangolin scales"})
    assert submitted.response.status_code == 503
    assert "cannot receive tips yet" in submitted.response.get_data(as_text=True)
    assert count(app, Tip) == 0


def test_missing_csrf_token_is_refused_before_anything_is_read(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    response = client.post(
        f"/submit/{desk.slug}",
        data={"description": "rhino horn"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "This form expired" in response.get_data(as_text=True)
    submitted = submit_report(client, desk.slug, {"description": "x"}, token="forged")
    assert submitted.response.status_code == 400
    assert count(app, Tip) == 0


def test_malformed_multipart_gets_a_clear_400(
    app: Flask, client: FlaskClient, desk: ReceivingDesk, app_config: Config
) -> None:
    token = csrf_token(client)
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b'\r\n--XyZ\r\nContent-Disposition: form-data; name="evidence"; filename="a"\r\n'
        b"\r\nhalf a file and no closing boundary"
    )
    response = client.post(
        f"/submit/{desk.slug}", data=body, content_type="multipart/form-data; boundary=XyZ"
    )
    assert response.status_code == 400
    assert "arrived damaged" in response.get_data(as_text=True)
    not_multipart = client.post(f"/submit/{desk.slug}", data=b"hello", content_type="text/plain")
    assert not_multipart.status_code == 400
    assert count(app, Tip) == 0 and count(app, EncryptedObject) == 0
    assert files_under(app_config.data_dir / "blobs") == []


def test_oversized_upload_gets_a_friendly_413_and_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    from app import create_app
    from tests.web.conftest import make_test_config

    config = make_test_config(database_url, tmp_path / "inst", max_upload_bytes=1024 * 1024)
    small_app = create_app(config)
    receiving = add_desk(small_app, "kenya", ["KE"])
    client = small_app.test_client()
    submitted = submit_report(
        client, receiving.slug, {"description": "big"}, [("big.bin", b"\x01" * 2 * 1024 * 1024)]
    )
    assert submitted.response.status_code == 413
    assert "larger than the 1 MiB" in submitted.response.get_data(as_text=True)
    assert count(small_app, Tip) == 0 and count(small_app, EncryptedObject) == 0
    assert files_under(config.data_dir / "blobs") == []
    small_app.extensions["tipline.engine"].dispose()


def test_a_file_part_anywhere_else_is_refused_not_spooled(
    client: FlaskClient, private_tmpdir: Path
) -> None:
    import io

    response = client.post(
        "/status",
        data={"code": "x", "upload": (io.BytesIO(b"secret" * 200_000), "x.bin")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert files_under(private_tmpdir) == []


def test_a_new_tip_carries_its_legal_deadlines_and_day_granular_dates(
    app: Flask, client: FlaskClient, desk: ReceivingDesk
) -> None:
    from datetime import UTC, datetime

    from app.services.deadlines import acknowledgement_due, feedback_due

    assert submit_report(client, desk.slug, {"description": "rhino horn"}).code
    session = app.extensions["tipline.sessions"]()
    tip = session.scalars(select(Tip)).one()
    session.close()
    today = datetime.now(UTC).date()
    assert tip.received_on == today and tip.last_activity_on == today
    assert tip.ack_due_on == acknowledgement_due(today)
    assert tip.feedback_due_on == feedback_due(today, None, extended=False)
