"""Fixtures for the task tests: a real Redis consumer group on the profile stream."""

from __future__ import annotations

import pytest

from tests.helpers import wait_for

STREAM = "tutormax:student_profiles"


class StreamConsumer:
    """One consumer in a fresh consumer group, remembering every entry it read."""

    def __init__(self, redis_client, group: str) -> None:
        self.redis = redis_client
        self.group = group
        self.entries: list[dict[str, str]] = []

    def poll(self, block_ms: int = 200) -> None:
        replies = self.redis.xreadgroup(self.group, "test", {STREAM: ">"}, count=1000, block=block_ms) or []
        for _stream, messages in replies:
            for message_id, fields in messages:
                self.entries.append(fields)
                self.redis.xack(STREAM, self.group, message_id)

    def of(self, student: str) -> list[dict[str, str]]:
        return [e for e in self.entries if e.get("student_id") == student]

    def event_ids(self, student: str) -> list[str]:
        return [e["event_id"] for e in self.of(student)]

    def wait_count(self, student: str, count: int) -> list[dict[str, str]]:
        """Wait until `student` has at least `count` entries; returns them all."""

        def enough():
            self.poll()
            return len(self.of(student)) >= count

        wait_for(enough, timeout=30, what=f"{count} stream entries for {student}")
        return self.of(student)


@pytest.fixture()
def consumer(stack, uid):
    """A consumer group created at the stream's end (`$`) before the test posts anything."""
    from tutormax.redis_client import get_redis

    client = get_redis()
    group = f"test-{uid}"
    client.xgroup_create(STREAM, group, id="$", mkstream=True)
    yield StreamConsumer(client, group)
    client.xgroup_destroy(STREAM, group)
