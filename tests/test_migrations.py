"""Migrations: one linear history whose head matches the models exactly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tests.helpers import scratch_database
from tutormax.db import Base, get_engine
from tutormax.migrate import alembic_config, schema_is_current


def test_history_is_linear():
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    assert [r.revision for r in script.walk_revisions()][::-1] == [
        "0001_spine", "0002_learning", "0003_reading", "0004_tutoring", "0005_essays",
        "0006_learning_indexes", "0007_outbox_claims", "0008_pending_work", "0009_learning_triage",
        "0010_privacy", "0011_xapi"]


def test_migrated_schema_matches_the_models(stack):
    import tutormax.models  # noqa: F401

    with get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert schema_is_current(get_engine())


def test_downgrade_to_base_and_back(stack):
    """Run against a separate database so the session's data is untouched."""
    from sqlalchemy import create_engine

    with scratch_database(stack, "tutormax_migrations") as url:
        command.upgrade(alembic_config(), "head")
        command.downgrade(alembic_config(), "base")
        command.upgrade(alembic_config(), "head")
        engine = create_engine(url)
        assert schema_is_current(engine)
        engine.dispose()
