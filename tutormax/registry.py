"""The one place domains plug their stage handlers into the pipeline.

A handler is `fn(session, events) -> {event_pk: exception} | None`: it works on
the live events of one chain inside the stage's transaction and reports the
events it could not handle. It must be idempotent: the broker redelivers.
Raising `PermanentFailure` / `AwaitReference` for an event (via the returned
mapping) dead-letters it or makes it wait; any other exception raised for the
whole batch makes the pipeline retry each event alone, so a poison event is
dead-lettered without blocking the rest of its chain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from tutormax.config import DOMAINS

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from tutormax.models.events import Event

STAGES = ("validate", "enrich", "persist", "recompute")

Handler = Callable[["Session", Sequence["Event"]], "Mapping[int, Exception] | None"]


class PermanentFailure(Exception):
    """The event can never be processed as it is: dead-letter it with `reason`."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


class AwaitReference(Exception):
    """The event refers to a record not known yet: retry later, then dead-letter with `reason`."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


_handlers: dict[str, dict[str, Handler]] = {}


def register(domain: str, **handlers: Handler) -> None:
    """Plug a domain's stage handlers in: register("reading", persist=fn, recompute=fn)."""
    unknown = set(handlers) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stages: {sorted(unknown)}")
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}: add it to tutormax.config.DOMAINS (its queue follows)")
    _handlers.setdefault(domain, {}).update(handlers)


def handler_for(domain: str, stage: str) -> Handler | None:
    """The domain's handler for `stage`, or None (the stage passes events through)."""
    return _handlers.get(domain, {}).get(stage)


_rebuilders: dict[str, Callable[[], object]] = {}


def register_rebuild(domain: str, fn: Callable[[], object]) -> None:
    """Register how `tutormax rebuild --domain D` recomputes D's views from the event log."""
    _rebuilders[domain] = fn


def rebuilder_for(domain: str) -> Callable[[], object] | None:
    return _rebuilders.get(domain)
