"""Engine, session factory and the declarative Base."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import MetaData, create_engine, event, func
from sqlalchemy import exc as exc_
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from tutormax.config import get_settings

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    """The process's engine, created on first use from DATABASE_URL."""
    global _engine, _factory
    if _engine is None:
        _engine = create_engine(
            get_settings().database_url,
            # As many as a web process has threads (16), so busy threads never
            # open and close overflow connections; created lazily.
            pool_size=16,
            max_overflow=16,
            # Reuse the most recently returned connection: the busy ones stay warm and
            # rarely need the idle ping below; the rest sit unused.
            pool_use_lifo=True,
            # Errors and logs name statements, never their values (payloads hold personal data).
            hide_parameters=True,
        )
        _ping_idle_connections(_engine)
        _factory = sessionmaker(bind=_engine, expire_on_commit=False)
    return _engine


# A connection back in the pool for longer than this is pinged before reuse.
IDLE_PING_SECONDS = 1.0


def _ping_idle_connections(engine: Engine) -> None:
    """Pessimistic disconnect handling without a round trip per checkout.

    `pool_pre_ping` costs one SELECT 1 per checkout, a tenth of a POST's time under
    load. Only a connection that sat idle can have been cut by a database restart
    unnoticed; one in constant use fails on its next statement instead, which
    invalidates the whole pool (SQLAlchemy's disconnect handling) and answers 503
    (web) or retries (workers).
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure means: do not use this connection
            raise exc_.DisconnectionError() from exc
        if not alive:
            raise exc_.DisconnectionError()


@contextmanager
def autocommit_connection() -> Iterator[Connection]:
    """A connection whose statements commit one by one: for a single statement that must be atomic by itself."""
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn


@contextmanager
def read_session() -> Iterator[Session]:
    """A session for reads only, in autocommit: no BEGIN/COMMIT round trips.

    Under READ COMMITTED every statement sees its own snapshot anyway, so a read
    transaction would buy no consistency; leaving it out saves two round trips.
    """
    with autocommit_connection() as conn, Session(bind=conn) as session:
        yield session


def after_commit(session: Session, action: Callable[[], object], what: str) -> None:
    """Run `action` once `session`'s transaction has committed (never when it rolls back).

    For the Redis side of a change (publish, invalidate, schedule) whose PostgreSQL
    record is written in the same transaction: if the action fails, the failure is
    logged and the record's repair (sweeper, beat) does it later, so the committed
    change is never undone or retried for it.
    """

    def run(_session: Session) -> None:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - committed; the PostgreSQL record gets it repaired
            log.warning("after-commit action failed; its repair will redo it",
                        extra={"action": what, "error": type(exc).__name__})

    event.listen(session, "after_commit", run, once=True)


def dispose_engine() -> None:
    """Drop pooled connections: call after fork (worker_process_init) and on settings change."""
    global _engine, _factory
    if _engine is not None:
        _engine.dispose(close=False)
    _engine = None
    _factory = None


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    get_engine()
    assert _factory is not None
    session = _factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


__all__ = [
    "Base", "get_engine", "dispose_engine", "session_scope", "autocommit_connection", "read_session",
    "after_commit", "utcnow", "func",
]
