"""Inbox pages: keyset order across desks, filters, unread marks, never another desk's tips."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from app.config import StaffKdf
from app.errors import InvalidInput
from app.models import Desk, StaffRole, Tip, TipState, TipStatus
from app.services.desks import create_desk
from app.services.inbox import NO_FILTER, InboxFilter, inbox_page, mark_read, mark_unread
from app.services.staff import create_staff_user

KDF = StaffKdf(opslimit=1, memlimit=8 * 1024 * 1024)


def _tip(session: Session, desk: Desk, seq: int, status: TipStatus = TipStatus.RECEIVED) -> Tip:
    tip = Tip(
        id=str(uuid.uuid4()),
        desk_id=desk.id,
        state=TipState.SUBMITTED,
        lookup_digest=os.urandom(32),
        tip_salt=os.urandom(16),
        tipster_public_key=os.urandom(32),
        thread_commitment=os.urandom(32),
        internal_commitment=os.urandom(32),
        status=status,
        received_on=date(2026, 11, 1),
        last_activity_on=date(2026, 11, 1),
        activity_seq=seq,
    )
    session.add(tip)
    return tip


@dataclass(frozen=True)
class World:
    user_id: int
    tips: list[Tip]  # oldest activity first
    foreign: Tip  # of a desk the user is not a member of
    kenya_id: int


@pytest.fixture
def world(db_session: Session) -> World:
    kenya = create_desk(
        db_session,
        slug="kenya",
        name="Kenya",
        country_codes=["KE"],
        now=datetime.now(UTC),
        actor_id=None,
    )
    vietnam = create_desk(
        db_session,
        slug="vn",
        name="Vietnam",
        country_codes=["VN"],
        now=datetime.now(UTC),
        actor_id=None,
    )
    other = create_desk(
        db_session,
        slug="br",
        name="Brazil",
        country_codes=["BR"],
        now=datetime.now(UTC),
        actor_id=None,
    )
    user = create_staff_user(
        db_session,
        username="pat",
        role=StaffRole.PROSECUTOR,
        desk_slugs=["kenya", "vn"],
        password="Ivory-seizure-in-Mombasa",
        now=datetime.now(UTC),
        kdf=KDF,
        actor_id=None,
    ).user
    tips = []
    for seq in range(1, 8):
        desk = kenya if seq % 2 else vietnam
        status = TipStatus.INVESTIGATING if seq in (2, 5) else TipStatus.RECEIVED
        tips.append(_tip(db_session, desk, seq, status))
    foreign = _tip(db_session, other, 100)
    db_session.flush()
    return World(user.id, tips, foreign, kenya.id)


def _walk(session: Session, user_id: int, filters: InboxFilter = NO_FILTER) -> list[str]:
    seen, cursor = [], None
    while True:
        page = inbox_page(session, user_id, filters=filters, cursor=cursor, page_size=2)
        assert len(page.rows) <= 2
        seen += [row.tip_id for row in page.rows]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_pages_walk_all_desks_newest_first_without_gaps(db_session: Session, world: World) -> None:
    ids = _walk(db_session, world.user_id)
    assert ids == [t.id for t in reversed(world.tips)]
    assert world.foreign.id not in ids


def test_filters_by_status_desk_and_unread(db_session: Session, world: World) -> None:
    uid, tips = world.user_id, world.tips
    investigating = _walk(db_session, uid, InboxFilter(status=TipStatus.INVESTIGATING))
    assert investigating == [tips[4].id, tips[1].id]
    only_kenya = _walk(db_session, uid, InboxFilter(desk_id=world.kenya_id))
    assert only_kenya == [t.id for t in reversed(tips) if t.desk_id == world.kenya_id]
    assert _walk(db_session, uid, InboxFilter(desk_id=world.foreign.desk_id)) == []

    for tip in tips[3:]:
        mark_read(db_session, uid, tip)
    unread = _walk(db_session, uid, InboxFilter(unread_only=True))
    assert unread == [t.id for t in reversed(tips[:3])]
    first = inbox_page(db_session, uid).rows[0]
    assert first.tip_id == tips[-1].id and not first.unread

    tips[-1].activity_seq = 50  # new activity: unread again
    db_session.flush()
    assert inbox_page(db_session, uid).rows[0].unread
    mark_unread(db_session, uid, tips[3].id)
    assert tips[3].id in _walk(db_session, uid, InboxFilter(unread_only=True))


def test_a_forged_cursor_is_a_clear_error(db_session: Session, world: World) -> None:
    with pytest.raises(InvalidInput, match="page link is damaged"):
        inbox_page(db_session, world.user_id, cursor="1; DROP TABLE tips")
