"""xAPI 1.0.3 statement rules (schemas/xapi.py) and the SPEC §3.5 mapping (rules/xapi.py), table-driven."""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from tests.xapi_statements import (
    LMS,
    SIMPLE,
    SPEC_EXAMPLES,
    SUBMIT,
    moodle_47,
    moodle_48,
)
from tutormax.rules.xapi import (
    CREATED,
    GRADED,
    UNMAPPED,
    map_statement,
    score_of,
    short_id,
    statement_fingerprint,
    strip_personal_data,
)
from tutormax.schemas.xapi import validate_statement


def mapped(statement: dict):
    return map_statement(strip_personal_data(validate_statement(statement)))


def errors_of(statement: object) -> dict:
    with pytest.raises(ValidationError) as caught:
        validate_statement(statement)
    return caught.value.messages


@pytest.mark.parametrize("name", sorted(SPEC_EXAMPLES))
def test_the_specifications_examples_are_valid(name):
    loaded = validate_statement(copy.deepcopy(SPEC_EXAMPLES[name]))
    assert loaded["verb"]["id"] == SPEC_EXAMPLES[name]["verb"]["id"]


@pytest.mark.parametrize("statement", [moodle_47("5", "3", "12", score={"raw": 16, "min": 0, "max": 20}),
                                       moodle_47("5", "3", "12", "completed", timestamp=None, teacher="2"),
                                       moodle_48("5", "3", "12", score={"raw": 16, "min": 0, "max": 20,
                                                                        "scaled": 0.5}),
                                       moodle_48("5", "3", "12")], ids=["4.7 graded", "4.7 completed",
                                                                          "4.8 scored", "4.8 submit"])
def test_moodle_shapes_are_valid(statement):
    validate_statement(statement)


def _with(path: str, value, base: dict | None = None) -> dict:
    """SIMPLE with `value` at the dotted `path` (a value of `...` removes the key)."""
    statement = copy.deepcopy(base or SIMPLE)
    *parents, last = path.split(".")
    node = statement
    for key in parents:
        node = node.setdefault(key, {})
    if value is ...:
        node.pop(last, None)
    else:
        node[last] = value
    return statement


ACCOUNT = {"homePage": "http://lms.example", "name": "42"}
IFI_ERROR = "An Agent needs exactly one identifier of mbox, mbox_sha1sum, openid, account; "

