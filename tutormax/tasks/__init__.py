"""Celery tasks. Importing this package registers the pipeline, maintenance and every domain."""

import importlib

from tutormax.tasks import maintenance, pipeline  # noqa: F401

# Each domain module registers its stage handlers with tutormax.registry on import.
for _domain in ("learning", "reading", "tutoring", "essays"):
    try:
        importlib.import_module(f"tutormax.tasks.{_domain}")
    except ModuleNotFoundError as exc:  # pragma: no cover - only while a domain is absent
        if exc.name != f"tutormax.tasks.{_domain}":
            raise
