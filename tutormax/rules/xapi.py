"""From a validated xAPI statement to a learning event (SPEC §3.5): pure functions over plain data.

`strip_personal_data` runs first, on every statement, before anything is stored or
logged: names of agents are dropped and an `mbox` is replaced by its `mbox_sha1sum`.
`map_statement` then reads the sanitized statement and answers the learning event it
stands for, or why it stands for none (the statement is then stored unmapped).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

UNMAPPED = "XAPI_UNMAPPED"
GRADED = "SUBMISSION_GRADED"
CREATED = "SUBMISSION_CREATED"
MAX_ID_LENGTH = 128

ADL = "http://adlnet.gov/expapi/verbs/"
GRADING_VERBS = frozenset({ADL + "scored", ADL + "completed", ADL + "passed", ADL + "failed",
                           "https://w3id.org/xapi/tla/verbs/scored"})
SUBMITTING_VERBS = frozenset({"http://activitystrea.ms/schema/1.0/submit", ADL + "completed"})
COURSE_TYPES = frozenset({"http://adlnet.gov/expapi/activities/course",
                          "http://id.tincanapi.com/activitytype/lms/course",
                          "https://w3id.org/xapi/cmi5/activitytype/course"})
STANDARD_TYPES = frozenset({"http://adlnet.gov/expapi/activities/objective",
                            "http://id.tincanapi.com/activitytype/competency"})
# Properties an LRS sets or may set: not part of what two sends of one statement must agree on.
NOT_COMPARED = ("id", "authority", "stored", "version")


def sha1_hex(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _strip_agent(agent: dict[str, Any]) -> dict[str, Any]:
    """An agent or group without its name, its mailbox only as mbox_sha1sum (xAPI: SHA-1 of the mailto IRI)."""
    clean = {k: v for k, v in agent.items() if k not in ("name", "mbox")}
    if "mbox" in agent:
        clean["mbox_sha1sum"] = sha1_hex(agent["mbox"])
    if "member" in agent:
        clean["member"] = [_strip_agent(m) for m in agent["member"]]
    return clean


def _is_agent(value: Any) -> bool:
    return isinstance(value, dict) and value.get("objectType", "Agent") in ("Agent", "Group")


def strip_personal_data(statement: dict[str, Any]) -> dict[str, Any]:
    """The statement without names and mailboxes of actors, instructors, teams, authorities and agent objects."""
    clean = dict(statement)
    for key in ("actor", "authority"):
        if key in clean:
            clean[key] = _strip_agent(clean[key])
    target = clean.get("object")
    if isinstance(target, dict):
        if target.get("objectType") in ("Agent", "Group"):
            clean["object"] = _strip_agent(target)
        elif target.get("objectType") == "SubStatement":
            clean["object"] = strip_personal_data(target)
    if "context" in clean:
        context = dict(clean["context"])
        for key in ("instructor", "team"):
            if key in context:
                context[key] = _strip_agent(context[key])
        clean["context"] = context
    return clean


def _json_ready(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


def statement_fingerprint(statement: dict[str, Any]) -> str:
    """SHA-256 of the sanitized statement without the properties an LRS may set; equal for re-sends.

    Timestamps are compared as instants (normalized to UTC), UUIDs in lowercase (the schema does both).
    """
    compared = {k: v for k, v in statement.items() if k not in NOT_COMPARED}
    canonical = json.dumps(_json_ready(compared), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def short_id(iri: str) -> str:
    """An id as TutorMax stores it: as given up to 128 characters, else `sha1:<hex>` of it."""
    return iri if len(iri) <= MAX_ID_LENGTH else "sha1:" + sha1_hex(iri)


def person_id(agent: dict[str, Any] | None) -> str | None:
    """A sanitized Agent's pseudonymous id: account name, else mbox_sha1sum, else openid; None for groups."""
    if not agent or agent.get("objectType", "Agent") != "Agent":
        return None
    if "account" in agent:
        return short_id(agent["account"]["name"])
    if "mbox_sha1sum" in agent:
        return agent["mbox_sha1sum"].lower()
    if "openid" in agent:
        return short_id(agent["openid"])
    return None


def _type_of(activity: dict[str, Any]) -> str:
    return (activity.get("definition") or {}).get("type") or ""


def _is_section(activity: dict[str, Any]) -> bool:
    return _type_of(activity).rstrip("/").endswith("/section")


def _is_submission(activity: dict[str, Any]) -> bool:
    kind, iri = _type_of(activity).rstrip("/"), activity["id"]
    return kind.endswith(("/submission", "/attempt")) or iri.endswith(("#submission", "#attempt"))


def score_of(score: dict[str, Any] | None) -> float | None:
    """SPEC §3.5: from raw/min/max when all three are given, else scaled × 100, else raw in 0–100; None if
    no score or the result is outside 0–100."""
    if not score:
        return None
    raw, low, high, scaled = score.get("raw"), score.get("min"), score.get("max"), score.get("scaled")
    if raw is not None and low is not None and high is not None:
        value = (raw - low) * 100 / (high - low)
    elif scaled is not None:
        value = scaled * 100
    elif raw is not None:
        value = raw
    else:
        return None
    # Rounded past float noise (0.57 × 100 is 56.99999999999999), so a statement and the native
    # event with the same score feed the same views.
    value = round(value, 9)
    return value if 0 <= value <= 100 else None


@dataclass(frozen=True)
class Mapping:
    """What a statement stands for: a learning event type and payload, or UNMAPPED with a reason."""

    type: str
    payload: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


def _unmapped(reason: str) -> Mapping:
    return Mapping(UNMAPPED, reason=reason)


def map_statement(statement: dict[str, Any]) -> Mapping:
    """The learning event a sanitized, validated statement stands for (SPEC §3.5 mapping)."""
    verb = statement["verb"]["id"]
    result = statement.get("result") or {}
    has_score = bool(result.get("score"))
    if verb in GRADING_VERBS and has_score:
        kind = GRADED
    elif verb in SUBMITTING_VERBS and not has_score:
        kind = CREATED
    else:
        return _unmapped("verb")
    score = score_of(result.get("score")) if kind == GRADED else None
    if kind == GRADED and score is None:
        return _unmapped("score")

    student = person_id(statement["actor"])
    if student is None:
        return _unmapped("student")
    target = statement["object"]
    if target.get("objectType", "Activity") != "Activity":
        return _unmapped("assignment")
    context = statement.get("context") or {}
    activities = context.get("contextActivities") or {}
    parents, groupings = activities.get("parent", []), activities.get("grouping", [])
    course = next((a for a in parents + groupings if _type_of(a) in COURSE_TYPES), None)
    if course is None:
        return _unmapped("class")
    assignment = target["id"]
    if _is_submission(target):
        owner = next((a for a in parents if _type_of(a) not in COURSE_TYPES and not _is_section(a)), None)
        if owner is not None:
            assignment = owner["id"]
    standards = [short_id(a["id"]) for key in ("category", "other") for a in activities.get(key, [])
                 if _type_of(a) in STANDARD_TYPES]
    payload: dict[str, Any] = {
        "student_id": student, "class_id": short_id(course["id"]), "assignment_id": short_id(assignment),
        "standard_ids": list(dict.fromkeys(standards)),
    }
    teacher = person_id(context.get("instructor"))
    if teacher is not None:
        payload["teacher_id"] = teacher
    if kind == GRADED:
        payload["score"] = score
    return Mapping(kind, payload)
