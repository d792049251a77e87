"""What the instance commands share: loading the config and a transaction, one-line failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from app.config import Config, ConfigError
from app.db import make_engine, make_session_factory
from app.errors import DomainError


class CommandFailed(click.ClickException):
    """Printed as one line on stderr; the command exits with status 2."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(f"tipline: {self.format_message()}", err=True)


def load_config() -> Config:
    try:
        return Config.from_env()
    except ConfigError as error:
        raise CommandFailed(str(error)) from None


@contextmanager
def transaction(config: Config) -> Iterator[Session]:
    """The command's one transaction owner: a session committed when the block succeeds.

    A domain error becomes a one-line failure; what the block changed is rolled back, except
    where the error says its effects must persist (``keep_effects``), which are committed.
    """
    engine = make_engine(config.database_url)
    session = make_session_factory(engine)()
    try:
        yield session
        session.commit()
    except DomainError as error:
        if error.keep_effects:
            session.commit()
        else:
            session.rollback()
        raise CommandFailed(error.message) from None
    finally:
        session.close()
        engine.dispose()
