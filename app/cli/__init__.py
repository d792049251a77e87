"""The ``tipline`` command: run, administer and (offline) decrypt.

Every sub-command that touches the instance reads the same ``TIPLINE_*`` configuration as the
web app. Failures print one line and exit with status 2. Sub-commands are imported only when
used, so ``tipline keys`` and ``tipline decrypt`` run on an offline machine that has nothing
but click and the crypto package's dependencies.
"""

from __future__ import annotations

import importlib

import click

COMMANDS = {
    "init": "app.cli.instance:init_command",
    "serve": "app.cli.instance:serve_command",
    "db": "app.cli.instance:db_group",
    "demo": "app.cli.instance:demo_command",
    "desks": "app.cli.admin:desks_group",
    "users": "app.cli.admin:users_group",
    "keys": "app.cli.offline:keys_group",
    "decrypt": "app.cli.offline:decrypt_command",
    "audit": "app.cli.maintenance:audit_group",
    "purge": "app.cli.maintenance:purge_command",
    "purge-drafts": "app.cli.drafts:purge_drafts_command",
    "digest": "app.cli.digest:digest_group",
    "stats": "app.cli.maintenance:stats_group",
}
SHORT_HELP = {
    "init": "Create the data directory and its secrets (0600).",
    "serve": "Serve the web app (gunicorn, no access log).",
    "db": "Database schema commands (Alembic migrations).",
    "demo": "Set up a demo instance: init, migrate, seed (once).",
    "desks": "Desks: the teams that receive tips.",
    "users": "Staff accounts: admins, prosecutors, case officers.",
    "keys": "Offline recovery keys (no database needed).",
    "decrypt": "Decrypt an evidence bundle offline (no database needed).",
    "audit": "Verify the hash-chained audit log.",
    "purge": "Delete closed tips past their desk's retention period, and stale drafts.",
    "purge-drafts": "Delete unfinished browser uploads (drafts) older than 24 hours.",
    "digest": "The daily digest of deadlines (counts and tip references only).",
    "stats": "Statistics roll-up: mark it for recomputation after a bulk import.",
}


class LazyGroup(click.Group):
    """Loads a sub-command's module only when that sub-command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP[name]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
def cli() -> None:
    """Tipline: an anonymous, end-to-end encrypted tip line for online wildlife trafficking.

    Configuration comes from TIPLINE_* environment variables (see README.md); secrets not set
    there are read from the data directory, created by 'tipline init'.
    """


def main() -> None:
    cli(prog_name="tipline")
