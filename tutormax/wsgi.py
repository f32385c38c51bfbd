"""Gunicorn entry point: `gunicorn tutormax.wsgi:app`."""

from tutormax.web import create_app

app = create_app()
