"""`tipline audit verify` names the first edited, deleted or reordered audit entry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from app.cli import cli
from app.db import make_engine, make_session_factory
from app.instance import init_instance
from app.services.audit import AuditAction, record


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    init_instance(tmp_path / "instance")
    return {"TIPLINE_DATA_DIR": str(tmp_path / "instance"), "TIPLINE_DATABASE_URL": database_url}


@pytest.fixture
def audit_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    session = make_session_factory(engine)()
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for number in range(5):
        record(
            session,
            action=list(AuditAction)[number],
            now=start + timedelta(minutes=number),
            tip_id=f"00000000-0000-4000-8000-00000000000{number}",
            details={"n": number},
        )
    session.commit()
    session.close()
    yield engine
    engine.dispose()  # before the test database is dropped under it


def verify(env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    return result.exit_code, result.output


def event_ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [
            row[0] for row in connection.execute(text("SELECT id FROM audit_events ORDER BY id"))
        ]


def head_hash(engine: Engine) -> str:
    with engine.connect() as connection:
        head = connection.execute(
            text("SELECT event_hash FROM audit_events ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    return bytes(head).hex()


def test_an_untouched_log_verifies(env: dict[str, str], audit_engine: Engine) -> None:
    assert verify(env) == (0, f"audit log intact: 5 events, head {head_hash(audit_engine)}\n")


def test_an_anchor_shows_that_the_newest_events_were_deleted(
    env: dict[str, str], audit_engine: Engine
) -> None:
    anchor = head_hash(audit_engine)  # as mailed in the daily digest
    ok = CliRunner().invoke(cli, ["audit", "verify", "--expect-head", anchor], env=env)
    assert ok.exit_code == 0, ok.output
    with audit_engine.begin() as connection:  # delete the two newest events: the chain holds
        connection.execute(
            text("DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events "
                 "ORDER BY id DESC LIMIT 2)")
        )  # fmt: skip
    code, output = verify(env)
    assert code == 0 and "3 events" in output  # undetectable without an anchor...
    truncated = CliRunner().invoke(cli, ["audit", "verify", "--expect-head", anchor], env=env)
    assert truncated.exit_code != 0  # ...and caught with one
    assert "does not contain the expected head" in truncated.output
    bad = CliRunner().invoke(cli, ["audit", "verify", "--expect-head", "zz"], env=env)
    assert bad.exit_code != 0 and "64 hex digits" in bad.output


def edit(engine: Engine, ids: list[int]) -> int:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_events SET action = 'tip.nothing' WHERE id = :id"), {"id": ids[2]}
        )
    return ids[2]


def delete(engine: Engine, ids: list[int]) -> int:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[1]})
    return ids[2]  # the entry after the gap no longer links


def reorder(engine: Engine, ids: list[int]) -> int:
    # Swap the positions of two entries by exchanging their ids.
    parking = 10**9
    with engine.begin() as connection:
        for old, new in ((ids[1], parking), (ids[3], ids[1]), (parking, ids[3])):
            connection.execute(
                text("UPDATE audit_events SET id = :new WHERE id = :old"), {"new": new, "old": old}
            )
    return ids[1]


@pytest.mark.parametrize("tamper", [edit, delete, reorder])
def test_tampering_is_detected_and_the_first_bad_entry_named(
    env: dict[str, str], audit_engine: Engine, tamper: Callable[[Engine, list[int]], int]
) -> None:
    first_bad = tamper(audit_engine, event_ids(audit_engine))
    code, output = verify(env)
    assert code == 2
    assert f"audit log broken at event {first_bad}:" in output


def delete_first(engine: Engine, ids: list[int]) -> int:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[0]})
    return ids[1]  # it no longer links to the genesis hash


def edit_details(engine: Engine, ids: list[int]) -> int:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_events SET tip_id = NULL WHERE id = :id"), {"id": ids[4]}
        )
    return ids[4]


def swap_contents(engine: Engine, ids: list[int]) -> int:
    """Reorder by exchanging two entries' contents (hashes included), keeping the ids."""
    select_row = text(
        "SELECT occurred_at, actor_user_id, action, tip_id, prev_hash, event_hash "
        "FROM audit_events WHERE id = :id"
    )
    with engine.begin() as connection:
        first, second = (connection.execute(select_row, {"id": i}).one() for i in ids[2:4])
        connection.execute(
            text("UPDATE audit_events SET event_hash = :h WHERE id = :id"),
            {"h": b"\0" * 32, "id": ids[2]},
        )
        for target, row in ((ids[3], first), (ids[2], second)):
            connection.execute(
                text(
                    "UPDATE audit_events SET occurred_at = :occurred_at, actor_user_id = "
                    ":actor_user_id, action = :action, tip_id = :tip_id, prev_hash = :prev_hash, "
                    "event_hash = :event_hash WHERE id = :id"
                ),
                {**row._asdict(), "id": target},
            )
    return ids[2]


@pytest.mark.parametrize("tamper", [delete_first, edit_details, swap_contents])
def test_more_tampering_is_detected_and_the_first_bad_entry_named(
    env: dict[str, str], audit_engine: Engine, tamper: Callable[[Engine, list[int]], int]
) -> None:
    first_bad = tamper(audit_engine, event_ids(audit_engine))
    code, output = verify(env)
    assert code == 2
    assert f"audit log broken at event {first_bad}:" in output
