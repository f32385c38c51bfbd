"""The keyed hash that names an erased person without their id (SPEC §4 "Privacy").

`subject_hash(kind, id)` is HMAC-SHA256 keyed with `TUTORMAX_PRIVACY_KEY` (else
`TUTORMAX_SECRET_KEY`), so neither a tombstone nor a pseudonym can be reversed by
hashing candidate ids without the key. The pseudonym of kept shared records is
`erased:<first 32 hex digits of that hash>`: stable, so a person's sessions stay
grouped, and distinct for students and tutors.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from tutormax.config import get_settings

KINDS = ("student", "tutor")
# Payload fields that name a person of each kind (the producer's pseudonymous ids).
SUBJECT_FIELDS = {"student": "student_id", "tutor": "tutor_id"}
PSEUDONYM_PREFIX = "erased:"


@lru_cache(maxsize=4)
def _keyed(key: str) -> hmac.HMAC:
    # The key schedule once per key: ingest hashes every person every event names.
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def subject_hash(kind: str, subject_id: str) -> str:
    """The keyed hash of (kind, id), 64 hex digits."""
    mac = _keyed(get_settings().privacy_key).copy()
    mac.update(f"{kind}\x00{subject_id}".encode())
    return mac.hexdigest()


def pseudonym(kind: str, subject_id: str) -> str:
    """The stable id that replaces an erased person in the records they share with others."""
    return PSEUDONYM_PREFIX + subject_hash(kind, subject_id)[:32]


def payload_subject_hashes(payload: Mapping[str, Any]) -> list[str]:
    """The hashes of every person an event payload names (checked against the tombstones at ingest)."""
    hashes = []
    for kind, field in SUBJECT_FIELDS.items():
        value = payload.get(field)
        if isinstance(value, str) and value and not value.startswith(PSEUDONYM_PREFIX):
            hashes.append(subject_hash(kind, value))
    return hashes
