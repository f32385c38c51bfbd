"""The keyed subject hash and the pseudonym (tutormax/privacy.py): pure, no servers."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tutormax import privacy
from tutormax.config import reset_settings


@pytest.fixture()
def key(monkeypatch):
    monkeypatch.setenv("TUTORMAX_PRIVACY_KEY", "k1")
    reset_settings()
    yield "k1"
    reset_settings()


def test_the_hash_is_an_hmac_of_kind_and_id_under_the_privacy_key(key):
    expected = hmac.new(b"k1", b"student\x00s-1", hashlib.sha256).hexdigest()
    assert privacy.subject_hash("student", "s-1") == expected
    assert privacy.subject_hash("tutor", "s-1") != expected
    assert privacy.pseudonym("student", "s-1") == "erased:" + expected[:32]


def test_another_key_gives_other_hashes(key, monkeypatch):
    first = privacy.subject_hash("student", "s-1")
    monkeypatch.setenv("TUTORMAX_PRIVACY_KEY", "k2")
    reset_settings()
    assert privacy.subject_hash("student", "s-1") != first


def test_the_secret_key_is_the_default(monkeypatch):
    monkeypatch.delenv("TUTORMAX_PRIVACY_KEY", raising=False)
    monkeypatch.setenv("TUTORMAX_SECRET_KEY", "secret")
    reset_settings()
    try:
        assert privacy.subject_hash("tutor", "t") == hmac.new(b"secret", b"tutor\x00t", hashlib.sha256).hexdigest()
    finally:
        reset_settings()


@pytest.mark.parametrize("payload, kinds", [
    ({"student_id": "s", "tutor_id": "t"}, ["student", "tutor"]),
    ({"student_id": "s", "class_id": "c"}, ["student"]),
    ({"tutor_id": "t"}, ["tutor"]),
    ({"batch_id": "b", "user_id": "u"}, []),
    ({"student_id": "erased:0123", "tutor_id": "t"}, ["tutor"]),  # a pseudonym names no one
    ({"student_id": 5}, []),
])
def test_ingest_checks_the_people_a_payload_names(key, payload, kinds):
    ids = {"student": payload.get("student_id"), "tutor": payload.get("tutor_id")}
    assert privacy.payload_subject_hashes(payload) == [privacy.subject_hash(k, ids[k]) for k in kinds]
