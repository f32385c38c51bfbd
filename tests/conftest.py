"""Test setup: a throwaway real PostgreSQL and Redis, real Celery workers and beat.

Nothing here starts until a test asks for the `stack` fixture (directly or via
`app`/`client`), so the pure rule tests run without servers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TEST_ENV = {
    "TUTORMAX_OUTBOX_STALE_SECONDS": "3",
    "TUTORMAX_REFERENCE_WAIT_SECONDS": "8",
    "TUTORMAX_METRICS_DEBOUNCE_SECONDS": "2",
    "TUTORMAX_CHAIN_BATCH": "500",
    "INTERNAL_API_KEY": "test-internal-key",
    "ALLOWED_SERVICE_IDS": "essay-service,report-service",
    "TUTORMAX_SECRET_KEY": "test-secret",
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
}

PIPELINE_QUEUES = "ingest,enrich,persist"
RECOMPUTE_QUEUES = "recompute.learning,recompute.reading,recompute.tutoring,recompute.essays,maintenance"


class Stack:
    """The running servers and Celery processes of one test session."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.env: dict[str, str] = {}
        self.procs: dict[str, subprocess.Popen] = {}
        self.pg = None
        self.redis = None

    def start_celery(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tutormax.worker", *args],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def start_worker(self, name: str, queues: str, concurrency: int = 2) -> subprocess.Popen:
        proc = self.start_celery(name, "worker", "-Q", queues, "-n", f"{name}@%h", "--concurrency",
                                 str(concurrency), "--loglevel", "INFO", "--without-gossip", "--without-mingle")
        self.wait_for_worker(name)
        return proc

    def wait_for_worker(self, name: str, timeout: float = 60) -> None:
        from celery import current_app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"worker {name} exited: see {self.workdir / (name + '.log')}")
            replies = current_app.control.ping(timeout=0.5) or []
            if any(any(k.startswith(f"{name}@") for k in reply) for reply in replies):
                return
        raise RuntimeError(f"worker {name} did not answer within {timeout}s")

    def kill(self, name: str) -> None:
        """SIGKILL a Celery process group: no warm shutdown, unacked messages stay unacked."""
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """Real PostgreSQL + Redis + Celery workers (pipeline, recompute) + beat for the session."""
    from tutormax.devservers import PostgresServer, RedisServer, free_port

    workdir = Path(tempfile.mkdtemp(prefix="tutormax-test-"))
    s = Stack(workdir)
    s.pg = PostgresServer(workdir / "postgres", free_port()).start()
    s.redis = RedisServer(workdir / "redis", free_port(), persist=False).start()
    os.environ.update(TEST_ENV)
    os.environ["DATABASE_URL"] = s.pg.url
    os.environ["REDIS_URL"] = s.redis.url
    os.environ.pop("CELERY_BROKER_URL", None)
    s.env = dict(os.environ)

    from tutormax.config import reset_settings
    from tutormax.db import dispose_engine
    from tutormax.redis_client import reset_redis

    reset_settings()
    dispose_engine()
    reset_redis()
    from tutormax.migrate import upgrade_to_head

    upgrade_to_head()
    from tutormax.web import create_app

    s.app = create_app({"TESTING": True})
    try:
        s.start_worker("pipeline", PIPELINE_QUEUES)
        s.start_worker("recompute", RECOMPUTE_QUEUES)
        s.start_celery("beat", "beat", "--loglevel", "INFO", "--schedule", str(workdir / "beat-schedule"))
        yield s
    finally:
        for name in list(s.procs):
            s.stop(name)
        s.redis.stop()
        s.pg.stop()
        if os.environ.get("TUTORMAX_KEEP_TEST_LOGS"):
            print(f"test logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def app(stack):
    return stack.app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def keys(stack) -> dict[str, str]:
    """API keys by role: writer, reader, admin, all."""
    from tutormax.web.auth import create_api_key

    return {
        "writer": create_api_key("test-writer", ["events:write"]),
        "reader": create_api_key("test-reader", ["read"]),
        "admin": create_api_key("test-admin", ["admin"]),
        "all": create_api_key("test-all", ["events:write", "read", "admin"]),
    }


@pytest.fixture()
def uid() -> str:
    """A prefix unique to this test, so tests share the database without colliding."""
    return uuid.uuid4().hex[:10]
