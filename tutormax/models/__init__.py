"""SQLAlchemy tables, one module per concern. Importing this registers them all."""

from tutormax.models import essays, learning, privacy, reading, tutoring  # noqa: F401
from tutormax.models.auth import ApiKey
from tutormax.models.events import DeadLetter, Event, OutboxEntry

__all__ = ["ApiKey", "DeadLetter", "Event", "OutboxEntry"]
