"""What every request is checked against before a view sees it: its JSON body and its path ids.

The one JSON parser of the app (also behind `request.get_json()`) refuses what two
parsers could read differently or what cannot be processed later: duplicate keys,
NaN and Infinity, numbers a double cannot hold, and nesting deeper than
MAX_BODY_DEPTH. The path converters replace Flask's defaults, so no route can take
an id that cannot exist (NUL, an unpaired surrogate, more than 128 characters, an
integer past bigint) and such a path answers 404 before any query runs.
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import abort
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter, ValidationError

from tutormax.schemas.common import BIGINT_MAX, unstorable_text

MAX_BODY_DEPTH = 32
# A double holds magnitudes up to ~1.8e308: an integer literal of more digits is refused outright.
_MAX_INT_DIGITS = 308
MAX_ID_LENGTH = 128


class JSONBodyError(ValueError):
    """The body is not JSON this API accepts; the message says why."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise JSONBodyError(f"duplicate key {json.dumps(key[:64])} in an object")
        obj[key] = value
    return obj


def _constant(name: str) -> float:
    raise JSONBodyError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONBodyError("a number is too large for a double")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise JSONBodyError("a number is too large for a double")
    return int(text)


def _depth(value: Any) -> int:
    """Nesting depth of a parsed value (iterative: the value may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level > MAX_BODY_DEPTH:
                break
            stack.extend((child, level + 1) for child in item)
    return deepest


def strict_loads(data: str | bytes) -> Any:
    """Parse a JSON body; JSONBodyError names what is wrong."""
    try:
        value = json.loads(data, object_pairs_hook=_object, parse_constant=_constant, parse_float=_float,
                           parse_int=_int)
    except JSONBodyError:
        raise
    except RecursionError:
        raise JSONBodyError(f"nested deeper than {MAX_BODY_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limits
        raise JSONBodyError(exc.args[0] if isinstance(exc, json.JSONDecodeError) else "not UTF-8 JSON text") from None
    if _depth(value) > MAX_BODY_DEPTH:
        raise JSONBodyError(f"nested deeper than {MAX_BODY_DEPTH} levels")
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with strict_loads for reading."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return strict_loads(s)


def json_body() -> object:
    """The parsed JSON body: 415 for another content type, 400 for a body this API does not accept as JSON."""
    if not request.is_json:
        abort(415, message="Send the event as JSON with `Content-Type: application/json`.")
    try:
        return strict_loads(request.get_data(cache=True))
    except JSONBodyError as exc:
        abort(400, message=f"The request body is not valid JSON: {exc}.")


def correlation_id() -> str:
    """The caller's X-Correlation-ID (or X-Request-ID) when it is a plain token, else a new one."""
    if "correlation_id" not in g:
        given = (request.headers.get("X-Correlation-ID") or request.headers.get("X-Request-ID") or "").strip()
        # It is stored with the event and written to logs: printable ASCII only, at most 64 characters.
        usable = given and len(given) <= 64 and given.isascii() and given.isprintable()
        g.correlation_id = given if usable else uuid.uuid4().hex
    return g.correlation_id


# --- path converters ---------------------------------------------------------------------

# An id may be an IRI (xAPI, SPEC §3.5) and travels as one percent-encoded path segment. WSGI
# servers decode %2F to `/` before routing, so EncodedSlashes re-reads the raw path and keeps
# an encoded slash inside its segment as this private-use character; the id converters turn
# it back into `/` (an id holding U+E000 itself reads as one with `/`).
ENCODED_SLASH = "\ue000"


class EncodedSlashes:
    """WSGI middleware: `%2F` in the raw path stays within its segment (see ENCODED_SLASH)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
        path = raw.split("?", 1)[0]
        script = environ.get("SCRIPT_NAME", "")
        if "%2f" in path.lower() and path.startswith("/") and path.startswith(script):
            marker = quote(ENCODED_SLASH)
            segments = path[len(script):].replace("%2F", marker).replace("%2f", marker).split("/")
            # PATH_INFO holds the path's bytes as latin-1 characters (PEP 3333).
            environ = {**environ, "PATH_INFO": b"/".join(unquote_to_bytes(s) for s in segments).decode("latin-1")}
        return self.app(environ, start_response)


def _refuse_unstorable(value: str) -> str:
    value = value.replace(ENCODED_SLASH, "/")
    if len(value) > MAX_ID_LENGTH or unstorable_text(value):
        raise ValidationError()  # no rule matches: 404
    return value


class IdConverter(UnicodeConverter):
    """One path segment naming an id: at most 128 characters, no NUL, no unpaired surrogate."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("maxlength", MAX_ID_LENGTH)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> str:
        return _refuse_unstorable(value)

    def to_url(self, value: str) -> str:
        # One segment: `/` and `?` in an IRI id are percent-encoded.
        return quote(str(value), safe="")


class IdPathConverter(PathConverter):
    """Like IdConverter but may span `/` (percent-decoded IRIs such as xAPI activity ids)."""

    def to_python(self, value: str) -> str:
        return _refuse_unstorable(value)


class DatabaseIdConverter(IntegerConverter):
    """A database id: 1 … 2^63−1 (PostgreSQL bigint)."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", BIGINT_MAX)
        super().__init__(map, *args, **kwargs)


def install(app: Flask) -> None:
    """Make the strict parser and converters the app's defaults (before any blueprint is registered)."""
    app.json = StrictJSONProvider(app)
    app.wsgi_app = EncodedSlashes(app.wsgi_app)
    app.url_map.converters.update(default=IdConverter, string=IdConverter, path=IdPathConverter,
                                  int=DatabaseIdConverter)
