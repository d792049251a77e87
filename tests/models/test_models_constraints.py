"""CHECK constraints guard the database even against SQL that bypasses the models."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from app.models import (
    Blob,
    BlobState,
    DeskJurisdiction,
    DeskStatusText,
    StaffKey,
    TipsterStatus,
)
from tests.models.model_factory import ModelFactory


@pytest.fixture
def one_of_each(factory: ModelFactory, db_session: Session) -> None:
    """A valid row in every table that has a value-set column."""
    tip = factory.tip()
    factory.sealed_key(tip)
    factory.encrypted_object(tip)
    factory.staff_user()
    db_session.add(
        DeskStatusText(
            desk_id=tip.desk_id, status=TipsterStatus.RECEIVED, language="en", text="Received."
        )
    )
    db_session.add(
        Blob(
            name=str(uuid.uuid4()),
            size=0,
            state=BlobState.STAGED,
            updated_on=datetime.now(UTC).date(),
        )
    )
    db_session.commit()


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("tips", "state"),
        ("tips", "status"),
        ("sealed_keys", "scope"),
        ("objects", "scope"),
        ("objects", "kind"),
        ("objects", "author"),
        ("staff_users", "role"),
        ("desk_status_texts", "status"),
        ("blobs", "state"),
    ],
)
def test_unknown_enum_value_is_refused_by_the_database(
    one_of_each: None, db_session: Session, table: str, column: str
) -> None:
    with pytest.raises(IntegrityError, match=f"ck_{table}_{column}_allowed"):
        db_session.execute(text(f"UPDATE {table} SET {column} = 'bogus'"))  # noqa: S608
        db_session.flush()


def test_unknown_enum_value_is_refused_before_any_sql(factory: ModelFactory) -> None:
    with pytest.raises(StatementError, match="bogus"):
        factory.tip(status="bogus")


@pytest.mark.parametrize(
    ("column", "length"),
    [
        ("lookup_digest", 31),
        ("tip_salt", 32),
        ("tipster_public_key", 33),
        ("thread_commitment", 16),
        ("internal_commitment", 0),
    ],
)
def test_fixed_size_binary_columns_refuse_other_lengths(
    factory: ModelFactory, column: str, length: int
) -> None:
    overrides: dict[str, Any] = {column: os.urandom(length)}
    with pytest.raises(IntegrityError, match=f"ck_tips_{column}_length"):
        factory.tip(**overrides)


def test_sealed_key_must_be_96_bytes(factory: ModelFactory) -> None:
    with pytest.raises(IntegrityError, match="ck_sealed_keys_sealed_length"):
        factory.sealed_key(factory.tip(), sealed=os.urandom(95))


@pytest.mark.parametrize("country_code", ["ke", "K", "Ke"])
def test_jurisdictions_are_two_upper_case_letters(
    factory: ModelFactory, db_session: Session, country_code: str
) -> None:
    desk = factory.desk()
    db_session.add(DeskJurisdiction(desk_id=desk.id, country_code=country_code))
    with pytest.raises(IntegrityError, match="ck_desk_jurisdictions_country_code_alpha2"):
        db_session.flush()


def test_jurisdictions_longer_than_two_letters_are_refused(
    factory: ModelFactory, db_session: Session
) -> None:
    desk = factory.desk()
    db_session.add(DeskJurisdiction(desk_id=desk.id, country_code="KEN"))
    with pytest.raises(DBAPIError):  # VARCHAR(2) on PostgreSQL, the CHECK on SQLite
        db_session.flush()


def test_desk_slugs_are_lower_case_and_unique(factory: ModelFactory, db_session: Session) -> None:
    factory.desk(slug="kws")
    with db_session.begin_nested(), pytest.raises(IntegrityError, match="ck_desks_slug_lowercase"):
        factory.desk(slug="KWS")
    with pytest.raises(IntegrityError, match=r"uq_desks_slug|desks\.slug"):
        factory.desk(slug="kws")


def test_there_is_at_most_one_triage_desk(factory: ModelFactory) -> None:
    factory.desk(is_triage=True)
    factory.desk(is_triage=False)
    factory.desk(is_triage=False)
    with pytest.raises(IntegrityError, match=r"ix_desks_single_triage|desks\.is_triage"):
        factory.desk(is_triage=True)


def test_staff_key_sizes_are_checked(factory: ModelFactory, db_session: Session) -> None:
    user = factory.staff_user()
    db_session.add(
        StaffKey(
            user_id=user.id,
            key_id=os.urandom(16).hex(),
            public_key=os.urandom(32),
            wrapped_secret_key=os.urandom(71),
            kdf_salt=os.urandom(16),
            kdf_opslimit=2,
            kdf_memlimit=64 * 1024 * 1024,
            created_at=datetime.now(UTC),
        )
    )
    with pytest.raises(IntegrityError, match="ck_staff_keys_wrapped_secret_key_length"):
        db_session.flush()
