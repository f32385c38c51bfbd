"""Test setup: a throwaway real PostgreSQL and Redis, real Celery workers and beat.

Nothing here starts until a test asks for the `stack` fixture (directly or via
`app`/`client`), so the pure rule tests run without servers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.browser.chromium import BROWSER_REQUIRED, NO_CHROMIUM, find_chromium
from tutormax.devservers import PIPELINE_QUEUES, RECOMPUTE_QUEUES, LocalStack

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


def pytest_report_header(config: pytest.Config) -> str:
    chromium = find_chromium()
    return f"browser tests: Chromium at {chromium}" if chromium else f"browser tests: skipped, {NO_CHROMIUM}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the servers (directly or through app/client/keys) `stack`,
    so `make test-fast` (`-m "not stack"`) runs the rest without starting anything; mark those
    that drive Chromium (through the `browser` fixture) `browser`, skipped when there is none."""
    chromium = find_chromium()
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "stack" in fixtures:
            item.add_marker(pytest.mark.stack)
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
            if chromium is None and not BROWSER_REQUIRED:
                item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


@pytest.fixture(scope="session")
def stack():
    """Real PostgreSQL + Redis + Celery workers (pipeline, recompute+maintenance) + beat."""
    workdir = Path(tempfile.mkdtemp(prefix="tutormax-test-"))
    s = LocalStack(workdir, env=TEST_ENV)
    try:
        s.start_servers()
        s.start_worker("pipeline", PIPELINE_QUEUES)
        s.start_worker("recompute", RECOMPUTE_QUEUES + ",maintenance")
        s.start_beat()
        yield s
    finally:
        s.close()
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


@pytest.fixture(scope="module")
def web(stack, request) -> str:
    """gunicorn over the session's stack, as the Procfile runs it, for a module's real-HTTP tests; its base URL.

    A module may set `WEB_THREADS` (default 16) and `WEB_NAME` (default "web": the process name, which
    also names its log file)."""
    from tutormax.devservers import free_port

    name = getattr(request.module, "WEB_NAME", "web")
    url = stack.start_web(free_port(), threads=getattr(request.module, "WEB_THREADS", 16), name=name)
    yield url
    stack.stop(name)


@pytest.fixture()
def uid() -> str:
    """A prefix unique to this test, so tests share the database without colliding."""
    return uuid.uuid4().hex[:10]
