"""The ``tipline`` command: run, administer and (offline) decrypt.

Every sub-command that touches the instance reads the same ``TIPLINE_*`` configuration as the
web app. Failures print one line and exit with status 2.
"""

from __future__ import annotations

import click

from app.cli.admin import desks_group, users_group
from app.cli.instance import db_group, demo_command, init_command, serve_command
from app.cli.offline import decrypt_command, keys_group


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def cli() -> None:
    """Tipline: an anonymous, end-to-end encrypted tip line for online wildlife trafficking.

    Configuration comes from TIPLINE_* environment variables (see README.md); secrets not set
    there are read from the data directory, created by 'tipline init'.
    """


cli.add_command(init_command)
cli.add_command(serve_command)
cli.add_command(db_group)
cli.add_command(demo_command)
cli.add_command(desks_group)
cli.add_command(users_group)
cli.add_command(keys_group)
cli.add_command(decrypt_command)


def main() -> None:
    cli(prog_name="tipline")
