"""Celery tasks. Importing this package registers the pipeline, maintenance, every domain and
the operator signals' Celery hooks.

Each domain module registers its stage handlers with `tutormax.registry` on import.
"""

from tutormax.tasks import (  # noqa: F401
    chains,
    essays,
    learning,
    maintenance,
    pipeline,
    privacy,
    profile_stream,
    reading,
    signals,
    tutor_metrics,
    tutoring,
)
