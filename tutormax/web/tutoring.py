"""The tutor roster, tutor records, performance metrics, their history and sessions (SPEC §3.3, §4); scope `read`."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from tutormax.db import read_session
from tutormax.queries.tutoring import (
    tutor_metrics,
    tutor_metrics_history,
    tutor_record,
    tutor_roster,
    tutor_sessions,
)
from tutormax.rules.tutoring import WINDOWS
from tutormax.schemas.tutoring import (
    HistoryQuerySchema,
    MetricsQuerySchema,
    RosterQuerySchema,
    SessionsQuerySchema,
    TutorMetricsHistorySchema,
    TutorMetricsSchema,
    TutorRosterSchema,
    TutorSchema,
    TutorSessionsSchema,
)
from tutormax.web.auth import current_principal
from tutormax.web.views import answer, read_view

blp = Blueprint("tutoring", __name__, url_prefix="/api/v1/tutors", description="Tutors and their performance")
reads = partial(read_view, blp)


def require_tutor_reader() -> None:
    """Tutors are linked to no class: a teacher-bound key has no tutor to read (403)."""
    if current_principal().teacher_id is not None:
        abort(403, message="Teacher-bound keys cannot read tutor records.")


def read_tutor(query: Callable[..., dict | None], tutor_id: str, *args: object) -> dict:
    """`query(session, tutor_id, *args)` for a key that may read tutors; 404 when the tutor is unknown."""
    require_tutor_reader()
    return answer(lambda session, _teacher: query(session, tutor_id, *args), f"No tutor with id {tutor_id}.")


@blp.route("")
class TutorRoster(MethodView):
    @reads(TutorRosterSchema, RosterQuerySchema)
    def get(self, args: dict):
        """The tutor roster: each window's tier and key metrics, and the 30-day red flags.

        `tier` and `sort` use the 30-day window; `q` matches the id or the name (case-insensitive substring,
        `%` and `_` match themselves); `total` counts every match.
        """
        require_tutor_reader()
        with read_session() as session:
            return tutor_roster(session, **args)


@blp.route("/<tutor_id>")
class TutorRecord(MethodView):
    @reads(TutorSchema)
    def get(self, tutor_id: str):
        """The tutor record with its derived fields."""
        return read_tutor(tutor_record, tutor_id)


@blp.route("/<tutor_id>/metrics")
class TutorMetricsView(MethodView):
    @reads(TutorMetricsSchema, MetricsQuerySchema)
    def get(self, args: dict, tutor_id: str):
        """Current metrics per window (`7day`, `30day`, `90day`), or only the `window` asked for.

        Each window lists the green and red flags (metric names) its tier was given by.
        """
        return read_tutor(tutor_metrics, tutor_id, [args["window"]] if args.get("window") else list(WINDOWS))


@blp.route("/<tutor_id>/metrics/history")
class TutorMetricsHistoryView(MethodView):
    @reads(TutorMetricsHistorySchema, HistoryQuerySchema)
    def get(self, args: dict, tutor_id: str):
        """One row per UTC day of the last `days` days for `window`, oldest first."""
        return read_tutor(tutor_metrics_history, tutor_id, args["window"], args["days"])


@blp.route("/<tutor_id>/sessions")
class TutorSessionsView(MethodView):
    @reads(TutorSessionsSchema, SessionsQuerySchema)
    def get(self, args: dict, tutor_id: str):
        """The tutor's enriched sessions, newest scheduled_start first, each with its feedback or null."""
        return read_tutor(tutor_sessions, tutor_id, args["limit"])


api_blueprints = [blp]