# (case, statement, expected messages): every rule, with its exact per-field message.
INVALID = [
    ("not an object", [SIMPLE], {"_schema": ["A statement must be a JSON object."]}),
    ("unknown top-level property", _with("mood", "happy"), {"mood": ["Unknown field."]}),
    ("no actor", _with("actor", ...), {"actor": ["Missing data for required field."]}),
    ("no verb", _with("verb", ...), {"verb": ["Missing data for required field."]}),
    ("no object", _with("object", ...), {"object": ["Missing data for required field."]}),
    ("agent without identifier", _with("actor", {"name": "Ann"}),
     {"actor": {"_schema": [IFI_ERROR + "got 0."]}}),
    ("agent with two identifiers", _with("actor", {"mbox": "mailto:a@example.com", "account": ACCOUNT}),
     {"actor": {"_schema": [IFI_ERROR + "got 2 (mbox, account)."]}}),
    ("mbox not mailto", _with("actor", {"mbox": "a@example.com"}),
     {"actor": {"mbox": ["Must be a mailto IRI, e.g. mailto:learner@example.com."]}}),
    ("mbox_sha1sum not hex", _with("actor", {"mbox_sha1sum": "xyz"}),
     {"actor": {"mbox_sha1sum": ["Must be the 40 hexadecimal digits of a SHA-1."]}}),
    ("openid not an IRI", _with("actor", {"openid": "not an iri"}),
     {"actor": {"openid": ["Must be an absolute IRI, e.g. http://example.com/verbs/completed."]}}),
    ("account without homePage", _with("actor", {"account": {"name": "42"}}),
     {"actor": {"account": {"homePage": ["Missing data for required field."]}}}),
    ("account without name", _with("actor", {"account": {"homePage": "http://lms.example"}}),
     {"actor": {"account": {"name": ["Missing data for required field."]}}}),
    ("unknown actor objectType", _with("actor", {"objectType": "Person", "mbox": "mailto:a@example.com"}),
     {"actor": {"objectType": ["Must be one of: Agent, Group."]}}),
    ("anonymous group without members", _with("actor", {"objectType": "Group"}),
     {"actor": {"member": ["An anonymous Group (no identifier) must list its members."]}}),
    ("group with two identifiers",
     _with("actor", {"objectType": "Group", "mbox": "mailto:g@example.com", "openid": "http://g.example"}),
     {"actor": {"_schema": ["A Group has at most one identifier; got 2 (mbox, openid)."]}}),
    ("unknown agent property", _with("actor", {"mbox": "mailto:a@example.com", "email": "a@example.com"}),
     {"actor": {"email": ["Unknown field."]}}),
    ("verb id not an IRI", _with("verb.id", "completed"),
     {"verb": {"id": ["Must be an absolute IRI, e.g. http://example.com/verbs/completed."]}}),
    ("verb display not a language map", _with("verb.display", "sent"),
     {"verb": {"display": ["Must be a language map: an object of language tag → string."]}}),
    ("language tag", _with("verb.display", {"en US": "sent"}),
     {"verb": {"display": ["'en US' is not an RFC 5646 language tag."]}}),
    ("object without id", _with("object", {"objectType": "Activity"}),
     {"object": {"id": ["Missing data for required field."]}}),
    ("unknown objectType", _with("object", {"objectType": "Thing", "id": "http://x.example"}),
     {"object": {"objectType": ["Must be one of: Activity, Agent, Group, StatementRef, SubStatement."]}}),
    ("StatementRef id not a UUID", _with("object", {"objectType": "StatementRef", "id": "http://x.example"}),
     {"object": {"id": ["Must be a UUID, e.g. 6fbd600f-d17c-4c74-801a-2ec2e53231b7."]}}),
    ("nested SubStatement", _with("object", {"objectType": "SubStatement", "actor": {"mbox": "mailto:a@b.example"},
                                             "verb": {"id": "http://v.example"},
                                             "object": {"objectType": "SubStatement"}}),
     {"object": {"object": {"objectType": ["Must be one of: Activity, Agent, Group, StatementRef."]}}}),
    ("SubStatement with an id", _with("object", {"objectType": "SubStatement",
                                                 "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
                                                 "actor": {"mbox": "mailto:a@b.example"},
                                                 "verb": {"id": "http://v.example"},
                                                 "object": {"id": "http://o.example"}}),
     {"object": {"id": ["Unknown field."]}}),
    ("interactionType", _with("object.definition.interactionType", "essay"),
     {"object": {"definition": {"interactionType": [
         "Must be one of: true-false, choice, fill-in, long-fill-in, matching, performance, sequencing, likert, "
         "numeric, other."]}}}),
    ("extension key not an IRI", _with("object.definition.extensions", {"room": 1}),
     {"object": {"definition": {"extensions": ["Extension keys must be IRIs; 'room' is not."]}}}),
    ("statement id not a UUID", _with("id", "42"),
     {"id": ["Must be a UUID, e.g. 6fbd600f-d17c-4c74-801a-2ec2e53231b7."]}),
    ("timestamp not ISO 8601", _with("timestamp", "18/11/2015 12:17"),
     {"timestamp": ["Must be an ISO 8601 date-time, e.g. 2026-09-01T08:30:00Z."]}),
    ("timestamp impossible date", _with("timestamp", "2015-02-30T12:17:00Z"),
     {"timestamp": ["Not a valid date-time: day is out of range for month."]}),
    ("scaled above 1", _with("result", {"score": {"scaled": 1.5}}),
     {"result": {"score": {"scaled": ["Must be greater than or equal to -1 and less than or equal to 1."]}}}),
    ("scaled below -1", _with("result", {"score": {"scaled": -1.01}}),
     {"result": {"score": {"scaled": ["Must be greater than or equal to -1 and less than or equal to 1."]}}}),
    ("raw above max", _with("result", {"score": {"raw": 21, "min": 0, "max": 20}}),
     {"result": {"score": {"raw": ["Must not be greater than max."]}}}),
    ("raw below min", _with("result", {"score": {"raw": -1, "min": 0}}),
     {"result": {"score": {"raw": ["Must not be less than min."]}}}),
    ("max not above min", _with("result", {"score": {"min": 5, "max": 5}}),
     {"result": {"score": {"max": ["Must be greater than min."]}}}),
    ("score as a string", _with("result", {"score": {"raw": "16"}}),
     {"result": {"score": {"raw": ["Not a valid number."]}}}),
    ("success not a boolean", _with("result", {"success": "true"}),
     {"result": {"success": ["Not a valid boolean."]}}),
    ("completion not a boolean", _with("result", {"completion": 1}),
     {"result": {"completion": ["Not a valid boolean."]}}),
    ("duration not ISO 8601", _with("result", {"duration": "90 minutes"}),
     {"result": {"duration": ["Must be an ISO 8601 duration, e.g. PT1H30M."]}}),
    ("duration with empty time part", _with("result", {"duration": "P1DT"}),
     {"result": {"duration": ["Must be an ISO 8601 duration, e.g. PT1H30M."]}}),
    ("registration not a UUID", _with("context", {"registration": "abc"}),
     {"context": {"registration": ["Must be a UUID, e.g. 6fbd600f-d17c-4c74-801a-2ec2e53231b7."]}}),
    ("instructor without identifier", _with("context", {"instructor": {"name": "T"}}),
     {"context": {"instructor": {"_schema": [IFI_ERROR + "got 0."]}}}),
    ("context activity without id", _with("context", {"contextActivities": {"parent": [{"objectType": "Activity"}]}}),
     {"context": {"contextActivities": {"parent": {0: {"id": ["Missing data for required field."]}}}}}),
    ("single context activity without id", _with("context", {"contextActivities": {"grouping": {"definition": {}}}}),
     {"context": {"contextActivities": {"grouping": {"id": ["Missing data for required field."]}}}}),
    ("unknown contextActivities key", _with("context", {"contextActivities": {"course": []}}),
     {"context": {"contextActivities": {"course": ["Unknown field."]}}}),
    ("platform with a non-Activity object",
     _with("context", {"platform": "LMS"}, _with("object", {"objectType": "Agent", "mbox": "mailto:a@b.example"})),
     {"context": {"platform": ["Only allowed when the object is an Activity."]}}),
    ("version not 1.0.x", _with("version", "2.0.0"), {"version": ["Must be a 1.0.x version, e.g. 1.0.3."]}),
]


