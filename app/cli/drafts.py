"""``tipline purge-drafts``: delete browser uploads never finalized (run by a systemd timer)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from app.cli.common import load_config


@click.command("purge-drafts")
def purge_drafts_command() -> None:
    """Delete drafts past their expiry day (at least 24 hours old) and their uploaded blobs."""
    from app.db import make_engine, make_session_factory
    from app.services.retention import purge_abandoned_drafts
    from app.storage import make_blob_store

    config = load_config()
    engine = make_engine(config.database_url)
    session = make_session_factory(engine)()
    try:
        blob_store = make_blob_store(
            config.blob_store.value, data_dir=config.data_dir, engine=engine
        )
        report = purge_abandoned_drafts(session, blob_store, now=datetime.now(UTC))
    finally:
        session.close()
        engine.dispose()
    click.echo(
        f"purged {report.drafts} expired drafts ({report.blobs} encrypted objects, "
        f"{report.orphans} orphaned uploads)"
    )
