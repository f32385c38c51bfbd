"""Settings, read from the environment in one place (SPEC §5).

A `.env` file in the working directory is read in development; real
environment variables always win over it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from dotenv import load_dotenv

PIPELINE_QUEUES = ("ingest", "enrich", "persist")
DOMAINS = ("learning", "reading", "tutoring", "essays")
RECOMPUTE_QUEUES = tuple(f"recompute.{d}" for d in DOMAINS)
ALL_QUEUES = PIPELINE_QUEUES + RECOMPUTE_QUEUES + ("maintenance",)
# The Redis stream downstream consumers read reading-profile changes from (SPEC §3.2).
PROFILE_STREAM = "tutormax:student_profiles"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return default if raw in (None, "") else float(raw)


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    broker_url: str
    secret_key: str
    # Keys the privacy tombstones' and pseudonyms' HMAC; TUTORMAX_SECRET_KEY when unset.
    privacy_key: str
    secure_cookies: bool
    internal_api_key: str
    allowed_service_ids: tuple[str, ...]
    flower_basic_auth: str
    log_level: str
    log_format: str
    outbox_stale_seconds: int
    chain_batch: int
    reference_wait_seconds: int
    metrics_debounce_seconds: int
    nightly_recompute_hour: int
    risk_missing_threshold: int
    risk_low_mastery: float


def load_settings() -> Settings:
    """Build settings from the environment (and `.env`, which never overrides it)."""
    load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    return Settings(
        database_url=normalize_database_url(
            os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/tutormax")
        ),
        redis_url=redis_url,
        broker_url=os.environ.get("CELERY_BROKER_URL") or redis_url,
        secret_key=os.environ.get("TUTORMAX_SECRET_KEY", "dev-insecure-secret"),
        privacy_key=(os.environ.get("TUTORMAX_PRIVACY_KEY")
                     or os.environ.get("TUTORMAX_SECRET_KEY", "dev-insecure-secret")),
        secure_cookies=os.environ.get("TUTORMAX_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
        internal_api_key=os.environ.get("INTERNAL_API_KEY", ""),
        allowed_service_ids=tuple(
            s.strip() for s in os.environ.get("ALLOWED_SERVICE_IDS", "").split(",") if s.strip()
        ),
        flower_basic_auth=os.environ.get("FLOWER_BASIC_AUTH", ""),
        log_level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        log_format=os.environ.get("LOG_FORMAT", "json").lower(),
        outbox_stale_seconds=_int("TUTORMAX_OUTBOX_STALE_SECONDS", 60),
        chain_batch=_int("TUTORMAX_CHAIN_BATCH", 500),
        reference_wait_seconds=_int("TUTORMAX_REFERENCE_WAIT_SECONDS", 600),
        metrics_debounce_seconds=_int("TUTORMAX_METRICS_DEBOUNCE_SECONDS", 30),
        nightly_recompute_hour=_int("TUTORMAX_NIGHTLY_RECOMPUTE_HOUR", 2),
        risk_missing_threshold=_int("TUTORMAX_RISK_MISSING_THRESHOLD", 3),
        risk_low_mastery=_float("TUTORMAX_RISK_LOW_MASTERY", 0.6),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; `reset_settings()` re-reads the environment."""
    return load_settings()


def reset_settings() -> None:
    get_settings.cache_clear()
