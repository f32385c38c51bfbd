"""Celery tasks. Importing this package registers the pipeline, maintenance and every domain.

Each domain module registers its stage handlers with `tutormax.registry` on import.
"""

from tutormax.tasks import essays, learning, maintenance, pipeline, reading, tutoring  # noqa: F401