@pytest.mark.parametrize("statement, expected", [(s, e) for _, s, e in INVALID], ids=[c for c, _, _ in INVALID])
def test_each_rule_answers_its_field(statement, expected):
    assert errors_of(statement) == expected


@pytest.mark.parametrize("value, expected", [
    ("2015-11-18T12:17:00Z", datetime(2015, 11, 18, 12, 17, tzinfo=timezone.utc)),
    ("2015-11-18T12:17:00", datetime(2015, 11, 18, 12, 17, tzinfo=timezone.utc)),  # no offset: UTC
    ("2015-11-18T13:17:00+0100", datetime(2015, 11, 18, 12, 17, tzinfo=timezone.utc)),
    ("2015-11-18T13:17:00+01", datetime(2015, 11, 18, 12, 17, tzinfo=timezone.utc)),
    ("2015-11-18T12:17:00.1234567Z", datetime(2015, 11, 18, 12, 17, 0, 123456, tzinfo=timezone.utc)),
])
def test_timestamps(value, expected):
    assert validate_statement(_with("timestamp", value))["timestamp"] == expected


@pytest.mark.parametrize("duration", ["PT1H0M0S", "PT3.5S", "P1Y2M10DT2H30M", "P3W", "PT0S", "P1D"])
def test_durations(duration):
    validate_statement(_with("result", {"duration": duration}))


def test_ids_are_lowercased_and_context_activities_become_lists():
    loaded = validate_statement(_with("context", {"contextActivities": {"grouping": {"id": "http://c.example"}}},
                                      _with("id", "FD41C918-B88B-4B20-A0A5-A4C32391AAA0")))
    assert loaded["id"] == "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"
    assert loaded["context"]["contextActivities"]["grouping"] == [{"id": "http://c.example"}]


