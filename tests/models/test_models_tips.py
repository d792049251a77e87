"""Tips, their sealed keys and objects: what the database itself refuses or cascades."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import (
    Author,
    EncryptedObject,
    ObjectKind,
    Scope,
    SealedKey,
    Tip,
    TipState,
    TipStatus,
    TipsterSession,
)
from tests.models.model_factory import ModelFactory


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_lookup_digest_is_unique(factory: ModelFactory) -> None:
    first = factory.tip()
    with pytest.raises(IntegrityError, match="lookup_digest"):
        factory.tip(lookup_digest=first.lookup_digest)


def test_many_tips_may_have_burnt_codes(factory: ModelFactory, db_session: Session) -> None:
    for _ in range(3):
        factory.tip(lookup_digest=None, tipster_public_key=None)
    assert count(db_session, Tip) == 3


def test_burning_a_code_clears_lookup_and_tipster_key_together(factory: ModelFactory) -> None:
    with pytest.raises(IntegrityError, match="ck_tips_code_burnt_whole"):
        factory.tip(lookup_digest=None)


def test_new_tip_gets_workflow_defaults(factory: ModelFactory, db_session: Session) -> None:
    tip = factory.tip(state=TipState.DRAFT)
    db_session.commit()
    db_session.expire_all()
    loaded = db_session.get_one(Tip, tip.id)
    assert loaded.status is TipStatus.RECEIVED
    assert loaded.priority == 0
    assert loaded.assignee_id is None
    assert loaded.state is TipState.DRAFT


def test_deleting_a_tip_deletes_its_sealed_keys_objects_and_sessions(
    factory: ModelFactory, db_session: Session
) -> None:
    tip = factory.tip()
    other = factory.tip()
    for scope in Scope:
        factory.sealed_key(tip, scope=scope)
    factory.sealed_key(other)
    factory.encrypted_object(tip)
    factory.encrypted_object(tip, kind=ObjectKind.FILE)
    factory.encrypted_object(other)
    db_session.add(
        TipsterSession(
            session_digest=os.urandom(32),
            tip_id=tip.id,
            key_custody_blob=os.urandom(80),
            expires_at=datetime.now(UTC),
        )
    )
    db_session.commit()

    # In SQL, bypassing the ORM: the database's ON DELETE CASCADE does the work.
    db_session.execute(text("DELETE FROM tips WHERE id = :id"), {"id": tip.id})
    db_session.commit()

    assert db_session.scalars(select(SealedKey.tip_id)).all() == [other.id]
    assert db_session.scalars(select(EncryptedObject.tip_id)).all() == [other.id]
    assert count(db_session, TipsterSession) == 0


def test_orm_delete_of_a_tip_cascades_too(factory: ModelFactory, db_session: Session) -> None:
    tip = factory.tip()
    factory.sealed_key(tip)
    factory.encrypted_object(tip)
    db_session.commit()
    db_session.delete(tip)
    db_session.commit()
    assert (count(db_session, SealedKey), count(db_session, EncryptedObject)) == (0, 0)


def test_a_desk_with_tips_cannot_be_deleted(factory: ModelFactory, db_session: Session) -> None:
    tip = factory.tip()
    db_session.commit()
    with pytest.raises(IntegrityError):
        db_session.execute(text("DELETE FROM desks WHERE id = :id"), {"id": tip.desk_id})
        db_session.flush()


def test_one_sealed_key_per_tip_recipient_and_scope(factory: ModelFactory) -> None:
    tip = factory.tip()
    first = factory.sealed_key(tip, scope=Scope.THREAD)
    factory.sealed_key(tip, key_id=first.key_id, scope=Scope.INTERNAL)
    with pytest.raises(
        IntegrityError, match=r"uq_sealed_keys_tip_id_key_id_scope|sealed_keys\.tip_id"
    ):
        factory.sealed_key(tip, key_id=first.key_id, scope=Scope.THREAD)


def test_object_sequence_numbers_are_unique_within_a_tip(factory: ModelFactory) -> None:
    tip = factory.tip()
    factory.encrypted_object(tip, seq=0)
    factory.encrypted_object(factory.tip(), seq=0)
    with pytest.raises(
        IntegrityError, match=r"uq_objects_tip_id_seq|objects\.tip_id, objects\.seq"
    ):
        factory.encrypted_object(tip, seq=0)


def test_tip_lists_its_objects_in_sequence_order(
    factory: ModelFactory, db_session: Session
) -> None:
    tip = factory.tip()
    for seq in (2, 0, 1):
        factory.encrypted_object(tip, seq=seq)
    db_session.commit()
    db_session.expire_all()
    assert [row.seq for row in db_session.get_one(Tip, tip.id).objects] == [0, 1, 2]


def test_tipster_cannot_have_written_in_the_internal_scope(factory: ModelFactory) -> None:
    with pytest.raises(IntegrityError, match="ck_objects_tipster_writes_thread"):
        factory.encrypted_object(factory.tip(), scope=Scope.INTERNAL, kind=ObjectKind.NOTE)


def test_staff_objects_name_their_author_and_tipster_objects_do_not(
    factory: ModelFactory, db_session: Session
) -> None:
    tip = factory.tip()
    user = factory.staff_user()
    factory.encrypted_object(tip, author=Author.STAFF, author_user_id=user.id, scope=Scope.INTERNAL)
    with db_session.begin_nested(), pytest.raises(IntegrityError, match="staff_author_named"):
        factory.encrypted_object(tip, author=Author.STAFF, author_user_id=None)
    with pytest.raises(IntegrityError, match="staff_author_named"):
        factory.encrypted_object(tip, author=Author.TIPSTER, author_user_id=user.id)
