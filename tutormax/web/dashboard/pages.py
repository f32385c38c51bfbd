"""The dashboard pages: a teacher's classes, a class, a student, a tutor."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, g, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from tutormax.db import read_session, utcnow
from tutormax.queries.learning import (
    class_completion_rates,
    class_dashboard,
    class_mastery_grid,
    class_risk,
    class_summaries,
    class_visible,
    natural_key,
    student_mastery,
    student_timeline,
)
from tutormax.queries.reading import student_reading_profile
from tutormax.queries.tutoring import tutor_metrics, tutor_metrics_history, tutor_record, tutor_sessions
from tutormax.rules.reading import BANDS
from tutormax.rules.tutoring import WINDOWS
from tutormax.web import charts
from tutormax.web.auth import Principal
from tutormax.web.dashboard import bp
from tutormax.web.dashboard.present import METRIC_ROWS, reason_text
from tutormax.web.dashboard.signin import signed_in


def require_class(db: Session, class_id: str) -> None:
    """404 unless the signed-in key may see the class (as the JSON API decides)."""
    if not class_visible(db, class_id, g.principal.teacher_id):
        abort(404, description=f"No class {class_id}.")

CLASSES_PER_PAGE = 25
TIMELINE_LIMIT = 50
RECENT_SESSIONS = 20
HISTORY_WINDOW, HISTORY_DAYS = "30day", 90


@bp.get("/")
@signed_in
def home() -> str:
    """A teacher's classes, or every class for an unbound key (with the tutor lookup)."""
    principal: Principal = g.principal
    with read_session() as db:
        classes, total, page = class_summaries(db, principal.teacher_id, request.args.get("page", 1, type=int),
                                               CLASSES_PER_PAGE)
    pages = max((total + CLASSES_PER_PAGE - 1) // CLASSES_PER_PAGE, 1)
    return render_template("dashboard/home.html", classes=classes, total=total, page=page, pages=pages)


@bp.get("/classes/<string:class_id>")
@signed_in
def class_page(class_id: str) -> str:
    """One class: rollup, at-risk students, mastery grid, charts, recent activity."""
    with read_session() as db:
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
    with read_session() as db:
        require_class(db, class_id)
        timeline = student_timeline(db, class_id, student_id, TIMELINE_LIMIT)
        if not timeline:
            abort(404, description=f"No events of student {student_id} in class {class_id}.")
        mastery = student_mastery(db, student_id)
        profile = student_reading_profile(db, student_id, g.principal.teacher_id)
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
def tutors() -> Response:
    """The home page's 'open a tutor' form lands here."""
    tutor_id = request.args.get("tutor_id", "").strip()
    if not tutor_id:
        return redirect(url_for(".home"))
    return redirect(url_for(".tutor_page", tutor_id=tutor_id))


@bp.get("/tutors/<tutor_id>")
@signed_in
def tutor_page(tutor_id: str) -> str:
    """One tutor (unbound keys only): derived fields, window metrics, history charts, recent sessions."""
    if g.principal.teacher_id is not None:
        # Tutors are linked to no class: a teacher-bound key has no tutor to read.
        abort(403, description="Teacher-bound keys cannot read tutor records.")
    with read_session() as db:
        tutor = tutor_record(db, tutor_id)
        if tutor is None:
            abort(404, description=f"No tutor with id {tutor_id}.")
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
