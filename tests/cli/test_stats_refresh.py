"""`tipline stats refresh` marks what a bulk load hid from the statistics roll-up."""

from __future__ import annotations

from datetime import date

from click.testing import CliRunner
from sqlalchemy import Engine

from app.cli import cli
from app.db import make_session_factory
from app.models import TipState
from app.services.stats_rollup import current_figures, dirty_rows
from tests.models.model_factory import ModelFactory


def test_bulk_loaded_tips_reach_the_statistics_after_a_refresh(
    env: dict[str, str], engine: Engine
) -> None:
    session = make_session_factory(engine)()
    factory = ModelFactory(session)
    kenya, france = factory.desk(), factory.desk()
    for desk, received in [
        (kenya, date(2026, 9, 3)),
        (kenya, date(2026, 9, 20)),
        (kenya, date(2026, 10, 1)),
        (france, date(2026, 10, 7)),
    ]:
        factory.tip(desk=desk, received_on=received, state=TipState.SUBMITTED)
    factory.tip(desk=france, received_on=date(2026, 8, 1), state=TipState.DRAFT)
    session.commit()
    assert dirty_rows(session) == 0  # inserted behind the services' back: nothing marked

    assert CliRunner().invoke(cli, ["init"], env=env).exit_code == 0
    result = CliRunner().invoke(cli, ["stats", "refresh"], env=env)
    assert result.exit_code == 0, result.output
    assert "marked 3 desk-months" in result.output  # kenya Sep + Oct, france Oct; no drafts
    session.expire_all()
    assert dirty_rows(session) == 3
    months = current_figures(session, desk_ids=[kenya.id, france.id], since=date(2026, 9, 1))
    assert sum(month.figures.received for month in months) == 4
    assert dirty_rows(session) == 0
    session.close()
