"""The tip core (app/services/tips.py) is the one home of a tip's rows and bookkeeping."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import StatsRollup, TipStatus
from app.services import tips
from tests.models.model_factory import ModelFactory

APP = Path(__file__).resolve().parents[2] / "app"
CORE = APP / "services" / "tips.py"
ROWS_OF_A_TIP = {"Tip", "SealedKey", "EncryptedObject"}
DAY = date(2026, 3, 2)


def _calls(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name:
                found.append((name, node.lineno))
    return found


def test_only_the_tip_core_builds_tip_sealed_key_and_object_rows() -> None:
    elsewhere = [
        f"{path.relative_to(APP.parent)}:{line} builds {name}"
        for path in sorted(APP.rglob("*.py"))
        if path != CORE
        for name, line in _calls(path)
        if name in ROWS_OF_A_TIP
    ]
    assert elsewhere == []
    assert {name for name, _ in _calls(CORE)} >= ROWS_OF_A_TIP


def test_only_the_tip_core_marks_the_statistics_roll_up() -> None:
    rollup = APP / "services" / "stats_rollup.py"
    elsewhere = [
        f"{path.relative_to(APP.parent)}:{line}"
        for path in sorted(APP.rglob("*.py"))
        if path not in (CORE, rollup)
        for name, line in _calls(path)
        if name in ("mark", "mark_tip")
    ]
    assert elsewhere == []


def _rollup_version(session: Session, desk_id: int) -> int:
    return session.scalar(select(StatsRollup.version).where(StatsRollup.desk_id == desk_id)) or 0


def test_new_activity_moves_a_tip_up_without_touching_the_statistics(db_session: Session) -> None:
    factory = ModelFactory(db_session)
    desk = factory.desk()
    older, newer = factory.tip(desk=desk, received_on=DAY), factory.tip(desk=desk, received_on=DAY)
    tips.touch(db_session, older, tips.Change.SUBMITTED, today=DAY)
    tips.touch(db_session, newer, tips.Change.SUBMITTED, today=DAY)
    db_session.flush()
    marked = _rollup_version(db_session, desk.id)
    assert newer.activity_seq > older.activity_seq

    tips.touch(db_session, older, tips.Change.NEW_ACTIVITY, today=date(2026, 3, 9))
    db_session.flush()
    assert older.activity_seq > newer.activity_seq
    assert older.last_activity_on == date(2026, 3, 9)
    assert _rollup_version(db_session, desk.id) == marked


def test_a_workflow_change_recomputes_the_next_deadline_and_marks_the_month(
    db_session: Session,
) -> None:
    factory = ModelFactory(db_session)
    desk = factory.desk()
    tip = factory.tip(desk=desk, received_on=DAY)
    tips.set_initial_deadlines(tip, desk, DAY)
    tips.touch(db_session, tip, tips.Change.SUBMITTED, today=DAY)
    db_session.flush()
    assert tip.next_due_on == tip.ack_due_on
    seq, marked = tip.activity_seq, _rollup_version(db_session, desk.id)

    tip.acknowledged_on = DAY
    tip.status = TipStatus.ACKNOWLEDGED
    tips.touch(db_session, tip, tips.Change.WORKFLOW, today=DAY)
    db_session.flush()
    assert tip.next_due_on == tip.feedback_due_on
    assert tip.activity_seq == seq  # the inbox order is for new content, not workflow
    assert _rollup_version(db_session, desk.id) == marked + 1

    tip.status = TipStatus.CLOSED
    tips.touch(db_session, tip, tips.Change.WORKFLOW, today=DAY)
    assert tip.next_due_on is None
