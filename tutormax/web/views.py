"""How a read endpoint is declared: one decorator for its scope, query arguments and answers (OpenAPI included)."""

from __future__ import annotations

from collections.abc import Callable

from flask_smorest import Blueprint
from marshmallow import Schema

from tutormax.web.auth import require_scope


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
