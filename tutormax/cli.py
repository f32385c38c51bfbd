"""The `tutormax` command (SPEC §6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from tutormax.config import DOMAINS, reset_settings
from tutormax.migrate import ROOT

DEV_PG_PORT = int(os.environ.get("TUTORMAX_DEV_PG_PORT", "55432"))
DEV_REDIS_PORT = int(os.environ.get("TUTORMAX_DEV_REDIS_PORT", "56379"))


@click.group()
def main() -> None:
    """TutorMax: event-driven learning analytics."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
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
def apikey_create(name: str, scopes: tuple[str, ...], teacher: str | None) -> None:
    """Create a key; it is printed once, as the last line."""
    from tutormax.web.auth import create_api_key

    key = create_api_key(name, scopes, teacher)
    click.echo(f"created key {name!r} with scopes {', '.join(sorted(set(scopes)))}"
               + (f" for teacher {teacher}" if teacher else ""))
    click.echo(key)


@apikey.command("list")
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
def dlq_discard(letter_id: int) -> None:
    """Discard a dead letter for good."""
    from tutormax.tasks.deadletters import discard

    if not discard(letter_id):
        raise click.ClickException(f"no open dead letter with id {letter_id}")
    click.echo(f"discarded dead letter {letter_id}")


@main.command()
@click.option("--domain", type=click.Choice(DOMAINS), default=None, help="Only this domain (default: all).")
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


@main.command()
@click.option("--events", "count", default=1000, show_default=True)
@click.option("--rate", default=0.0, help="Events per second (0 = as fast as possible).")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True)
@click.option("--key", envvar="TUTORMAX_API_KEY", required=True, help="An events:write key.")
@click.option("--seed", default=None, type=int)
def simulate(count: int, rate: float, url: str, key: str, seed: int | None) -> None:
    """Post a realistic mixed stream of every event type, with duplicates and out-of-order arrivals."""
    from tutormax.simulate import run_simulation

    summary = run_simulation(count=count, rate=rate, url=url, key=key, seed=seed)
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
    from tutormax.devservers import PostgresServer, RedisServer

    var = Path.cwd() / "var"
    servers = []
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
        from tutormax.web.auth import create_api_key

        upgrade_to_head()
        key = create_api_key("dev", ["events:write", "read", "admin"])
        user, _, password = env["FLOWER_BASIC_AUTH"].partition(":")
        click.echo("\nTutorMax is starting:")
        click.echo(f"  API        http://127.0.0.1:{port}/api/v1/events")
        click.echo(f"  API docs   http://127.0.0.1:{port}/openapi/docs")
        click.echo(f"  Metrics    http://127.0.0.1:{port}/metrics")
        click.echo(f"  Dashboard  http://127.0.0.1:{port}/dashboard/")
        click.echo(f"  Flower     http://127.0.0.1:{port + 100}/  (user {user}, password {password})")
        click.echo(f"  Dev key (events:write, read, admin):\n{key}\n")
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
        for server in reversed(servers):
            server.stop()
        click.echo("embedded servers stopped")


if __name__ == "__main__":  # pragma: no cover
    main()
