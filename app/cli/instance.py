"""Commands that set up and run an instance: init, db upgrade, demo, serve."""

from __future__ import annotations

import click

from app.cli.common import load_config, transaction
from app.config import data_dir_from_env
from app.instance import init_instance


@click.command("init")
def init_command() -> None:
    """Create the data directory and its secrets (0600); never overwrites existing ones."""
    config_dir = data_dir_from_env()
    created = init_instance(config_dir)
    for path in created:
        click.echo(f"created {path}")
    if not created:
        click.echo(f"instance at {config_dir} already initialised; nothing changed")


@click.group("db")
def db_group() -> None:
    """Database schema commands (Alembic migrations are the only way the schema changes)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade_command(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from app.migrate import upgrade

    config = load_config()
    upgrade(config.database_url, revision)
    click.echo(f"database at revision {revision}")


@click.command("demo")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address `tipline serve` will use."
)
@click.option(
    "--port", default=5000, show_default=True, type=int, help="Port `tipline serve` will use."
)
def demo_command(host: str, port: int) -> None:
    """Set up a demo instance: init, migrate, and seed demo desks and staff (once).

    Credentials (passwords and TOTP secrets) are printed only when they are created; running
    it again keeps all data and prints nothing secret. HOST and PORT only shape the sign-in
    address it prints.
    """
    from app.migrate import upgrade
    from app.services.demo import seed_demo

    init_instance(data_dir_from_env())
    config = load_config()
    upgrade(config.database_url)
    with transaction(config) as session:
        seeded = seed_demo(session, config)
    if seeded is None:
        click.echo("Demo data already present; nothing changed. (Credentials were printed once.)")
        return
    click.echo(seeded.describe(base_url(host, port)))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers.")
@click.option(
    "--debug", is_flag=True, help="Use Flask's debug server instead of gunicorn (development)."
)
def serve_command(host: str, port: int, workers: int, debug: bool) -> None:
    """Serve the web app (gunicorn; no access log, so tipster visits leave no trace)."""
    from app import create_app
    from app.server import run_debug_server, run_gunicorn

    config = load_config()
    flask_app = create_app(config)
    click.echo(f"Tipline serving on {base_url(host, port)}  (Ctrl+C to stop)")
    if debug:
        run_debug_server(flask_app, host, port)
    else:
        run_gunicorn(flask_app, host=host, port=port, workers=workers)


def base_url(host: str, port: int) -> str:
    """The address a browser uses for ``tipline serve --host HOST --port PORT``."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
