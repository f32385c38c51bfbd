"""Beat job periods, the yardstick of TutorMaxBeatSilent (two periods without a success)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.schedules import crontab, schedule

from tutormax.tasks.signals import beat_jobs, beat_period_seconds


@pytest.mark.parametrize(("entry_schedule", "seconds"), [
    (30, 30.0),
    (1.5, 1.5),
    (timedelta(minutes=5), 300.0),
    (schedule(timedelta(seconds=60)), 60.0),
    (crontab(minute="*/15"), 15 * 60.0),
    (crontab(minute=0, hour=2), 24 * 3600.0),
    (crontab(minute=0, hour="2,14"), 12 * 3600.0),
    # Weekdays only: Friday 02:00 to Monday 02:00 is the longest gap.
    (crontab(minute=0, hour=2, day_of_week="mon-fri"), 3 * 24 * 3600.0),
    # Monthly on the 1st: the longest month in the walk (Jan 2026 onwards) has 31 days.
    (crontab(minute=0, hour=3, day_of_month=1), 31 * 24 * 3600.0),
])
def test_beat_period_is_the_longest_gap_between_runs(entry_schedule, seconds):
    assert beat_period_seconds(entry_schedule) == seconds


def test_beat_jobs_map_tasks_to_their_schedule_entries():
    import celeryconfig

    assert beat_jobs(celeryconfig.beat_schedule) == {
        "tutormax.maintenance.sweep_outbox": "sweep-outbox",
        "tutormax.tutoring.nightly_recompute": "nightly-tutor-recompute",
        "tutormax.reading.publish_pending_profile_changes": "drain-reading-profile-stream",
    }
