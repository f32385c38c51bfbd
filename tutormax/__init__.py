"""TutorMax: event-driven learning analytics on Flask, Celery, PostgreSQL and Redis."""

__version__ = "0.1.0"
