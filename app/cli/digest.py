"""``tipline digest``: the daily digest of deadlines, mailed when SMTP is configured."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime

import click

from app.cli.common import CommandFailed, load_config, transaction


@click.group("digest")
def digest_group() -> None:
    """The daily digest: overdue and due-soon deadlines, expiring preservation requests."""


@digest_group.command("show")
def digest_show_command() -> None:
    """Print today's digest (every desk)."""
    from app.services.digest import build_digest, digest_text

    config = load_config()
    with transaction(config) as session:
        digest = build_digest(session, datetime.now(UTC).date())
    click.echo(digest_text(digest), nl=False)


@digest_group.command("send")
def digest_send_command() -> None:
    """Mail today's digest (every desk) to TIPLINE_DIGEST_TO over TIPLINE_SMTP_*."""
    from app.services.digest import build_digest, digest_message, send_digest

    config = load_config()
    if config.smtp is None:
        raise CommandFailed(
            "no SMTP server configured: set TIPLINE_SMTP_HOST, TIPLINE_SMTP_FROM and "
            "TIPLINE_DIGEST_TO (see docs/OPERATIONS.md)"
        )
    with transaction(config) as session:
        digest = build_digest(session, datetime.now(UTC).date())
    message = digest_message(digest, config.smtp)
    try:
        send_digest(message, config.smtp)
    except (smtplib.SMTPException, OSError) as error:
        raise CommandFailed(
            f"could not mail the digest via {config.smtp.host}:{config.smtp.port} "
            f"({type(error).__name__})"
        ) from None
    click.echo(f"digest sent to {len(config.smtp.recipients)} recipient(s): {digest.total} items")
