"""Administration commands: desks and staff accounts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from app.cli.common import CommandFailed, load_config, transaction
from app.models import StaffRole
from app.services import desks as desk_service
from app.services import staff as staff_service
from crypto import keyfile
from crypto.errors import BadKeyFile


@click.group("desks")
def desks_group() -> None:
    """Desks: the teams that receive tips (usually one per jurisdiction or agency)."""


@desks_group.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="Name shown to tipsters, e.g. 'Kenya — KWS'.")
@click.option(
    "--country",
    "countries",
    multiple=True,
    metavar="CC",
    help="ISO 3166-1 alpha-2 code of a country the desk covers (repeatable).",
)
@click.option("--triage", is_flag=True, help="The desk for tipsters who don't know the country.")
@click.option("--language", "languages", multiple=True, default=["en"], show_default=True)
def desks_add_command(
    slug: str, name: str, countries: tuple[str, ...], triage: bool, languages: tuple[str, ...]
) -> None:
    """Add a desk called SLUG."""
    config = load_config()
    with transaction(config) as session:
        desk = desk_service.create_desk(
            session,
            slug=slug,
            name=name,
            country_codes=countries,
            is_triage=triage,
            languages=languages,
            now=datetime.now(UTC),
            actor_id=None,
        )
        click.echo(f"desk '{desk.slug}' added")
    click.echo("Tips cannot be received until it has a prosecutor or a recovery key.")


@desks_group.command("list")
def desks_list_command() -> None:
    """List desks with their countries and number of recipient keys."""
    config = load_config()
    with transaction(config) as session:
        for desk in desk_service.list_desks(session):
            countries = ",".join(j.country_code for j in desk.jurisdictions) or "triage"
            recipients = len(desk_service.desk_recipients(session, desk.id))
            click.echo(f"{desk.slug:<20} {countries:<24} {recipients} recipient keys  {desk.name}")


@desks_group.command("add-recovery-key")
@click.argument("slug")
@click.argument("key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", default="recovery", show_default=True)
def desks_add_recovery_key_command(slug: str, key_file: Path, label: str) -> None:
    """Seal every new tip of desk SLUG to the public key in KEY_FILE (from 'keys generate').

    Only the public half is read, so a passphrase-protected key file needs no passphrase here.
    """
    public_key = read_public_key(key_file)
    config = load_config()
    with transaction(config) as session:
        recovery_key = desk_service.add_recovery_key(
            session,
            slug=slug,
            public_key=public_key,
            label=label,
            now=datetime.now(UTC),
            actor_id=None,
        )
        click.echo(f"recovery key {recovery_key.key_id} added to desk '{slug}'")


@click.group("users")
def users_group() -> None:
    """Staff accounts: admins, prosecutors (can decrypt) and case officers (cannot)."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice([role.value for role in StaffRole]), required=True)
@click.option("--desk", "desks", multiple=True, metavar="SLUG", help="Desk to join (repeatable).")
@click.option("--display-name", help="Name colleagues see (default: USERNAME).")
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the initial password from this file instead of sending an invitation.",
)
@click.option(
    "--totp-secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the generated TOTP secret to this new file (mode 0600) instead of printing it.",
)
def users_add_command(
    username: str,
    role: str,
    desks: tuple[str, ...],
    display_name: str | None,
    password_file: Path | None,
    totp_secret_file: Path | None,
) -> None:
    """Create the staff account USERNAME and print its one-time invitation link."""
    password = None
    if password_file is not None:
        password = password_file.read_text(encoding="utf-8").rstrip("\r\n")
    if totp_secret_file is not None and totp_secret_file.exists():
        raise CommandFailed(f"{totp_secret_file} exists; refusing to overwrite it")
    config = load_config()
    with transaction(config) as session:
        created = staff_service.create_staff_user(
            session,
            username=username,
            role=StaffRole(role),
            desk_slugs=desks,
            display_name=display_name,
            password=password,
            now=datetime.now(UTC),
            kdf=config.staff_kdf,
            actor_id=None,
        )
        if totp_secret_file is not None:
            _write_new_private_file(totp_secret_file, created.totp_secret)
    click.echo(f"staff account '{created.user.username}' ({role}) created")
    if totp_secret_file is None:
        click.echo(f"TOTP secret (shown once): {created.totp_secret}")
    if created.invitation_token is not None:
        click.echo(
            f"One-time invitation link (valid 7 days): /staff/invitation/{created.invitation_token}"
        )


@users_group.command("list")
def users_list_command() -> None:
    """List staff accounts with role, desks and state."""
    config = load_config()
    with transaction(config) as session:
        for user in staff_service.list_staff_users(session):
            desks = ",".join(sorted(m.desk.slug for m in user.memberships)) or "-"
            state = "disabled" if user.disabled else "active"
            click.echo(f"{user.username:<20} {user.role.value:<11} {state:<9} {desks}")


@users_group.command("disable")
@click.argument("username")
def users_disable_command(username: str) -> None:
    """Disable USERNAME: no more sign-ins, and new tips are no longer sealed to them."""
    config = load_config()
    with transaction(config) as session:
        staff_service.disable_staff_user(session, username, now=datetime.now(UTC), actor_id=None)
    click.echo(f"staff account '{username}' disabled")


@users_group.command("join")
@click.argument("username")
@click.argument("slug")
def users_join_command(username: str, slug: str) -> None:
    """Add USERNAME to the desk SLUG.

    A prosecutor reads the desk's older tips once a colleague of the desk signs in (their
    session re-seals the tips' keys; the server alone cannot).
    """
    config = load_config()
    with transaction(config) as session:
        membership = staff_service.join_desk(session, username, slug, now=datetime.now(UTC))
        waiting = membership.needs_key_grant
    click.echo(f"'{username}' joined desk '{slug}'")
    if waiting:
        click.echo("Older tips become readable to them when a colleague of the desk signs in.")


@users_group.command("leave")
@click.argument("username")
@click.argument("slug")
def users_leave_command(username: str, slug: str) -> None:
    """Remove USERNAME from the desk SLUG and delete their keys to its tips."""
    config = load_config()
    with transaction(config) as session:
        removed = staff_service.leave_desk(session, username, slug, now=datetime.now(UTC))
    click.echo(f"'{username}' left desk '{slug}'; {removed} sealed keys deleted")


def read_public_key(key_file: Path) -> bytes:
    """The public key of a key file (:func:`crypto.keyfile.read_public_key`: a public-only or
    passphrase-protected file; one with an unprotected secret key is refused)."""
    try:
        return keyfile.read_public_key(key_file.read_bytes())
    except BadKeyFile as error:
        raise CommandFailed(f"{key_file} is not a valid Tipline key file: {error}") from None
    except OSError as error:
        raise CommandFailed(f"{key_file} cannot be read: {error.strerror}") from None


def _write_new_private_file(path: Path, content: str) -> None:
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as secret_file:
        secret_file.write(content + "\n")
