"""Celery bound to the Flask app (the Flask docs' `celery_init_app` pattern)."""

from __future__ import annotations

from celery import Celery, Task
from celery.signals import worker_process_init
from flask import Flask

from tutormax.db import dispose_engine
from tutormax.redis_client import reset_redis


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from celeryconfig.py; every task runs inside the Flask app context."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object("celeryconfig")
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


@worker_process_init.connect
def _fresh_connections_after_fork(**_: object) -> None:
    # Forked pool processes must never share the parent's pooled sockets.
    dispose_engine()
    reset_redis()
