"""Celery tasks. Importing this package registers the pipeline, maintenance, every domain and
the operator signals' Celery hooks.

Each domain module registers its stage handlers with `tutormax.registry` on import.
"""

from tutormax.tasks import essays, learning, maintenance, pipeline, reading, signals, tutoring  # noqa: F401
