"""API keys and scopes: 401 without a valid key, 403 without the scope (SPEC §4)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.helpers import auth

EVENT = {"event_id": "auth-1", "source": "auth-test", "type": "BOOK_CHECKED_OUT",
         "timestamp": "2026-09-01T08:00:00Z", "student_id": "s", "book_id": "b"}


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer tmx_not-a-real-key"},
])
def test_missing_or_unknown_key_is_401(client, headers):
    response = client.post("/api/v1/events", json=EVENT, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role, method, path, expected", [
    ("reader", "post", "/api/v1/events", 403),
    ("admin", "post", "/api/v1/events", 403),
    ("writer", "get", "/api/v1/events/1", 403),
    ("writer", "get", "/api/v1/admin/dead-letters", 403),
    ("reader", "get", "/api/v1/admin/dead-letters", 403),
    ("admin", "get", "/api/v1/admin/dead-letters", 200),
    ("writer", "post", "/api/v1/events", 202),
])
def test_scopes(client, keys, role, method, path, expected):
    kwargs = {"json": EVENT} if method == "post" else {}
    response = getattr(client, method)(path, headers=auth(keys[role]), **kwargs)
    assert response.status_code == expected


def test_apikey_create_prints_the_key_last_and_stores_only_its_hash(stack, client):
    from sqlalchemy import select

    from tutormax.cli import main
    from tutormax.db import session_scope
    from tutormax.models.auth import ApiKey

    result = CliRunner().invoke(main, ["apikey", "create", "--name", "cli-key", "--scope", "read",
                                       "--scope", "admin", "--teacher", "t-9"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("tmx_")
    with session_scope() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.name == "cli-key"))
        assert row.key_hash != key and key not in row.key_hash
        assert sorted(row.scopes) == ["admin", "read"] and row.teacher_id == "t-9"
    assert client.get("/api/v1/admin/dead-letters", headers=auth(key)).status_code == 200


def test_apikey_create_rejects_unknown_scope(stack):
    from tutormax.cli import main

    result = CliRunner().invoke(main, ["apikey", "create", "--name", "x", "--scope", "write"])
    assert result.exit_code != 0


def test_revoked_key_is_401(stack, client):
    from tutormax.cli import main
    from tutormax.web.auth import create_api_key

    key = create_api_key("to-revoke", ["read"])
    assert client.get("/api/v1/admin/dead-letters", headers=auth(key)).status_code == 403  # valid, wrong scope
    runner = CliRunner()
    listing = runner.invoke(main, ["apikey", "list"]).output
    line = next(line for line in listing.splitlines() if "\tto-revoke\t" in line)
    assert key not in listing and line.endswith("active")
    key_id = line.split("\t")[0]
    assert runner.invoke(main, ["apikey", "revoke", key_id]).exit_code == 0
    assert client.get("/api/v1/admin/dead-letters", headers=auth(key)).status_code == 401
    assert runner.invoke(main, ["apikey", "revoke", key_id]).exit_code != 0