# --- personal data ------------------------------------------------------------------------------

def test_names_and_mailboxes_are_gone_before_anything_else():
    statement = copy.deepcopy(SPEC_EXAMPLES["long"])
    clean = strip_personal_data(validate_statement(statement))
    text = repr(clean)
    for personal in ("Team PB", "Andrew Downes", "Toby Nichols", "Ena Hills", "teampb@example.com"):
        assert personal not in text
    digest = hashlib.sha1(b"mailto:teampb@example.com").hexdigest()
    assert clean["actor"]["mbox_sha1sum"] == digest and "mbox" not in clean["actor"]
    assert clean["context"]["team"] == {"objectType": "Group", "mbox_sha1sum": digest}
    assert clean["context"]["instructor"] == {"objectType": "Agent", "account": {"homePage": "http://www.example.com",
                                                                                 "name": "13936749"}}
    assert clean["actor"]["member"][1] == {"objectType": "Agent", "openid": "http://toby.openid.example.org/"}


def test_sub_statement_and_agent_objects_are_stripped_too():
    clean = strip_personal_data(validate_statement(SPEC_EXAMPLES["sub_statement"]))
    assert "mbox" not in clean["object"]["actor"]
    clean = strip_personal_data(validate_statement(_with("object", {"objectType": "Agent", "name": "Bo",
                                                                    "mbox": "mailto:bo@example.com"})))
    digest = hashlib.sha1(b"mailto:bo@example.com").hexdigest()
    assert clean["object"] == {"objectType": "Agent", "mbox_sha1sum": digest}


def test_fingerprint_ignores_what_an_lrs_sets_and_sees_content():
    base = strip_personal_data(validate_statement(SPEC_EXAMPLES["long"]))
    same = strip_personal_data(validate_statement({**SPEC_EXAMPLES["long"], "stored": "2020-01-01T00:00:00Z",
                                                   "version": "1.0.3", "timestamp": "2013-05-18T07:32:34.804+02:00",
                                                   "id": "6690E6C9-3EF0-4ED3-8B37-7F3964730BEE"}))
    assert statement_fingerprint(base) == statement_fingerprint(same)
    other = strip_personal_data(validate_statement({**SPEC_EXAMPLES["long"], "verb": {"id": "http://v.example"}}))
    assert statement_fingerprint(base) != statement_fingerprint(other)


# --- mapping (SPEC §3.5) ----------------------------------------------------------------------------

COURSE3 = f"{LMS}/course/view.php?id=3"
ASSIGN12 = f"{LMS}/mod/assign/view.php?id=12"


@pytest.mark.parametrize("statement, kind, payload", [
    ("4.7 scored raw/min/max beats scaled", GRADED, {"score": 80.0}),
    ("4.7 passed scaled only", GRADED, {"score": 57.0}),
    ("4.7 failed raw only", GRADED, {"score": 42.5}),
    ("4.7 completed without score", CREATED, {}),
    ("4.8 TLA scored on #submission", GRADED, {"score": 80.0}),
    ("4.8 submit", CREATED, {}),
], ids=lambda v: v if isinstance(v, str) else None)
def test_moodle_statements_map_to_learning_events(statement, kind, payload):
    statements = {
        "4.7 scored raw/min/max beats scaled": moodle_47("5", "3", "12", score={"raw": 16, "min": 0, "max": 20,
                                                                                 "scaled": 0.5}, teacher="2"),
        "4.7 passed scaled only": moodle_47("5", "3", "12", "passed", score={"scaled": 0.57}, teacher="2"),
        "4.7 failed raw only": moodle_47("5", "3", "12", "failed", score={"raw": 42.5}, teacher="2"),
        "4.7 completed without score": moodle_47("5", "3", "12", "completed", teacher="2"),
        "4.8 TLA scored on #submission": moodle_48("5", "3", "12", score={"raw": 8, "min": 0, "max": 10,
                                                                            "scaled": 0.9}, teacher="2"),
        "4.8 submit": moodle_48("5", "3", "12", teacher="2"),
    }
    result = mapped(statements[statement])
    assert result.type == kind
    assert result.payload == {"student_id": "5", "class_id": COURSE3, "assignment_id": ASSIGN12,
                              "standard_ids": [], "teacher_id": "2", **payload}


