"""Trigger that watches Thordata scraper tasks from the triggerer."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_thordata.backoff import SYSTEM_CLOCK, BackoffPolicy, Clock
from airflow_provider_thordata.exceptions import ThordataAPIError
from airflow_provider_thordata.polling import StatusPoller, Subscription
from airflow_provider_thordata.scraper_api import TaskStatus, describe_ids

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from airflow_provider_thordata.scraper_api import ObservedStatus

EventKind = Literal["statuses", "timeout", "error"]
EVENT_KINDS: tuple[EventKind, ...] = ("statuses", "timeout", "error")
_STATUS_VALUES = frozenset(status.value for status in TaskStatus)

#: One attempt per poll: the poll interval is the back-off. A retry inside the shared refresh
#: would hold every other trigger of the connection waiting, and a rate limit (10011) is best
#: answered by waiting a whole interval anyway.
POLL_POLICY = BackoffPolicy(max_attempts=1)


class StatusEntry(TypedDict):
    """One task's status in a trigger event."""

    status: str
    raw: str


class ErrorEntry(TypedDict):
    """Why the trigger gave up, for the task to raise."""

    message: str
    endpoint: str
    code: int | None
    http_status: int | None


class TriggerPayload(TypedDict):
    """The fixed shape of every event this trigger yields.

    :param kind: ``statuses`` when a watched status changed, ``timeout`` when the deadline
        passed, ``error`` when a permanent API error ended the watch.
    :param task_ids: every watched task id.
    :param statuses: the latest status of each watched task the service reported.
    :param deadline: the absolute deadline (Unix seconds), echoed for the next deferral.
    :param error: set only when ``kind`` is ``error``.
    """

    kind: EventKind
    task_ids: list[str]
    statuses: dict[str, StatusEntry]
    deadline: float
    error: ErrorEntry | None


