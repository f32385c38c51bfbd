"""The dashboard pages: a teacher's classes, a class, a student, a tutor."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, g, redirect, render_template, request, url_for
from markupsafe import Markup
from marshmallow import ValidationError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from tutormax.db import read_session, utcnow
from tutormax.queries.learning import (
    class_completion_rates,
    class_dashboard,
    class_mastery_grid,
    class_risk,
    class_summaries,
    class_trend,
    class_visible,
    natural_key,
    student_mastery,
    student_timeline,
)
from tutormax.queries.reading import student_reading_profile
from tutormax.queries.tutoring import tutor_metrics, tutor_metrics_history, tutor_record, tutor_roster, tutor_sessions
from tutormax.rules.reading import BANDS
from tutormax.rules.tutoring import TIERS, WINDOWS
from tutormax.schemas.tutoring import RosterQuerySchema
from tutormax.web import charts
from tutormax.web.auth import Principal
from tutormax.web.dashboard import bp
from tutormax.web.dashboard.present import METRIC_ROWS, ROSTER_ROWS
from tutormax.web.dashboard.signin import signed_in


def require_class(db: Session, class_id: str) -> None:
    """404 unless the signed-in key may see the class (as the JSON API decides)."""
    if not class_visible(db, class_id, g.principal.teacher_id):
        abort(404, description=f"No class {class_id}.")


def require_tutor_reader() -> None:
    """Tutors are linked to no class: a teacher-bound key has no tutor to read (403, as the JSON API)."""
    if g.principal.teacher_id is not None:
        abort(403, description="Teacher-bound keys cannot read tutor records.")


CLASSES_PER_PAGE = 25
TIMELINE_LIMIT = 50
RECENT_SESSIONS = 20
HISTORY_WINDOW, HISTORY_DAYS = "30day", 90
ROSTER_PAGE = 25
ROSTER_ARGS = ("tier", "q", "sort", "offset")
ATTENTION = ("high", "medium")  # priorities that lead the class page


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


GRID_SORT_STUDENT, GRID_SORT_COMPLETION = "student", "completion"


def sort_grid(grid: dict, rates: dict[str, float], sort: str) -> tuple[list[str], str]:
    """The grid's students in the order `sort` asks: `student`, `completion` or a standard id, `-` first for
    descending; scores missing sort last either way, ties by student. An unknown key sorts by student."""
    key = sort.removeprefix("-")
    descending = sort.startswith("-")
    if key != GRID_SORT_COMPLETION and key not in grid["standards"]:
        key, descending = GRID_SORT_STUDENT, descending and key == GRID_SORT_STUDENT
    students = sorted(grid["students"], key=natural_key)
    if key == GRID_SORT_STUDENT:
        ordered = students[::-1] if descending else students
    else:
        value = rates.get if key == GRID_SORT_COMPLETION else (lambda student: grid["cells"].get((student, key)))
        known = [s for s in students if value(s) is not None]
        known.sort(key=value, reverse=descending)  # stable: ties stay in student order
        ordered = known + [s for s in students if value(s) is None]
    return ordered, f"-{key}" if descending else key


def trend_series(weeks: list[dict]) -> dict[str, float]:
    return {row["week"]: row["average_score"] for row in weeks}


@bp.get("/classes/<string:class_id>")
@signed_in
def class_page(class_id: str) -> str:
    """One class: who needs attention and why, the mastery grid (sortable), the class trend, the rollup."""
    teacher_id = g.principal.teacher_id
    with read_session() as db:
        require_class(db, class_id)
        dashboard = class_dashboard(db, class_id, teacher_id or "")
        triage = class_risk(db, class_id)
        grid = class_mastery_grid(db, class_id)
        rates = class_completion_rates(db, class_id)
        trend = class_trend(db, class_id, teacher_id) or []
    students, grid_sort = sort_grid(grid, rates, request.args.get("sort", GRID_SORT_STUDENT))
    by_standard = sorted(dashboard["mastery_by_standard"], key=lambda row: natural_key(row["standard_id"]))
    mastery_chart = charts.hbar_chart([(row["standard_id"], row["average_mastery"]) for row in by_standard],
                                      title="Average mastery per standard", color=charts.mastery_color)
    bins = charts.histogram_bins(list(rates.values()), bins=5)
    completion_chart = charts.column_chart(
        [(f"{low:.0%}–{high:.0%}", count) for low, high, count in bins],
        title="Students by completion rate", y_label="students")
    weeks = [row["week"] for row in trend]
    trend_chart = charts.series_chart(weeks, [("Class mean", [row["average_score"] for row in trend])],
                                      title="Class mean score by ISO week")
    return render_template(
        "dashboard/class.html", class_id=class_id, dashboard=dashboard, by_standard=by_standard,
        attention=[row for row in triage if row["priority"] in ATTENTION], watch=[
            row for row in triage if row["priority"] not in ATTENTION],
        grid=grid, students=students, grid_sort=grid_sort, rates=rates, trend=trend,
        bins=bins, mastery_chart=Markup(mastery_chart), completion_chart=Markup(completion_chart),
        trend_chart=Markup(trend_chart))


@bp.get("/classes/<string:class_id>/students/<string:student_id>")
@signed_in
def student_page(class_id: str, student_id: str) -> str:
    """One student of a class: triage, mastery, score trend against the class, timeline, reading profile."""
    teacher_id = g.principal.teacher_id
    with read_session() as db:
        require_class(db, class_id)
        timeline = student_timeline(db, class_id, student_id, TIMELINE_LIMIT)
        if not timeline:
            abort(404, description=f"No events of student {student_id} in class {class_id}.")
        triage = next((row for row in class_risk(db, class_id) if row["student_id"] == student_id), None)
        mastery = student_mastery(db, student_id)
        profile = student_reading_profile(db, student_id, teacher_id)
        own = trend_series(class_trend(db, class_id, teacher_id, student_id) or [])
        whole = trend_series(class_trend(db, class_id, teacher_id) or [])
    weeks = sorted(own.keys() | whole.keys())
    trend = [{"week": week, "student": own.get(week), "class": whole.get(week)} for week in weeks]
    trend_chart = charts.series_chart(weeks, [("This student", [own.get(w) for w in weeks]),
                                              ("Class mean", [whole.get(w) for w in weeks])],
                                      title="Mean score by ISO week, student and class")
    reading_chart = None
    if profile is not None:
        reading_chart = Markup(charts.column_chart(
            [(band.replace("_", " "), profile["histogram"].get(band, 0)) for band in BANDS],
            title="Checkouts per reading band", y_label="checkouts"))
    mastery_chart = Markup(charts.hbar_chart([(m["standard_id"], m["mastery_score"]) for m in mastery],
                                             title="Mastery per standard", color=charts.mastery_color))
    return render_template("dashboard/student.html", class_id=class_id, student_id=student_id, mastery=mastery,
                           triage=triage, timeline=timeline, profile=profile, bands=BANDS,
                           reading_chart=reading_chart, mastery_chart=mastery_chart, trend=trend,
                           trend_chart=Markup(trend_chart))


@bp.get("/tutors")
@signed_in
def tutors() -> Response | tuple[str, int] | str:
    """The tutor roster (unbound keys only): filter by 30-day tier, search id or name, sort by any metric."""
    require_tutor_reader()
    if request.args.get("tutor_id", "").strip():  # the old "open a tutor" form
        return redirect(url_for(".tutor_page", tutor_id=request.args["tutor_id"].strip()))
    try:
        args = RosterQuerySchema().load({k: v for k, v in request.args.items() if k in ROSTER_ARGS and v != ""})
    except ValidationError as error:
        abort(400, description="; ".join(f"{field}: {' '.join(messages)}"
                                         for field, messages in sorted(error.normalized_messages().items())))
    with read_session() as db:
        roster = tutor_roster(db, args.get("tier"), args.get("q"), args["sort"], ROSTER_PAGE, args.get("offset", 0))
    filters = {key: args[key] for key in ("tier", "q") if key in args}
    return render_template("dashboard/tutors.html", roster=roster, filters=filters, sort=args["sort"],
                           tiers=TIERS, page_size=ROSTER_PAGE, metric_rows=ROSTER_ROWS)


@bp.get("/tutors/<tutor_id>")
@signed_in
def tutor_page(tutor_id: str) -> str:
    """One tutor (unbound keys only): derived fields, window metrics, history charts, recent sessions."""
    require_tutor_reader()
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
