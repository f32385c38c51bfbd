"""How the dashboard shows things: labels and formats, error pages, security headers, template helpers."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, g, make_response, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from tutormax.schemas.tutoring import ROSTER_METRICS
from tutormax.web import charts
from tutormax.web.dashboard import bp
from tutormax.web.dashboard.signin import csrf_token

REASON_LABELS = {
    "missing_submissions": "Missing submissions",
    "score_trend_down": "Score trending down",
    "completion_below_median": "Completion below class median",
    "low_mastery": "Low mastery",
}
METRIC_ROWS: tuple[tuple[str, str, str], ...] = (
    # (field, label, unit)
    ("total_sessions_scheduled", "Sessions scheduled", ""),
    ("sessions_completed", "Sessions completed", ""),
    ("avg_rating", "Average rating (1–5)", ""),
    ("first_session_success_rate", "First-session success", "%"),
    ("first_sessions_count", "First sessions rated", ""),
    ("reschedule_rate", "Tutor reschedule rate", "%"),
    ("reschedule_count", "Tutor reschedules", ""),
    ("no_show_count", "No-shows", ""),
    ("engagement_score", "Engagement score (0–100)", ""),
    ("learning_objectives_met_pct", "Learning objectives met", "%"),
    ("response_time_avg_minutes", "Average response time (min)", ""),
)
# The roster's columns: its key metrics, labelled as on the tutor page.
ROSTER_ROWS = tuple(row for row in METRIC_ROWS if row[0] in ROSTER_METRICS)


@bp.errorhandler(HTTPException)
def error_page(error: HTTPException) -> tuple[str, int]:
    """Dashboard errors as HTML pages (the API's JSON handler stays for /api)."""
    # flask_smorest.abort, used by the shared read functions, puts its text in `data`.
    message = (getattr(error, "data", None) or {}).get("message") or error.description
    return render_template("dashboard/error.html", code=error.code, title=error.name, message=message), error.code


def _under_dashboard() -> bool:
    return request.path == bp.url_prefix or request.path.startswith(f"{bp.url_prefix}/")


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def unrouted_page(error: HTTPException):
    """A URL under /dashboard/ that no page answers (a mistyped path, an id with a '/', a wrong
    method) is an HTML page too; everywhere else the API's JSON error stays."""
    if _under_dashboard():
        # Not a blueprint request, so its after_request hook does not run: the same headers here.
        return _security_headers(make_response(error_page(error)))
    api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    return api.handle_http_exception(error)


@bp.after_request
def _security_headers(response: Response) -> Response:
    """Pages show student data: never cached, never framed, no third-party anything."""
    if request.endpoint != "dashboard.static":
        response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
    return response


def _when(value: datetime | str | None) -> str:
    """A timestamp for people, always in UTC (one time zone per page, as the footer says).

    Producer-local ISO strings (a session's `scheduled_start` keeps its own offset in the API)
    are converted to the same UTC instant; the local time of day stays visible where it
    matters through the derived fields (a session's `time_of_day`).
    """
    if value is None:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@bp.context_processor
def _template_helpers() -> dict:
    return {
        "csrf_token": csrf_token, "principal": g.get("principal"), "percent": charts.percent,
        "number": charts.number, "when": _when, "mastery_band": charts.mastery_band,
        "reason_labels": REASON_LABELS,
    }
