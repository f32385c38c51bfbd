"""How a read endpoint is declared: one decorator for its scope, query arguments and answers (OpenAPI included)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask_smorest import Blueprint, abort
from marshmallow import Schema
from sqlalchemy.orm import Session

from tutormax.db import read_session
from tutormax.web.auth import current_principal, require_scope

T = TypeVar("T")


def read_view(blp: Blueprint, response: type[Schema], query: type[Schema] | None = None,
              not_found: str | None = None) -> Callable[[Callable], Callable]:
    """Decorate a MethodView's `get` on `blp`: the `read` scope, `query` arguments (if any), a 200 of
    `response`, and a documented 404 saying when it is answered (if `not_found` is given)."""
    def decorate(view: Callable) -> Callable:
        if not_found is not None:
            view = blp.alt_response(404, description=not_found)(view)
        view = blp.response(200, response)(view)
        if query is not None:
            view = blp.arguments(query, location="query")(view)
        return require_scope("read")(view)
    return decorate


def answer(read: Callable[[Session, str | None], T | None], missing: str) -> T:
    """`read(session, teacher_id of the caller's key)` in a read session; 404 saying `missing` when it
    answers None (unknown and not visible alike)."""
    with read_session() as session:
        result = read(session, current_principal().teacher_id)
    if result is None:
        abort(404, message=missing)
    return result
