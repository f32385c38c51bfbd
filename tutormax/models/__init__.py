"""SQLAlchemy tables, one module per concern. Importing this registers them all."""

import importlib

from tutormax.models.auth import ApiKey
from tutormax.models.events import DeadLetter, Event, OutboxEntry

# Domain tables live in tutormax/models/<domain>.py; each is optional so a
# domain can land on its own.
for _domain in ("learning", "reading", "tutoring", "essays"):
    try:
        importlib.import_module(f"tutormax.models.{_domain}")
    except ModuleNotFoundError as exc:  # pragma: no cover - only while a domain is absent
        if exc.name != f"tutormax.models.{_domain}":
            raise

__all__ = ["ApiKey", "DeadLetter", "Event", "OutboxEntry"]
