"""Alembic, driven from code: `tutormax db upgrade` and the /readyz schema check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return cfg


def upgrade_to_head() -> None:
    """Apply every migration up to head."""
    command.upgrade(alembic_config(), "head")


def script_heads() -> set[str]:
    """The head revisions of the migration scripts shipped with this code."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def schema_is_current(engine: Engine) -> bool:
    """True when the database's revisions are exactly the scripts' heads."""
    expected = script_heads()
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == expected
