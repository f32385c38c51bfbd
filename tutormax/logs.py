"""Structured logging: JSON (or text) lines carrying event ids and a correlation id.

Only identifiers are logged. Names, emails and free text never reach a log
line: call sites pass ids in `extra`, and nothing here dumps payloads.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

# --- redaction: database errors name statements and constraints, never the values -------------

# SQLAlchemy appends the bound values of the failing statement; they run to the end of the text.
_PARAMETERS = re.compile(r"\[parameters: .*?(?=\n\(Background on this error|\Z)", re.S)
_SQL = re.compile(r"\[SQL: (.*?)\](?=\s*(?:\n|\[parameters|\(Background|\Z))", re.S)
# PostgreSQL's DETAIL/HINT/CONTEXT lines quote row contents ("Failing row contains (…)", "Key (email)=(…)").
_DETAIL = re.compile(r"^\s*(?:DETAIL|HINT|CONTEXT|WHERE):.*$", re.M)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A double-quoted name after one of these words is a schema object; any other quoted text is a value.
_NAMED = re.compile(r'(\b\w+\s+)?"([^"\n]*)"')
_OBJECT_WORDS = {"constraint", "relation", "table", "column", "index", "type", "function", "schema", "sequence",
                 "trigger", "view", "database", "role", "operator", "encoding"}
_SINGLE_QUOTED = re.compile(r"'[^'\n]*'")


def _statement_name(sql: str) -> str:
    """`INSERT INTO tutors`, `UPDATE events`, `SELECT … FROM events`: what ran, not with what."""
    words = sql.split()
    if not words:
        return "?"
    verb = words[0].upper()
    if verb in ("INSERT", "DELETE") and len(words) >= 3:
        return " ".join(words[:3])
    if verb == "UPDATE" and len(words) >= 2:
        return " ".join(words[:2])
    upper = [w.upper() for w in words]
    if "FROM" in upper and upper.index("FROM") + 1 < len(words):
        return f"{verb} … FROM {words[upper.index('FROM') + 1]}"
    return verb


def _keep_object_names(match: re.Match) -> str:
    word = (match.group(1) or "").strip().lower()
    return match.group(0) if word in _OBJECT_WORDS else f'{match.group(1) or ""}"…"'


def redact(text: str, values: bool = True) -> str:
    """`text` without SQL parameters, PostgreSQL DETAIL lines and emails; with `values`, also without
    quoted values (schema object names such as constraints stay), and SQL cut to its statement name."""
    text = _PARAMETERS.sub("", text)
    text = _DETAIL.sub("", text)
    text = _EMAIL.sub("<email>", text)
    if values:
        text = _SQL.sub(lambda m: f"[statement: {_statement_name(m.group(1))}]", text)
        text = _NAMED.sub(_keep_object_names, text)
        text = _SINGLE_QUOTED.sub("'…'", text)
    return re.sub(r"\n{2,}", "\n", text).strip()


def describe_error(exc: BaseException) -> str:
    """An exception as text fit for logs and dead letters: its class, statement and constraint names, no values."""
    return redact(f"{type(exc).__name__}: {exc}")


def _looks_like_error(text: str) -> bool:
    return "[SQL:" in text or "Traceback" in text or "Error" in text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        entry.update({k: scrub(v) if isinstance(v, str) else v
                      for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={scrub(v) if isinstance(v, str) else v}"
                          for k, v in vars(record).items() if k not in _STANDARD)
        base = (f"{datetime.fromtimestamp(record.created, timezone.utc):%H:%M:%S} {record.levelname:<7} "
                f"{record.name}: {scrub(record.getMessage())}")
        text = f"{base} {extras}".rstrip()
        if record.exc_info:
            text += "\n" + redact(self.formatException(record.exc_info))
        return text


def scrub(text: str) -> str:
    """Log lines and dead-letter texts lose SQL parameters, DETAIL lines and emails; error texts
    (a statement, a traceback, an `…Error`) also lose quoted values."""
    return redact(text, values=_looks_like_error(text))


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Route the root logger to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic narrates every plugin it loads at INFO; keep its warnings only.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
