"""The newcomer path: `tutormax dev` leaves var/dev.json and var/dev-key; the other commands find its servers.

Every command runs as a real subprocess, as a person types it, in a directory of its own.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import requests

from tests.helpers import wait_for
from tutormax.devservers import DEV_KEY_SCOPES, DevState, answers, dev_api_key, free_port
from tutormax.web.auth import create_api_key, principal_for_key, revoke_api_key

pytestmark = pytest.mark.stack  # subprocesses and servers: not part of `make test-fast`

TUTORMAX = str(Path(sys.executable).parent / "tutormax")


def cli_env(**extra: str) -> dict[str, str]:
    """This environment without any server URL (the test stack's are in os.environ), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    return {**env, **extra}


def tutormax(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([TUTORMAX, *args], cwd=cwd, env=cli_env() if env is None else env,
                          capture_output=True, text=True, timeout=120)


def test_commands_find_the_servers_of_a_running_make_dev(stack, tmp_path, uid):
    DevState(stack.pg.url, stack.redis.url, "http://127.0.0.1:5000", os.getpid()).write(tmp_path / "var")

    created = tutormax(tmp_path, "apikey", "create", "--name", f"{uid}-cli", "--scope", "read",
                       "--teacher", f"t-{uid}")
    assert created.returncode == 0, created.stderr
    key = created.stdout.splitlines()[-1]
    assert created.stdout.splitlines() == [f"created key '{uid}-cli' with scopes read for teacher t-{uid}", key]
    principal = principal_for_key(key)
    assert (principal.name, principal.scopes, principal.teacher_id) == (f"{uid}-cli", {"read"}, f"t-{uid}")

    listed = tutormax(tmp_path, "apikey", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"{principal.key_id}\t{uid}-cli\t{key[:12]}…\tread\tt-{uid}\tactive" in listed.stdout.splitlines()

    # rebuild also needs the broker: REDIS_URL comes from the same file.
    rebuilt = tutormax(tmp_path, "rebuild", "--domain", "essays")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.splitlines()[-1].startswith("essays: rebuilt")


def test_a_set_database_url_wins_over_the_state_file(stack, tmp_path, uid):
    closed = free_port()
    DevState(f"postgresql+psycopg://postgres@127.0.0.1:{closed}/tutormax", stack.redis.url, "http://127.0.0.1:5000",
             os.getpid()).write(tmp_path / "var")
    created = tutormax(tmp_path, "apikey", "create", "--name", f"{uid}-env", "--scope", "read",
                       env=cli_env(DATABASE_URL=stack.pg.url, REDIS_URL=stack.redis.url))
    assert created.returncode == 0, created.stderr
    assert principal_for_key(created.stdout.splitlines()[-1]).name == f"{uid}-env"


@pytest.mark.parametrize("args", [
    ["apikey", "create", "--name", "n", "--scope", "read"], ["apikey", "list"], ["apikey", "revoke", "1"],
    ["dlq", "list"], ["dlq", "replay", "1"], ["dlq", "discard", "1"], ["rebuild"], ["db", "upgrade"],
], ids=lambda args: " ".join(args[:2]))
def test_an_unreachable_database_is_one_line_on_stderr(tmp_path, args):
    port = free_port()
    result = tutormax(tmp_path, *args, env=cli_env(DATABASE_URL=f"postgresql://postgres:s3cret@127.0.0.1:{port}/tm"))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: cannot connect to PostgreSQL at 127.0.0.1:{port}/tm (DATABASE_URL from the environment): "
        "Connection refused. Start `make dev` or set DATABASE_URL."]


def test_an_unreachable_broker_is_one_line_on_stderr(stack, tmp_path):
    port = free_port()
    result = tutormax(tmp_path, "rebuild", env=cli_env(DATABASE_URL=stack.pg.url, REDIS_URL=f"redis://127.0.0.1:{port}/0"))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"Error: cannot connect to Redis at 127.0.0.1:{port}/0: Connection refused. Start `make dev` or set REDIS_URL."]


def test_a_stale_state_file_is_ignored(tmp_path):
    if answers("postgresql://127.0.0.1:5432/tutormax", 5432):
        pytest.skip("a PostgreSQL answers on the default 127.0.0.1:5432, so the fallback would reach it")
    # Written by a `tutormax dev` killed with SIGKILL: its servers are gone.
    DevState(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/tutormax", f"redis://127.0.0.1:{free_port()}/0",
             "http://127.0.0.1:5000", 999_999).write(tmp_path / "var")
    result = tutormax(tmp_path, "apikey", "list")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"Error: cannot connect to PostgreSQL at 127.0.0.1:5432/tutormax (the default: DATABASE_URL is not set and "
        f"{tmp_path / 'var' / 'dev.json'} is stale (its servers do not answer)): Connection refused. "
        "Start `make dev` or set DATABASE_URL."]


