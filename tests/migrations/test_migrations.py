"""Migrations are code with tests: one head, upgrade from empty, agreement with the models,
and a way back down — on whichever database the run uses (CI runs SQLite and PostgreSQL)."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.db import make_engine
from app.migrate import alembic_config, current_revision, downgrade, heads, upgrade
from app.models import Base

SCHEMA_TABLES = set(Base.metadata.tables)
TIPSTER_TABLES = ["tips", "objects", "sealed_keys", "blobs"]


def schema_differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def inspect_database(url: str) -> tuple[sa.Engine, sa.Inspector]:
    engine = make_engine(url)
    return engine, sa.inspect(engine)


def table_names(url: str) -> set[str]:
    engine, inspector = inspect_database(url)
    try:
        return set(inspector.get_table_names())
    finally:
        engine.dispose()


def test_there_is_exactly_one_head() -> None:
    assert len(heads()) == 1


def test_every_revision_says_what_it_does() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    for revision in script.walk_revisions():
        assert revision.module.__doc__ and revision.doc.strip(), revision.revision


def test_upgrade_from_empty_creates_the_whole_schema(empty_database_url: str) -> None:
    assert current_revision(empty_database_url) is None
    upgrade(empty_database_url)
    assert current_revision(empty_database_url) == heads()[0]
    assert table_names(empty_database_url) == SCHEMA_TABLES | {"alembic_version"}
    assert schema_differences(empty_database_url) == []


def test_models_and_migrations_agree(database_url: str) -> None:
    assert schema_differences(database_url) == []


def test_check_constraints_match_the_models(database_url: str) -> None:
    """Autogenerate does not compare CHECK constraints; compare their names here."""
    engine, inspector = inspect_database(database_url)
    try:
        for table in Base.metadata.sorted_tables:
            expected = {
                str(constraint.name)
                for constraint in table.constraints
                if isinstance(constraint, sa.CheckConstraint)
            }
            found = {str(ck["name"]) for ck in inspector.get_check_constraints(table.name)}
            assert found == expected, table.name
    finally:
        engine.dispose()


def test_partial_unique_index_allows_one_triage_desk(database_url: str) -> None:
    engine, inspector = inspect_database(database_url)
    try:
        indexes = {index["name"]: index for index in inspector.get_indexes("desks")}
        assert indexes["ix_desks_single_triage"]["unique"]
    finally:
        engine.dispose()


@pytest.mark.parametrize("table", TIPSTER_TABLES)
def test_tipster_related_columns_are_never_timestamps_in_the_database(
    database_url: str, table: str
) -> None:
    engine, inspector = inspect_database(database_url)
    try:
        columns = inspector.get_columns(table)
    finally:
        engine.dispose()
    assert columns
    assert [c["name"] for c in columns if isinstance(c["type"], sa.DateTime)] == []


def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    downgrade(database_url, "base")
    assert current_revision(database_url) is None
    assert table_names(database_url) == {"alembic_version"}
    upgrade(database_url)
    assert current_revision(database_url) == heads()[0]
    assert schema_differences(database_url) == []


def test_upgrade_is_idempotent_at_head(database_url: str) -> None:
    upgrade(database_url)
    assert current_revision(database_url) == heads()[0]


@pytest.mark.parametrize("url", ["postgresql://dba@db.invalid/tipline", "sqlite:///offline.db"])
def test_offline_mode_prints_the_ddl_for_a_dba(url: str) -> None:
    config = alembic_config(url)
    config.output_buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    ddl = config.output_buffer.getvalue()
    assert "CREATE TABLE tips" in ddl
    assert "ck_tips_status_allowed" in ddl


def test_object_kind_check_admits_exactly_the_model_kinds(database_url: str) -> None:
    """CHECK constraints are compared by name above; this one changed its condition (0005)."""
    from app.models import ObjectKind

    engine = make_engine(database_url)
    insert = sa.text(
        "INSERT INTO objects (id, tip_id, scope, kind, author, seq, ciphertext_size, complete,"
        " created_on) VALUES (:id, 'no-such-tip', 'thread', :kind, 'tipster', 0, 0, false,"
        " '2026-01-01')"
    )
    try:
        for kind in [*ObjectKind, "bogus"]:
            with engine.connect() as connection:
                if engine.dialect.name == "sqlite":
                    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
                else:
                    connection.exec_driver_sql("SET session_replication_role = replica")
                statement = connection.execute
                if kind == "bogus":
                    with pytest.raises(sa.exc.IntegrityError):
                        statement(insert, {"id": "b" * 36, "kind": kind})
                else:
                    statement(insert, {"id": str(kind).ljust(36, "x"), "kind": str(kind)})
                connection.rollback()
    finally:
        engine.dispose()


def test_0005_keeps_every_object_row_and_its_constraints(empty_database_url: str) -> None:
    """0005 copies ``objects`` on SQLite: rows and the other constraints must survive."""
    from sqlalchemy.orm import Session

    from tests.models.model_factory import ModelFactory

    upgrade(empty_database_url, "0004")
    engine = make_engine(empty_database_url)
    try:
        with Session(engine) as session:
            tip_id = ModelFactory(session).tip().id
            session.execute(
                sa.text(
                    "INSERT INTO objects (id, tip_id, scope, kind, author, seq, ciphertext_size,"
                    " complete, created_on) VALUES (:id, :tip, 'thread', 'file', 'tipster', 3,"
                    " 4137, true, '2026-11-30')"
                ),
                {"id": "f" * 36, "tip": tip_id},
            )
            session.commit()
        upgrade(empty_database_url)
        with engine.connect() as connection:
            kept = connection.execute(sa.text("SELECT id, tip_id, kind, seq FROM objects")).all()
            assert [tuple(r) for r in kept] == [("f" * 36, tip_id, "file", 3)]
            with pytest.raises(sa.exc.IntegrityError, match="ck_objects_size_and_seq"):
                connection.execute(sa.text("UPDATE objects SET seq = -1"))
    finally:
        engine.dispose()
