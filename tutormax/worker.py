"""Celery entry point: `celery -A tutormax.worker worker -Q …` and `celery -A tutormax.worker beat`."""

from tutormax.web import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