def test_standards_come_from_objective_and_competency_activities():
    statement = moodle_47("5", "3", "12", score={"raw": 90},
                          standards=("http://std.example/ccss/1", "http://std.example/ccss/1"))
    statement["context"]["contextActivities"]["other"] = [
        {"id": "http://std.example/comp/7", "definition": {"type": "http://id.tincanapi.com/activitytype/competency"}},
        {"id": "http://std.example/not-a-standard", "definition": {"type": "http://x.example/other"}}]
    assert mapped(statement).payload["standard_ids"] == ["http://std.example/ccss/1", "http://std.example/comp/7"]


@pytest.mark.parametrize("score, expected", [
    ({"raw": 16, "min": 0, "max": 20, "scaled": 0.1}, 80.0),
    ({"raw": 3, "min": 1, "max": 5}, 50.0),
    ({"scaled": 0.57}, 57.0),
    ({"scaled": 1}, 100.0),
    ({"raw": 100}, 100.0),
    ({"raw": 0}, 0.0),
    ({"raw": 16, "max": 20, "scaled": 0.8}, 80.0),  # min missing: scaled
    ({"raw": 150}, None),
    ({"scaled": -0.5}, None),
    ({"raw": -5, "min": -10, "max": 0, "scaled": 0.5}, 50.0),
    ({}, None),
    (None, None),
])
def test_score_rules(score, expected):
    assert score_of(score) == expected


@pytest.mark.parametrize("case, change, reason", [
    ("verb without a meaning here", lambda s: s["verb"].update(id="http://adlnet.gov/expapi/verbs/experienced"),
     "verb"),
    ("scored without a score", lambda s: s.pop("result"), "verb"),
    ("submit with a score", lambda s: s["verb"].update(id=SUBMIT), "verb"),
    ("score outside 0–100", lambda s: s["result"].update(score={"raw": 150}), "score"),
    ("no course", lambda s: s["context"]["contextActivities"].pop("grouping"), "class"),
    ("no context", lambda s: s.pop("context"), "class"),
    ("group actor", lambda s: s.update(actor={"objectType": "Group", "member": [{"mbox": "mailto:a@b.example"}]}),
     "student"),
    ("object is a statement", lambda s: (s["context"].pop("platform"), s.update(object={
        "objectType": "StatementRef", "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"})), "assignment"),
])
def test_unmapped_statements_say_why(case, change, reason):
    statement = moodle_47("5", "3", "12", score={"raw": 16, "min": 0, "max": 20})
    change(statement)
    result = mapped(statement)
    assert (result.type, result.reason, result.payload) == (UNMAPPED, reason, {})


def test_people_without_account_use_mbox_sha1sum_then_openid():
    statement = moodle_47("5", "3", "12", score={"raw": 50})
    statement["actor"] = {"name": "Ann", "mbox": "mailto:ann@example.com"}
    statement["context"]["instructor"] = {"openid": "http://teacher.example/t"}
    payload = mapped(statement).payload
    assert payload["student_id"] == hashlib.sha1(b"mailto:ann@example.com").hexdigest()
    assert payload["teacher_id"] == "http://teacher.example/t"


def test_long_iris_become_sha1_ids():
    long_course = "http://lms.example/course/" + "c" * 200
    statement = moodle_47("5", "3", "12", score={"raw": 50})
    statement["context"]["contextActivities"]["grouping"][1]["id"] = long_course
    payload = mapped(statement).payload
    assert payload["class_id"] == "sha1:" + hashlib.sha1(long_course.encode()).hexdigest()
    assert short_id("x" * 128) == "x" * 128 and len(short_id("x" * 129)) == 45


def test_submission_whose_parent_is_only_the_course_keeps_its_own_id():
    statement = moodle_48("5", "3", "12", score={"raw": 50})
    statement["context"]["contextActivities"]["parent"].pop(1)
    assert mapped(statement).payload["assignment_id"] == ASSIGN12 + "#submission"