class ThordataScraperTaskTrigger(BaseTrigger):
    """Poll Thordata scraper tasks until one of them changes status, then fire once.

    The task that deferred sends the lifecycle webhooks from its worker when it resumes, and
    defers again until every watched task has ended. Triggers of the same connection in one
    triggerer share their polls (see :mod:`airflow_provider_thordata.polling`). A transient
    API error (rate limit, 5xx, network) is logged and the next poll comes one interval later;
    a permanent one (credentials, validation) ends the watch with an ``error`` event.

    :param task_ids: the scraper task ids to watch.
    :param thordata_conn_id: the ``thordata`` connection.
    :param poll_interval: seconds between two polls; also the age a shared status must be
        younger than.
    :param deadline: absolute deadline in Unix seconds; past it the trigger fires ``timeout``.
    :param known_statuses: task id to the normalised status the task already acted on
        (``None`` for never seen); the trigger fires when an observed status differs.
    :param clock: where time is read and waited; tests inject a fake one (not serialised).
    """

    def __init__(
        self,
        task_ids: Sequence[str],
        thordata_conn_id: str,
        poll_interval: float,
        deadline: float,
        known_statuses: Mapping[str, str | None] | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self.task_ids = _task_ids(task_ids)
        if not isinstance(thordata_conn_id, str) or not thordata_conn_id:
            raise ValueError(f"thordata_conn_id must name a connection, got {thordata_conn_id!r}.")
        self.thordata_conn_id = thordata_conn_id
        self.poll_interval = _number("poll_interval", poll_interval)
        if self.poll_interval <= 0:
            raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval!r}.")
        self.deadline = _number("deadline", deadline)
        self.known_statuses = _known(known_statuses)
        self._clock = clock or SYSTEM_CLOCK

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the plain keyword arguments that rebuild this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "task_ids": list(self.task_ids),
                "thordata_conn_id": self.thordata_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "known_statuses": dict(self.known_statuses),
            },
        )

    def _new_poller(self) -> StatusPoller:
        from airflow_provider_thordata.hooks.thordata import ThordataHook

        hook = ThordataHook(thordata_conn_id=self.thordata_conn_id, policy=POLL_POLICY, clock=self._clock)
        return StatusPoller(hook, self._clock)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until a watched status changes, the deadline passes or a permanent error."""
        latest: dict[str, StatusEntry] = {}
        ids = describe_ids(self.task_ids)
        with Subscription(self.thordata_conn_id, self.task_ids, self._new_poller) as poller:
            while True:
                if self._clock.time() >= self.deadline:
                    self.log.info("Deadline passed while watching Thordata task(s) %s", ids)
                    yield TriggerEvent(self._payload("timeout", latest))
                    return
                try:
                    snapshot = await poller.statuses(self.task_ids, max_age=self.poll_interval)
                except ThordataAPIError as error:
                    if not error.retryable:
                        self.log.error("Stopped watching Thordata task(s) %s: %s", ids, error.message)
                        yield TriggerEvent(self._payload("error", latest, error))
                        return
                    self.log.warning(
                        "Transient error polling Thordata task(s) %s, next poll in %ss: %s",
                        ids,
                        self.poll_interval,
                        error.message,
                    )
                else:
                    latest = _entries(snapshot.statuses)
                    if self._changed(snapshot.statuses):
                        self.log.info("A status of Thordata task(s) %s changed", ids)
                        yield TriggerEvent(self._payload("statuses", latest))
                        return
                remaining = self.deadline - self._clock.time()
                await self._clock.asleep(max(0.0, min(self.poll_interval, remaining)))

    def _changed(self, observed: Mapping[str, ObservedStatus]) -> bool:
        return any(
            status.status.value != self.known_statuses.get(task_id) for task_id, status in observed.items()
        )

    def _payload(
        self,
        kind: EventKind,
        latest: dict[str, StatusEntry],
        error: ThordataAPIError | None = None,
    ) -> dict[str, Any]:
        payload: TriggerPayload = {
            "kind": kind,
            "task_ids": list(self.task_ids),
            "statuses": latest,
            "deadline": self.deadline,
            "error": None
            if error is None
            else {
                "message": error.message,
                "endpoint": error.endpoint,
                "code": error.code,
                "http_status": error.http_status,
            },
        }
        return dict(payload)


def _task_ids(value: object) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"task_ids must be a list of scraper task ids, got {value!r}.")
    if not value or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValueError(f"task_ids must hold at least one scraper task id, and only ids; got {value!r}.")
    return list(dict.fromkeys(item.strip() for item in value))


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}.")
    return float(value)


def _known(value: Mapping[str, str | None] | None) -> dict[str, str | None]:
    known = dict(value or {})
    bad = {task_id: status for task_id, status in known.items() if status not in (*_STATUS_VALUES, None)}
    if bad:
        raise ValueError(
            f"known_statuses must map task ids to a normalised status ({', '.join(sorted(_STATUS_VALUES))}) "
            f"or None; got {bad!r}."
        )
    return known


def _entries(statuses: Mapping[str, ObservedStatus]) -> dict[str, StatusEntry]:
    return {task_id: {"status": seen.status.value, "raw": seen.raw} for task_id, seen in statuses.items()}


def parse_payload(payload: object) -> TriggerPayload:
    """Return a trigger event's payload after checking its shape, or raise ``ValueError``.

    The task validates what it resumes with: an event from another version of this trigger,
    or a corrupted one, fails clearly instead of being half understood.
    """
    if not isinstance(payload, Mapping):
        raise ValueError(f"Expected a dict from ThordataScraperTaskTrigger, got {type(payload).__name__}.")
    missing = {"kind", "task_ids", "statuses", "deadline", "error"} - payload.keys()
    if missing:
        raise ValueError(f"Trigger event lacks {', '.join(sorted(missing))}: it has {sorted(payload)}.")
    kind = payload["kind"]
    if kind not in EVENT_KINDS:
        raise ValueError(f"Unknown trigger event kind {kind!r}: expected one of {', '.join(EVENT_KINDS)}.")
    task_ids = payload["task_ids"]
    if not isinstance(task_ids, list) or not all(isinstance(item, str) for item in task_ids):
        raise ValueError(f"Trigger event task_ids must be a list of task ids, got {task_ids!r}.")
    deadline = payload["deadline"]
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)):
        raise ValueError(f"Trigger event deadline must be Unix seconds, got {deadline!r}.")
    _check_statuses(payload["statuses"], task_ids)
    error = payload["error"]
    if kind == "error":
        if (
            not isinstance(error, Mapping)
            or not {"message", "endpoint", "code", "http_status"} <= error.keys()
        ):
            raise ValueError(
                f"An error trigger event must carry message, endpoint, code and http_status, got {error!r}."
            )
    elif error is not None:
        raise ValueError(f"A {kind} trigger event carries no error, got {error!r}.")
    return dict(payload)  # type: ignore[return-value]


def _check_statuses(statuses: object, task_ids: list[str]) -> None:
    if not isinstance(statuses, Mapping):
        raise ValueError(f"Trigger event statuses must map task ids to {{status, raw}}, got {statuses!r}.")
    for task_id, entry in statuses.items():
        if task_id not in task_ids:
            raise ValueError(f"Trigger event reports task {task_id!r}, which it does not watch.")
        if (
            not isinstance(entry, Mapping)
            or entry.get("status") not in _STATUS_VALUES
            or not isinstance(entry.get("raw"), str)
        ):
            raise ValueError(
                f"Trigger event status of task {task_id!r} must be {{'status': one of "
                f"{', '.join(sorted(_STATUS_VALUES))}, 'raw': text}}, got {entry!r}."
            )
