"""HTML pages for teachers and tutor managers under /dashboard/ (SPEC §4).

Sign-in takes a `read` API key once; the signed session cookie then carries only
the key's id, and every page re-reads that key, so a revoked key signs the user
out at the next click. The pages read through the same functions as the JSON API
(`tutormax.web.learning`, `.reading`, `.tutoring`), so both always agree and a
teacher-bound key sees exactly what it sees through the API: 404 for classes not
linked to its teacher, 403 for tutor pages.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from tutormax.db import session_scope, utcnow
from tutormax.models.learning import (
    LearningActivity,
    LearningClassRollup,
    LearningClassStandard,
    LearningClassTeacher,
    LearningMastery,
    LearningPair,
    LearningRiskFlag,
)
from tutormax.rules.learning import mastery_from_totals
from tutormax.rules.reading import BANDS
from tutormax.rules.tutoring import WINDOWS
from tutormax.web import charts
from tutormax.web.auth import Principal, principal_for_key, principal_for_key_id
from tutormax.web.learning import (
    class_dashboard,
    class_risk,
    require_class,
    student_mastery,
    student_timeline,
)
from tutormax.web.reading import student_reading_profile
from tutormax.web.tutoring import (
    tutor_metrics,
    tutor_metrics_history,
    tutor_record,
    tutor_sessions,
)

log = logging.getLogger(__name__)

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates",
               static_folder="static")

CLASSES_PER_PAGE = 25
TIMELINE_LIMIT = 50
RECENT_SESSIONS = 20
HISTORY_WINDOW, HISTORY_DAYS = "30day", 90
SIGN_IN_LIFETIME = timedelta(hours=12)
MAX_KEY_LENGTH = 256  # real keys are ~47 characters; longer input is not worth hashing

REASON_LABELS = {
    "missing_submissions": "Missing submissions",
    "score_trend_down": "Score trending down",
    "completion_below_median": "Completion below class median",
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


# --- sign-in, CSRF ---------------------------------------------------------------

def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf_token")
    if not token:
        token = session["csrf_token"] = secrets.token_urlsafe(32)
    return token


def _check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf_token", "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="The form expired or did not come from this site; reload the page and try again.")


def _safe_next(target: str | None) -> str:
    """Only a path inside the dashboard, so the sign-in form cannot redirect off-site."""
    if target and target.startswith("/dashboard/") and "\\" not in target and not target.startswith("//"):
        return target
    return url_for(".home")


def _signed_in_principal() -> Principal | None:
    key_id, since = session.get("key_id"), session.get("signed_in_at")
    if not isinstance(key_id, int) or not isinstance(since, int):
        return None
    if time.time() - since > SIGN_IN_LIFETIME.total_seconds():
        return None
    principal = principal_for_key_id(key_id)
    return principal if principal is not None and "read" in principal.scopes else None


def signed_in(view: Callable) -> Callable:
    """Page decorator: redirect to sign-in unless the session's key is still valid with `read`."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        principal = _signed_in_principal()
        if principal is None:
            if "key_id" in session:
                log.info("dashboard session ended", extra={"key_id": session.get("key_id")})
            session.clear()
            return redirect(url_for(".login", next=request.full_path.rstrip("?")))
        # The shared read functions check access through current_principal().
        g.principal = principal
        return view(*args, **kwargs)

    return wrapper


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign-in form: paste an API key with the `read` scope."""
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if _signed_in_principal() is not None:
            return redirect(target)
        return render_template("dashboard/login.html", next=target, error=None)
    _check_csrf()
    key = request.form.get("api_key", "").strip()
    principal = principal_for_key(key) if 0 < len(key) <= MAX_KEY_LENGTH else None
    if principal is None:
        log.info("dashboard sign-in refused", extra={"reason": "unknown_key"})
        return render_template("dashboard/login.html", next=target,
                               error="That API key is unknown or has been revoked."), 401
    if "read" not in principal.scopes:
        log.info("dashboard sign-in refused", extra={"reason": "missing_scope", "key_id": principal.key_id})
        return render_template("dashboard/error.html", code=403, title="Forbidden",
                               message="This API key lacks the `read` scope the dashboard needs. "
                                       "Create one with `tutormax apikey create --scope read`."), 403
    # A fresh session on sign-in: nothing from before (a planted CSRF token) survives.
    session.clear()
    session["key_id"] = principal.key_id
    session["signed_in_at"] = int(time.time())
    csrf_token()
    log.info("dashboard sign-in", extra={"key_id": principal.key_id})
    return redirect(target)


@bp.post("/logout")
def logout() -> Response:
    """Sign out (POST with the CSRF token)."""
    _check_csrf()
    session.clear()
    return redirect(url_for(".login"))


# --- page data that has no JSON twin ---------------------------------------------

def class_summaries(db: Session, teacher_id: str | None, page: int, per_page: int) -> tuple[list[dict], int, int]:
    """A page of classes (a teacher's linked classes, or all), newest activity first; the total; the page shown.

    A page past the end shows the last page.
    """
    if teacher_id is None:
        ids = select(LearningClassRollup.class_id).subquery()
    else:
        ids = select(LearningClassTeacher.class_id).where(LearningClassTeacher.teacher_id == teacher_id).subquery()
    total = db.scalar(select(func.count()).select_from(ids)) or 0
    page = min(max(page, 1), max((total + per_page - 1) // per_page, 1))
    # One index probe per class on (class_id, timestamp): cheap however long the history.
    last_activity = (select(func.max(LearningActivity.timestamp))
                     .where(LearningActivity.class_id == ids.c.class_id).scalar_subquery())
    rows = db.execute(
        select(ids.c.class_id, last_activity.label("last_activity"), LearningClassRollup)
        .outerjoin(LearningClassRollup, LearningClassRollup.class_id == ids.c.class_id)
        .order_by(last_activity.desc().nulls_last(), ids.c.class_id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    class_ids = [row.class_id for row in rows]
    at_risk = dict(db.execute(
        select(LearningRiskFlag.class_id, func.count())
        .where(LearningRiskFlag.class_id.in_(class_ids)).group_by(LearningRiskFlag.class_id)
    ).all()) if class_ids else {}
    summaries = [
        {
            "class_id": row.class_id,
            "last_activity": row.last_activity,
            "student_count": row.LearningClassRollup.student_count if row.LearningClassRollup else 0,
            "completion_rate": row.LearningClassRollup.completion_rate if row.LearningClassRollup else None,
            "average_score": row.LearningClassRollup.average_score if row.LearningClassRollup else None,
            "at_risk_count": at_risk.get(row.class_id, 0),
        }
        for row in rows
    ]
    return summaries, total, page


def natural_key(text: str) -> list:
    """Sort key that puts `u2` before `u10`, as people expect of numbered ids."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def class_mastery_grid(db: Session, class_id: str) -> dict:
    """Students × standards of a class: each student's mastery on the standards graded in the class."""
    students = db.scalars(
        select(LearningPair.student_id).where(LearningPair.class_id == class_id)
        .group_by(LearningPair.student_id).order_by(LearningPair.student_id)
    ).all()
    rows = db.scalars(
        select(LearningMastery)
        .join(LearningClassStandard, (LearningClassStandard.student_id == LearningMastery.student_id)
              & (LearningClassStandard.standard_id == LearningMastery.standard_id))
        .where(LearningClassStandard.class_id == class_id)
    ).all()
    cells = {
        (m.student_id, m.standard_id): mastery_from_totals(
            m.student_id, m.standard_id, m.attempts, m.score_total, m.latest_score, m.latest_at).mastery_score
        for m in rows
    }
    return {"students": sorted(students, key=natural_key),
            "standards": sorted({standard for _, standard in cells}, key=natural_key), "cells": cells}


def class_completion_rates(db: Session, class_id: str) -> dict[str, float]:
    """Per student with ≥1 assigned pair: graded assigned pairs ÷ assigned pairs (SPEC §3.1)."""
    assigned = func.count().filter(LearningPair.assigned)
    graded = func.count().filter(LearningPair.assigned & LearningPair.grade_at.is_not(None))
    rows = db.execute(
        select(LearningPair.student_id, assigned, graded)
        .where(LearningPair.class_id == class_id).group_by(LearningPair.student_id)
    ).all()
    return {student: done / total for student, total, done in rows if total}


def reason_text(reason: str, details: dict) -> str:
    """A risk reason in words, with the figures behind it."""
    label = REASON_LABELS.get(reason, reason)
    if reason == "missing_submissions":
        return f"{label} ({details.get('missing')} of {details.get('assigned')} not graded)"
    if reason == "score_trend_down" and len(details.get("last_two_scores") or []) == 2:
        before, after = details["last_two_scores"]
        return f"{label} ({charts.number(before)} → {charts.number(after)})"
    if reason == "completion_below_median":
        return (f"{label} ({charts.percent(details.get('completion_rate'))} vs. median "
                f"{charts.percent(details.get('class_median_completion_rate'))})")
    return label


# --- pages -----------------------------------------------------------------------

@bp.get("/")
@signed_in
def home() -> str:
    """A teacher's classes, or every class for an unbound key (with the tutor lookup)."""
    principal: Principal = g.principal
    with session_scope() as db:
        classes, total, page = class_summaries(db, principal.teacher_id, request.args.get("page", 1, type=int),
                                               CLASSES_PER_PAGE)
    pages = max((total + CLASSES_PER_PAGE - 1) // CLASSES_PER_PAGE, 1)
    return render_template("dashboard/home.html", classes=classes, total=total, page=page, pages=pages)


@bp.get("/classes/<string:class_id>")
@signed_in
def class_page(class_id: str) -> str:
    """One class: rollup, at-risk students, mastery grid, charts, recent activity."""
    with session_scope() as db:
        require_class(db, class_id)
        dashboard = class_dashboard(db, class_id, g.principal.teacher_id or "")
        risk = class_risk(db, class_id)
        grid = class_mastery_grid(db, class_id)
        rates = class_completion_rates(db, class_id)
    by_standard = sorted(dashboard["mastery_by_standard"], key=lambda row: natural_key(row["standard_id"]))
    mastery_chart = charts.hbar_chart([(row["standard_id"], row["average_mastery"]) for row in by_standard],
                                      title="Average mastery per standard", color=charts.mastery_color)
    bins = charts.histogram_bins(list(rates.values()), bins=5)
    completion_chart = charts.column_chart(
        [(f"{low:.0%}–{high:.0%}", count) for low, high, count in bins],
        title="Students by completion rate", y_label="students")
    at_risk = [{"student_id": r["student_id"],
                "reasons": [reason_text(reason, r["details"]) for reason in r["reasons"]]}
               for r in sorted(risk, key=lambda r: natural_key(r["student_id"]))]
    return render_template(
        "dashboard/class.html", class_id=class_id, dashboard=dashboard, by_standard=by_standard, at_risk=at_risk,
        grid=grid, rates=rates,
        bins=bins, mastery_chart=Markup(mastery_chart), completion_chart=Markup(completion_chart))


@bp.get("/classes/<string:class_id>/students/<string:student_id>")
@signed_in
def student_page(class_id: str, student_id: str) -> str:
    """One student of a class: mastery per standard, class timeline, reading profile."""
    with session_scope() as db:
        require_class(db, class_id)
        timeline = student_timeline(db, class_id, student_id, TIMELINE_LIMIT)
        if not timeline:
            abort(404, description=f"No events of student {student_id} in class {class_id}.")
        mastery = student_mastery(db, student_id)
        profile = student_reading_profile(db, student_id)
    reading_chart = None
    if profile is not None:
        reading_chart = Markup(charts.column_chart(
            [(band.replace("_", " "), profile["histogram"].get(band, 0)) for band in BANDS],
            title="Checkouts per reading band", y_label="checkouts"))
    mastery_chart = Markup(charts.hbar_chart([(m["standard_id"], m["mastery_score"]) for m in mastery],
                                             title="Mastery per standard", color=charts.mastery_color))
    return render_template("dashboard/student.html", class_id=class_id, student_id=student_id, mastery=mastery,
                           timeline=timeline, profile=profile, bands=BANDS, reading_chart=reading_chart,
                           mastery_chart=mastery_chart)


@bp.get("/tutors")
@signed_in
def tutor_lookup() -> Response:
    """The home page's 'open a tutor' form lands here."""
    tutor_id = request.args.get("tutor_id", "").strip()
    if not tutor_id:
        return redirect(url_for(".home"))
    return redirect(url_for(".tutor_page", tutor_id=tutor_id))


@bp.get("/tutors/<tutor_id>")
@signed_in
def tutor_page(tutor_id: str) -> str:
    """One tutor (unbound keys only): derived fields, window metrics, history charts, recent sessions."""
    with session_scope() as db:
        tutor = tutor_record(db, tutor_id)
        metrics = tutor_metrics(db, tutor_id, list(WINDOWS))["windows"]
        history = tutor_metrics_history(db, tutor_id, HISTORY_WINDOW, HISTORY_DAYS)["history"]
        sessions = tutor_sessions(db, tutor_id, RECENT_SESSIONS)["sessions"]
    end = utcnow().date()
    start = end - timedelta(days=HISTORY_DAYS - 1)
    history_charts = [
        (title, Markup(charts.line_chart([(row["day"], row[field]) for row in history], start=start, end=end,
                                         y_min=low, y_max=high, title=f"{title}, {HISTORY_WINDOW} window, daily")))
        for field, title, low, high in (("avg_rating", "Average rating", 1, 5),
                                        ("engagement_score", "Engagement score", 0, 100))
    ]
    return render_template("dashboard/tutor.html", tutor=tutor, metrics=metrics, windows=list(WINDOWS),
                           metric_rows=METRIC_ROWS, history=history, history_charts=history_charts,
                           history_window=HISTORY_WINDOW, history_days=HISTORY_DAYS, sessions=sessions)


# --- errors, headers, template helpers ----------------------------------------------

@bp.errorhandler(HTTPException)
def error_page(error: HTTPException) -> tuple[str, int]:
    """Dashboard errors as HTML pages (the API's JSON handler stays for /api)."""
    # flask_smorest.abort, used by the shared read functions, puts its text in `data`.
    message = (getattr(error, "data", None) or {}).get("message") or error.description
    return render_template("dashboard/error.html", code=error.code, title=error.name, message=message), error.code


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
    """A timestamp for people: UTC datetimes as UTC, producer-local ISO strings in their own offset."""
    if value is None:
        return "—"
    if isinstance(value, str):
        local = datetime.fromisoformat(value)
        offset = local.utcoffset()
        if not offset:
            return local.strftime("%Y-%m-%d %H:%M UTC")
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "−"
        return local.strftime("%Y-%m-%d %H:%M ") + f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@bp.context_processor
def _template_helpers() -> dict:
    return {
        "csrf_token": csrf_token, "principal": g.get("principal"), "percent": charts.percent,
        "number": charts.number, "when": _when, "mastery_band": charts.mastery_band,
        "reason_labels": REASON_LABELS,
    }


flask_blueprints = [bp]
