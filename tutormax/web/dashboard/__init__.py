"""HTML pages for teachers and tutor managers under /dashboard/ (SPEC §4).

Sign-in takes a `read` API key once; the signed session cookie then carries only
the key's id, and every page re-reads that key, so a revoked key signs the user
out at the next click. The pages read through the same query functions as the JSON
API (`tutormax.queries`), so both always agree, and make the same access decisions:
404 for classes not linked to a teacher-bound key's teacher, 403 for tutor pages.

One module per job: `signin` (sign-in, CSRF, the session check), `pages` (the pages),
`present` (labels and formats, error pages, security headers, template helpers).
"""

from __future__ import annotations

from flask import Blueprint

# Templates and the stylesheet live beside the web package, where they always have.
bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="../templates",
               static_folder="../static")

from tutormax.web.dashboard import pages, present, signin  # noqa: E402,F401  (registers the routes)

flask_blueprints = [bp]
