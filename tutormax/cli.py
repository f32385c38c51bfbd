"""The `tutormax` command (SPEC §6)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from dotenv import load_dotenv

from tutormax.config import DOMAINS, get_settings, reset_settings
from tutormax.migrate import ROOT

DEV_PG_PORT = int(os.environ.get("TUTORMAX_DEV_PG_PORT", "55432"))
DEV_REDIS_PORT = int(os.environ.get("TUTORMAX_DEV_REDIS_PORT", "56379"))


def _var() -> Path:
    """The state directory of `tutormax dev`: ./var/ of the directory commands run in."""
    return Path.cwd() / "var"


def _load_dotenv() -> None:
    # As tutormax.config does: a .env in the working directory, never overriding the environment.
    load_dotenv(Path.cwd() / ".env", override=False)


def _find_servers() -> str:
    """Point DATABASE_URL (and REDIS_URL) at the servers of a running `make dev` when they are not set.

    Returns where the database URL comes from, for error messages.
    """
    from tutormax.devservers import DEV_STATE_FILE, DevState

    _load_dotenv()
    if os.environ.get("DATABASE_URL"):
        return "DATABASE_URL from the environment"
    var = _var()
    state = DevState.read(var)
    if state is not None and state.answering():
        os.environ["DATABASE_URL"] = state.database_url
        os.environ.setdefault("REDIS_URL", state.redis_url)
        reset_settings()
        return f"from {var / DEV_STATE_FILE}, written by `make dev`"
    if state is None:
        return f"the default: DATABASE_URL is not set and there is no {var / DEV_STATE_FILE}"
    return f"the default: DATABASE_URL is not set and {var / DEV_STATE_FILE} is stale (its servers do not answer)"


def _first_line_reason(error: BaseException) -> str:
    """The driver's reason in one line: the last clause of its first line ("Connection refused")."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    first = lines[0] if lines else ""
    # psycopg: 'connection failed: … port 5432 failed: Connection refused';
    # redis: 'Error 111 connecting to 127.0.0.1:6379. Connection refused.'
    reason = first.rsplit(": ", 1)[-1].strip().rstrip(".").rsplit(". ", 1)[-1].strip()
    return reason or type(error).__name__


def _database_error(source: str, error: BaseException) -> click.ClickException:
    from sqlalchemy.engine import make_url

    url = make_url(get_settings().database_url)
    where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
    return click.ClickException(f"cannot connect to PostgreSQL at {where} ({source}): "
                                f"{_first_line_reason(error)}. Start `make dev` or set DATABASE_URL.")


def _redis_error(error: BaseException) -> click.ClickException:
    from urllib.parse import urlsplit

    parts = urlsplit(get_settings().broker_url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path}"
    return click.ClickException(f"cannot connect to Redis at {where}: {_first_line_reason(error)}. "
                                "Start `make dev` or set REDIS_URL.")


