"""xAPI statements for the tests: the specification's own examples and what Moodle sends.

The ADL examples are those of the xAPI 1.0.3 Data section (adlnet/xAPI-Spec, xAPI-Data.md).
The Moodle builders follow logstore_xapi's shapes: up to 4.7 the course sits in `grouping`
(type lms/course) and grades use ADL verbs; from 4.8 the course is a cmi5 course in `parent`
and a grade is TLA `scored` on the assignment's `#submission`, whose parent is the assignment.
Both send `actor.account`, `context.instructor`, `result.score` with raw/min/max and a
`scaled` that may disagree, names of people, and sometimes no `timestamp`.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

LMS = "https://moodle.example.edu"
LMS_COURSE = "http://id.tincanapi.com/activitytype/lms/course"
CMI5_COURSE = "https://w3id.org/xapi/cmi5/activitytype/course"
OBJECTIVE = "http://adlnet.gov/expapi/activities/objective"
ADL_VERB = "http://adlnet.gov/expapi/verbs/"
TLA_SCORED = "https://w3id.org/xapi/tla/verbs/scored"
SUBMIT = "http://activitystrea.ms/schema/1.0/submit"

SIMPLE = {
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "timestamp": "2015-11-18T12:17:00+00:00",
    "actor": {"objectType": "Agent", "name": "Project Tin Can API", "mbox": "mailto:user@example.com"},
    "verb": {"id": "http://example.com/xapi/verbs#sent-a-statement", "display": {"en-US": "sent"}},
    "object": {"id": "http://example.com/xapi/activity/simplestatement",
               "definition": {"name": {"en-US": "simple statement"},
                              "description": {"en-US": "A simple Experience API statement."}}},
}

LONG = {
    "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
    "actor": {
        "name": "Team PB", "mbox": "mailto:teampb@example.com", "objectType": "Group",
        "member": [
            {"name": "Andrew Downes", "account": {"homePage": "http://www.example.com", "name": "13936749"},
             "objectType": "Agent"},
            {"name": "Toby Nichols", "openid": "http://toby.openid.example.org/", "objectType": "Agent"},
            {"name": "Ena Hills", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9", "objectType": "Agent"},
        ],
    },
    "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-GB": "attended", "en-US": "attended"}},
    "result": {
        "extensions": {"http://example.com/profiles/meetings/resultextensions/minuteslocation":
                       "X:\\meetings\\minutes\\examplemeeting.one"},
        "success": True, "completion": True, "response": "We agreed on some example actions.",
        "duration": "PT1H0M0S",
    },
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "contextActivities": {
            "parent": [{"id": "http://www.example.com/meetings/series/267", "objectType": "Activity"}],
            "category": [{"id": "http://www.example.com/meetings/categories/teammeeting", "objectType": "Activity",
                          "definition": {"name": {"en": "team meeting"},
                                         "description": {"en": "A category of meeting used for regular team meetings."},
                                         "type": "http://example.com/expapi/activities/meetingcategory"}}],
            "other": [{"id": "http://www.example.com/meetings/occurances/34257", "objectType": "Activity"},
                      {"id": "http://www.example.com/meetings/occurances/3425567", "objectType": "Activity"}],
        },
        "instructor": {"name": "Andrew Downes", "account": {"homePage": "http://www.example.com", "name": "13936749"},
                       "objectType": "Agent"},
        "team": {"name": "Team PB", "mbox": "mailto:teampb@example.com", "objectType": "Group"},
        "platform": "Example virtual meeting software",
        "language": "tlh",
        "statement": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
    },
    "timestamp": "2013-05-18T05:32:34.804+00:00",
    "stored": "2013-05-18T05:32:34.804+00:00",
    "authority": {"account": {"homePage": "http://cloud.scorm.com/", "name": "anonymous"}, "objectType": "Agent"},
    "version": "1.0.0",
    "object": {
        "id": "http://www.example.com/meetings/occurances/34534",
        "definition": {
            "extensions": {"http://example.com/profiles/meetings/activitydefinitionextensions/room":
                           {"name": "Kilby", "id": "http://example.com/rooms/342"}},
            "name": {"en-GB": "example meeting", "en-US": "example meeting"},
            "description": {"en-GB": "An example meeting that happened on a specific occasion.",
                            "en-US": "An example meeting that happened on a specific occasion."},
            "type": "http://adlnet.gov/expapi/activities/meeting",
            "moreInfo": "http://virtualmeeting.example.com/345256",
        },
        "objectType": "Activity",
    },
}

SUB_STATEMENT = {
    "actor": {"objectType": "Agent", "mbox": "mailto:test@example.com"},
    "verb": {"id": "http://example.com/planned", "display": {"en-US": "planned"}},
    "object": {
        "objectType": "SubStatement",
        "actor": {"objectType": "Agent", "mbox": "mailto:test@example.com"},
        "verb": {"id": "http://example.com/visited", "display": {"en-US": "will visit"}},
        "object": {"id": "http://example.com/website",
                   "definition": {"name": {"en-US": "Some Awesome Website"}}},
    },
}

INTERACTION = {
    "actor": {"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
    "object": {"id": "http://example.com/quiz/q1", "definition": {
        "description": {"en-US": "Which of these prototypes are available at the beta site?"},
        "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "choice",
        "correctResponsesPattern": ["golf[,]tetris"],
        "choices": [{"id": "golf", "description": {"en-US": "Golf Example"}},
                    {"id": "tetris", "description": {"en-US": "Tetris Example"}}]}},
    "result": {"response": "golf[,]tetris", "success": True, "duration": "PT3.5S",
               "score": {"scaled": 1}},
}

VOIDING = {
    "actor": {"objectType": "Agent", "name": "Example Admin", "mbox": "mailto:admin@example.adlnet.gov"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
    "object": {"objectType": "StatementRef", "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"},
}

SPEC_EXAMPLES = {"simple": SIMPLE, "long": LONG, "sub_statement": SUB_STATEMENT, "interaction": INTERACTION,
                 "voiding": VOIDING}


def _person(user: str, name: str) -> dict[str, Any]:
    return {"objectType": "Agent", "name": name, "account": {"homePage": LMS, "name": user}}


def moodle_47(student: str, course: str, assignment: str, verb: str = "scored", *,
              score: dict | None = None, teacher: str | None = None, standards: tuple[str, ...] = (),
              timestamp: str | None = "2026-09-01T10:00:00+00:00", statement_id: str | None = None) -> dict:
    """A statement as logstore_xapi ≤ 4.7 sends it: ADL verb, course in `grouping`."""
    statement: dict[str, Any] = {
        "actor": _person(student, f"Student {student}"),
        "verb": {"id": ADL_VERB + verb if "://" not in verb else verb, "display": {"en": verb}},
        "object": {"id": f"{LMS}/mod/assign/view.php?id={assignment}", "objectType": "Activity",
                   "definition": {"type": "http://adlnet.gov/expapi/activities/assessment",
                                  "name": {"en": f"Assignment {assignment}"}}},
        "context": {
            "platform": "Moodle", "language": "en",
            "extensions": {"http://lrs.learninglocker.net/define/extensions/info": {"http://moodle.org": "4.1"}},
            "contextActivities": {
                "grouping": [{"id": LMS, "objectType": "Activity",
                              "definition": {"type": "http://id.tincanapi.com/activitytype/lms",
                                             "name": {"en": "Moodle"}}},
                             {"id": f"{LMS}/course/view.php?id={course}", "objectType": "Activity",
                              "definition": {"type": LMS_COURSE, "name": {"en": f"Course {course}"}}}],
                "category": [{"id": "http://moodle.org", "objectType": "Activity",
                              "definition": {"type": "http://id.tincanapi.com/activitytype/source"}}]
                + [{"id": s, "objectType": "Activity", "definition": {"type": OBJECTIVE}} for s in standards],
            },
        },
    }
    if score is not None:
        statement["result"] = {"score": score, "completion": True, "response": "Nice essay, Ana"}
    return _completed(statement, teacher, timestamp, statement_id)


def moodle_48(student: str, course: str, assignment: str, *, score: dict | None = None,
              teacher: str | None = None, standards: tuple[str, ...] = (),
              timestamp: str | None = "2026-09-01T10:00:00+00:00", statement_id: str | None = None) -> dict:
    """A statement as logstore_xapi ≥ 4.8 sends it: cmi5 course in `parent`; a grade is TLA `scored`
    on the assignment's `#submission` (whose parent is the assignment); without a score, `submit`."""
    assignment_iri = f"{LMS}/mod/assign/view.php?id={assignment}"
    statement: dict[str, Any] = {
        "actor": _person(student, f"Student {student}"),
        "verb": {"id": TLA_SCORED if score is not None else SUBMIT, "display": {"en": "scored"}},
        "object": {"id": f"{assignment_iri}#submission", "objectType": "Activity",
                   "definition": {"type": "http://id.tincanapi.com/activitytype/submission"}},
        "context": {
            "platform": "Moodle", "language": "en",
            "contextActivities": {
                "parent": [{"id": f"{LMS}/course/view.php?id={course}", "objectType": "Activity",
                            "definition": {"type": CMI5_COURSE}},
                           {"id": assignment_iri, "objectType": "Activity",
                            "definition": {"type": "http://adlnet.gov/expapi/activities/assessment"}}],
                "category": [{"id": "https://w3id.org/xapi/cmi5/context/categories/moveon"}]
                + [{"id": s, "definition": {"type": OBJECTIVE}} for s in standards],
            },
        },
    }
    if score is not None:
        statement["result"] = {"score": score}
    return _completed(statement, teacher, timestamp, statement_id)


def _completed(statement: dict, teacher: str | None, timestamp: str | None, statement_id: str | None) -> dict:
    """The optional parts both Moodle shapes add the same way: instructor, timestamp, id."""
    if teacher is not None:
        statement["context"]["instructor"] = _person(teacher, f"Teacher {teacher}")
    if timestamp is not None:
        statement["timestamp"] = timestamp
    if statement_id is not None:
        statement["id"] = statement_id
    return statement


def with_id(statement: dict) -> dict:
    """A copy with a fresh statement id."""
    return {**copy.deepcopy(statement), "id": str(uuid.uuid4())}