def test_the_dev_key_is_reused_while_it_is_active(stack, tmp_path):
    var = tmp_path / "var"
    first, reused = dev_api_key(var, today=date(2026, 12, 1))
    assert reused is False
    assert (var / "dev-key").read_text() == first + "\n"
    assert stat.S_IMODE((var / "dev-key").stat().st_mode) == 0o600
    principal = principal_for_key(first)
    assert (principal.name, principal.scopes, principal.teacher_id) == ("dev-2026-12-01", set(DEV_KEY_SCOPES), None)

    assert dev_api_key(var, today=date(2026, 12, 2)) == (first, True)

    # Revoked (or the database was reset): a new key, named with the day, replaces it in the file.
    revoke_api_key(principal.key_id)
    second, reused = dev_api_key(var, today=date(2026, 12, 3))
    assert reused is False and second != first
    assert (var / "dev-key").read_text() == second + "\n"
    assert principal_for_key(second).name == "dev-2026-12-03"

    # A key that lacks a scope, or a file that holds no key, is not the dev key.
    (var / "dev-key").write_text(create_api_key("read-only", ["read"]) + "\n")
    third, reused = dev_api_key(var, today=date(2026, 12, 4))
    assert reused is False and principal_for_key(third).name == "dev-2026-12-04"
    (var / "dev-key").write_text("not a key\n")
    assert dev_api_key(var)[1] is False


class DevRun:
    """`tutormax dev` as a person runs it, in `cwd`, on free ports."""

    def __init__(self, cwd: Path, port: int, pg_port: int, redis_port: int) -> None:
        self.cwd, self.port = cwd, port
        env = cli_env(TUTORMAX_DEV_PG_PORT=str(pg_port), TUTORMAX_DEV_REDIS_PORT=str(redis_port))
        self.log = open(cwd / f"dev-{time.monotonic_ns()}.log", "w+")
        self.proc = subprocess.Popen([TUTORMAX, "dev", "--port", str(port)], cwd=cwd, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def printed_key(self) -> tuple[str, str]:
        """The "Dev key" line and the key printed under it."""
        lines = self.output().splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith("  Dev key"))
        return lines[at], lines[at + 1]

    def interrupt(self) -> int:
        """Ctrl-C, as in a terminal: SIGINT to the whole foreground group."""
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise
        finally:
            self.log.close()


def dev_session(cwd: Path, port: int, pg_port: int, redis_port: int, again: bool) -> str:
    """Start `tutormax dev`, use it as a newcomer does, stop it with Ctrl-C; returns the key it printed."""
    var = cwd / "var"
    run = DevRun(cwd, port, pg_port, redis_port)
    try:
        wait_for(lambda: (var / "dev.json").exists() or run.proc.poll() is not None, timeout=120, what="var/dev.json")
        assert run.proc.poll() is None, run.output()
        assert stat.S_IMODE((var / "dev.json").stat().st_mode) == 0o600
        assert json.loads((var / "dev.json").read_text()) == {
            "database_url": f"postgresql+psycopg://postgres@127.0.0.1:{pg_port}/tutormax",
            "redis_url": f"redis://127.0.0.1:{redis_port}/0",
            "web_url": f"http://127.0.0.1:{port}", "pid": run.proc.pid}
        line, key = wait_for(lambda: "  Dev key" in run.output() and run.printed_key(), what="the dev key")
        assert line == ("  Dev key (events:write, read, admin; reused from var/dev-key):" if again
                        else "  Dev key (events:write, read, admin; new, kept in var/dev-key):")
        # What the sign-in page tells a newcomer to run, in the same directory, with nothing set.
        created = tutormax(cwd, "apikey", "create", "--name", "newcomer", "--scope", "read")
        assert created.returncode == 0, created.stderr
        reader_key = created.stdout.splitlines()[-1]
        # The stack's own web process knows that key: the command wrote to the dev database.
        web = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(web, port), timeout=60, what="gunicorn")
        root = requests.get(f"{web}/", allow_redirects=False, timeout=10)
        assert (root.status_code, root.headers["Location"]) == (302, "/dashboard/")
        def event_status(key: str) -> int:
            return requests.get(f"{web}/api/v1/events/999", headers={"Authorization": f"Bearer {key}"},
                                timeout=10).status_code

        # Known with `read`: no such event (404); a key the database does not hold: 401.
        assert (event_status(reader_key), event_status(reader_key + "x")) == (404, 401)
    finally:
        code = run.interrupt()
    assert code == 0, run.output()[-3000:]
    assert not (var / "dev.json").exists()
    return key


def test_make_dev_leaves_its_servers_and_key_for_the_other_commands(tmp_path):
    ports = free_port(), free_port(), free_port()
    first = dev_session(tmp_path, *ports, again=False)
    assert first.startswith("tmx_")
    assert dev_session(tmp_path, *ports, again=True) == first