def _check_database(source: str) -> None:
    """Connect once with a short timeout, so an unreachable database is one line, not a hang or a traceback."""
    from sqlalchemy import create_engine
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.pool import NullPool

    engine = create_engine(get_settings().database_url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            pass
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        raise _database_error(source, exc) from None
    finally:
        engine.dispose()


def _check_redis() -> None:
    import redis

    client = redis.Redis.from_url(get_settings().broker_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise _redis_error(exc) from None
    finally:
        client.close()


def uses_servers(broker: bool = False) -> Callable:
    """Command decorator: find the database (and, with `broker`, Redis) first; say in one line when they
    cannot be reached, instead of a traceback."""

    def decorator(command: Callable) -> Callable:
        @wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            import redis
            from kombu.exceptions import OperationalError as BrokerError
            from sqlalchemy import exc as sa_exc

            source = _find_servers()
            _check_database(source)
            if broker:
                _check_redis()
            try:
                return command(*args, **kwargs)
            except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:  # lost while running
                raise _database_error(source, exc) from None
            except (redis.ConnectionError, redis.TimeoutError, BrokerError) as exc:
                raise _redis_error(exc) from None

        return wrapper

    return decorator


@click.group()
def main() -> None:
    """TutorMax: event-driven learning analytics."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@uses_servers()
def db_upgrade() -> None:
    """Apply Alembic migrations up to head."""
    from tutormax.migrate import upgrade_to_head

    upgrade_to_head()
    click.echo("database at head")


@main.group()
def apikey() -> None:
    """API keys."""


@apikey.command("create")
@click.option("--name", required=True, help="Who or what uses the key.")
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice(["events:write", "read", "admin"]), help="Repeat for several scopes.")
@click.option("--teacher", default=None, help="Bind the key to one teacher's classes.")
@uses_servers()
def apikey_create(name: str, scopes: tuple[str, ...], teacher: str | None) -> None:
    """Create a key; it is printed once, as the last line."""
    from tutormax.web.auth import create_api_key

    key = create_api_key(name, scopes, teacher)
    click.echo(f"created key {name!r} with scopes {', '.join(sorted(set(scopes)))}"
               + (f" for teacher {teacher}" if teacher else ""))
    click.echo(key)


@apikey.command("list")
@uses_servers()
def apikey_list() -> None:
    """List keys (never the keys themselves): id, name, prefix, scopes, teacher, state."""
    from sqlalchemy import select

    from tutormax.db import session_scope
    from tutormax.models.auth import ApiKey

    with session_scope() as session:
        for row in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            state = "revoked" if row.revoked_at else "active"
            click.echo(f"{row.id}\t{row.name}\t{row.key_prefix}…\t{','.join(row.scopes)}\t"
                       f"{row.teacher_id or '-'}\t{state}")


@apikey.command("revoke")
@click.argument("key_id", type=int)
@uses_servers()
def apikey_revoke(key_id: int) -> None:
    """Revoke a key by its id: it stops working at once, dashboard sessions included."""
    from tutormax.web.auth import revoke_api_key

    if not revoke_api_key(key_id):
        raise click.ClickException(f"no active key with id {key_id}")
    click.echo(f"revoked key {key_id}")


@main.group()
def dlq() -> None:
    """Dead letters."""


@dlq.command("list")
@click.option("--state", default="open", type=click.Choice(["open", "replayed", "discarded", "all"]))
@click.option("--limit", default=100, show_default=True)
@uses_servers()
def dlq_list(state: str, limit: int) -> None:
    """List dead letters, newest first."""
    from tutormax.tasks.deadletters import list_dead_letters

    rows, total = list_dead_letters(state, limit)
    click.echo(f"{total} dead letter(s) [{state}]")
    for letter, event in rows:
        click.echo(f"{letter.id}\tevent={letter.event_pk}\t{event.type}\tstage={letter.stage}\t"
                   f"reason={letter.reason}\tattempts={letter.attempts}\t{letter.state}\t"
                   f"last={letter.last_seen_at:%Y-%m-%dT%H:%M:%SZ}")


@dlq.command("replay")
@click.argument("letter_id", type=int)
@uses_servers(broker=True)
def dlq_replay(letter_id: int) -> None:
    """Send a dead-lettered event through the pipeline again."""
    from tutormax.tasks.deadletters import replay

    _celery()
    event_pk = replay(letter_id)
    if event_pk is None:
        raise click.ClickException(f"no open dead letter with id {letter_id}")
    click.echo(f"replayed dead letter {letter_id} (event {event_pk})")


@dlq.command("discard")
@click.argument("letter_id", type=int)
@uses_servers()
def dlq_discard(letter_id: int) -> None:
    """Discard a dead letter for good."""
    from tutormax.tasks.deadletters import discard

    if not discard(letter_id):
        raise click.ClickException(f"no open dead letter with id {letter_id}")
    click.echo(f"discarded dead letter {letter_id}")


@main.command()
@click.option("--domain", type=click.Choice(DOMAINS), default=None, help="Only this domain (default: all).")
@uses_servers(broker=True)
def rebuild(domain: str | None) -> None:
    """Recompute views from the event log."""
    from tutormax.registry import rebuilder_for

    _celery()
    for name in [domain] if domain else list(DOMAINS):
        fn = rebuilder_for(name)
        if fn is None:
            click.echo(f"{name}: no views to rebuild")
            continue
        result = fn()
        click.echo(f"{name}: rebuilt{'' if result is None else f' ({result})'}")


@main.group()
def privacy() -> None:
    """Export or erase everything TutorMax holds about one student or tutor (SPEC §4)."""


def _subject(student: str | None, tutor: str | None) -> tuple[str, str]:
    if (student is None) == (tutor is None):
        raise click.UsageError("Give exactly one of --student S or --tutor T.")
    return ("student", student) if student is not None else ("tutor", tutor)


@privacy.command("export")
@click.option("--student", default=None, help="The student's id.")
@click.option("--tutor", default=None, help="The tutor's id.")
@uses_servers()
def privacy_export(student: str | None, tutor: str | None) -> None:
    """Print every stored fact about the person as one JSON document."""
    from tutormax.db import session_scope
    from tutormax.queries.privacy import subject_export

    kind, subject_id = _subject(student, tutor)
    with session_scope() as session:
        document = subject_export(session, kind, subject_id)
    if document is None:
        raise click.ClickException(f"TutorMax holds no data about this {kind}.")
    click.echo(json.dumps(document, indent=2, sort_keys=True))


@privacy.command("erase")
@click.option("--student", default=None, help="The student's id.")
@click.option("--tutor", default=None, help="The tutor's id.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--timeout", default=600, show_default=True, help="Seconds to wait for the job.")
@uses_servers(broker=True)
def privacy_erase(student: str | None, tutor: str | None, yes: bool, timeout: int) -> None:
    """Erase the person (the maintenance worker runs the job) and print what was removed."""
    import time

    from tutormax.db import session_scope
    from tutormax.tasks.privacy import erasure_status, request_erasure

    kind, subject_id = _subject(student, tutor)
    if not yes:
        click.confirm(f"Erase every record of this {kind}? This cannot be undone.", abort=True)
    _celery()
    erasure_id = request_erasure(kind, subject_id, "cli")
    click.echo(f"erasure {erasure_id}: pending")
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            status = erasure_status(session, erasure_id)
        if status and status["status"] == "done":
            for name, count in sorted(status["counts"].items()):
                click.echo(f"{name}: {count}")
            click.echo(f"erasure {erasure_id}: done")
            return
        if time.monotonic() > deadline:
            raise click.ClickException(f"erasure {erasure_id} still pending: is a maintenance worker running?")
        time.sleep(0.5)


@main.command()
@click.option("--events", "count", default=1000, show_default=True)
@click.option("--rate", default=0.0, help="Events per second (0 = as fast as possible).")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True)
@click.option("--key", envvar="TUTORMAX_API_KEY", required=True, help="An events:write key.")
@click.option("--seed", default=None, type=int)
@click.option("--xapi-share", default=0.0, type=click.FloatRange(0, 1), show_default=True,
              help="Share of the grades sent as xAPI statements to /xapi/statements (Moodle-shaped).")
def simulate(count: int, rate: float, url: str, key: str, seed: int | None, xapi_share: float) -> None:
    """Post a realistic mixed stream of every event type, with duplicates and out-of-order arrivals."""
    from tutormax.simulate import run_simulation

    summary = run_simulation(count=count, rate=rate, url=url, key=key, seed=seed, xapi_share=xapi_share)
    click.echo(summary)


@main.command()
def bench() -> None:
    """The benchmark of SPEC §7 on an embedded stack."""
    from tutormax.bench import run_bench

    run_bench()


def _celery():
    """The Celery app, so CLI commands that dispatch chains reach the broker."""
    from tutormax.web import create_app

    return create_app().extensions["celery"]


@main.command()
@click.option("--port", default=int(os.environ.get("PORT", "5000")), show_default=True)
def dev(port: int) -> None:
    """The whole stack on this machine: embedded servers, migrations, every Procfile process."""
    from tutormax.devservers import DEV_KEY_FILE, DEV_STATE_FILE, DevState, PostgresServer, RedisServer, dev_api_key

    var = _var()
    servers = []
    _load_dotenv()
    env = os.environ.copy()
    try:
        if not env.get("DATABASE_URL"):
            click.echo(f"starting PostgreSQL in {var / 'postgres'} on 127.0.0.1:{DEV_PG_PORT}")
            pg = PostgresServer(var / "postgres", DEV_PG_PORT).start()
            servers.append(pg)
            env["DATABASE_URL"] = pg.url
        if not env.get("REDIS_URL"):
            click.echo(f"starting Redis in {var / 'redis'} on 127.0.0.1:{DEV_REDIS_PORT}")
            rs = RedisServer(var / "redis", DEV_REDIS_PORT, persist=True).start()
            servers.append(rs)
            env["REDIS_URL"] = rs.url
        env.setdefault("FLOWER_BASIC_AUTH", "tutormax:tutormax-dev")
        env.setdefault("LOG_FORMAT", "text")
        env["PORT"] = str(port)
        # The Procfile names celery/gunicorn: find them in this interpreter's environment.
        env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
        os.environ.update(env)
        reset_settings()

        from tutormax.migrate import upgrade_to_head

        upgrade_to_head()
        key, reused = dev_api_key(var)
        web_url = f"http://127.0.0.1:{port}"
        # Other `tutormax` commands run in this directory find the servers here (removed on exit).
        DevState(env["DATABASE_URL"], env["REDIS_URL"], web_url, os.getpid()).write(var)
        user, _, password = env["FLOWER_BASIC_AUTH"].partition(":")
        click.echo("\nTutorMax is starting:")
        click.echo(f"  API        {web_url}/api/v1/events")
        click.echo(f"  API docs   {web_url}/openapi/docs")
        click.echo(f"  Metrics    {web_url}/metrics")
        click.echo(f"  Dashboard  {web_url}/dashboard/")
        click.echo(f"  Flower     http://127.0.0.1:{port + 100}/  (user {user}, password {password})")
        click.echo(f"  Servers    var/{DEV_STATE_FILE} (other `tutormax` commands run here use them)")
        click.echo(f"  Dev key (events:write, read, admin; {'reused from' if reused else 'new, kept in'} "
                   f"var/{DEV_KEY_FILE}):\n{key}\n")
        sys.stdout.flush()  # the banner before the processes' output, also when piped
        honcho = [sys.executable, "-m", "honcho", "start", "-f", str(ROOT / "Procfile"), "-d", str(Path.cwd()),
                  "-p", str(port)]
        proc = subprocess.Popen(honcho, env=env)
        signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGINT))
        try:
            proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            proc.wait()
    finally:
        DevState.remove(var, os.getpid())
        for server in reversed(servers):
            server.stop()
        click.echo("embedded servers stopped")


if __name__ == "__main__":  # pragma: no cover
    main()
