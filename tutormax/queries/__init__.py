"""Reads behind the JSON views and the /dashboard pages, one module per domain.

A query function takes a session and, where it matters, the caller's visibility
(a teacher id or None) as arguments, and answers data or None: it never raises an
HTTP error. The web layer decides what None means (404, 403) and how to render.
"""
