"""Maintenance commands: the audit chain check and the retention purge."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from app.cli.common import CommandFailed, load_config, transaction


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit log of staff actions."""


@audit_group.command("verify")
@click.option(
    "--expect-head",
    metavar="HEX",
    help="A head hash recorded earlier (printed here and in the daily digest): fail if the "
    "chain no longer contains it, i.e. its newest events were deleted or it was rebuilt.",
)
def audit_verify_command(expect_head: str | None) -> None:
    """Check the whole chain; name the first edited, deleted or reordered entry."""
    from app.services.audit import verify_chain

    anchor = None
    if expect_head is not None:
        try:
            anchor = bytes.fromhex(expect_head.strip())
        except ValueError:
            raise CommandFailed("--expect-head takes the 64 hex digits of a head hash") from None
        if len(anchor) != 32:
            raise CommandFailed("--expect-head takes the 64 hex digits of a head hash")
    config = load_config()
    with transaction(config) as session:
        result = verify_chain(session, expect_head=anchor)
    if result.first_bad_event_id is not None:
        raise CommandFailed(
            f"audit log broken at event {result.first_bad_event_id}: {result.reason} "
            f"({result.events_checked} events before it are intact)"
        )
    if not result.anchor_found:
        raise CommandFailed(
            f"audit log does not contain the expected head {expect_head}: events recorded "
            f"since were deleted or the chain was rebuilt ({result.events_checked} events)"
        )
    click.echo(f"audit log intact: {result.events_checked} events, head {result.head.hex()}")


@click.command("purge")
def purge_command() -> None:
    """Delete closed tips past their desk's retention period (keys first, then data), and
    drafts never finalized within 24 hours."""
    from app.db import make_engine, make_session_factory
    from app.services.retention import purge_all
    from app.storage import make_blob_store

    config = load_config()
    engine = make_engine(config.database_url)
    session = make_session_factory(engine)()
    try:
        blob_store = make_blob_store(
            config.blob_store.value, data_dir=config.data_dir, engine=engine
        )
        report = purge_all(session, blob_store, now=datetime.now(UTC))
    finally:
        session.close()
        engine.dispose()
    click.echo(
        f"purged {report.tips.tips} closed tips ({report.tips.blobs} encrypted objects) and "
        f"{report.drafts.drafts} expired drafts ({report.drafts.blobs} encrypted objects, "
        f"{report.drafts.orphans} orphaned uploads)"
    )


@click.group("stats")
def stats_group() -> None:
    """The statistics roll-up behind the board's statistics page."""


@stats_group.command("refresh")
def stats_refresh_command() -> None:
    """Mark every desk and month that has tips to be recomputed on the next read.

    Run it after tips were loaded or restored without going through the app (an import,
    a partial restore): the roll-up only learns of changes the app itself makes.
    """
    from app.services.stats_rollup import mark_every_desk_month

    config = load_config()
    with transaction(config) as session:
        marked = mark_every_desk_month(session)
    click.echo(f"marked {marked} desk-months; the statistics page recomputes them when next read")
