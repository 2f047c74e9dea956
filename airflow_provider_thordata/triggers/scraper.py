"""Trigger that watches Thordata scraper tasks from the triggerer."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_thordata.backoff import SYSTEM_CLOCK, Clock
from airflow_provider_thordata.exceptions import ThordataAPIError
from airflow_provider_thordata.polling import StatusPoller, Subscription, shared_poller

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence

    from airflow_provider_thordata.scraper_api import ObservedStatus

log = logging.getLogger(__name__)

EventKind = Literal["statuses", "timeout", "error"]


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
    triggerer share their polls (see :mod:`airflow_provider_thordata.polling`).

    :param task_ids: the scraper task ids to watch.
    :param thordata_conn_id: the ``thordata`` connection.
    :param poll_interval: seconds between two polls; also the most a cached status may age.
    :param deadline: absolute deadline in Unix seconds; past it the trigger fires ``timeout``.
    :param known_statuses: task id to the normalised status the task already acted on
        (``None`` for never seen); the trigger fires when an observed status differs.
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
        if not task_ids:
            raise ValueError("ThordataScraperTaskTrigger needs at least one scraper task id.")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}.")
        self.task_ids = list(task_ids)
        self.thordata_conn_id = thordata_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline)
        self.known_statuses = dict(known_statuses or {})
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

    def _poller(self) -> StatusPoller:
        from airflow_provider_thordata.hooks.thordata import ThordataHook

        def create() -> StatusPoller:
            hook = ThordataHook(thordata_conn_id=self.thordata_conn_id, clock=self._clock)
            return StatusPoller(hook, self._clock)

        return shared_poller(self.thordata_conn_id, create)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until a watched status changes, the deadline passes or a permanent error."""
        latest: dict[str, StatusEntry] = {}
        with Subscription(self._poller(), self.task_ids) as poller:
            while True:
                now = self._clock.time()
                if now >= self.deadline:
                    log.info("Deadline passed while watching Thordata tasks %s", ", ".join(self.task_ids))
                    yield TriggerEvent(self._payload("timeout", latest))
                    return
                try:
                    snapshot = await poller.statuses(self.task_ids, max_age=self.poll_interval)
                except ThordataAPIError as error:
                    if not error.retryable:
                        log.error("Stopped watching Thordata tasks: %s", error.message)
                        yield TriggerEvent(self._payload("error", latest, error))
                        return
                    log.warning(
                        "Transient error polling Thordata tasks, next poll in %ss: %s",
                        self.poll_interval,
                        error.message,
                    )
                else:
                    latest = _entries(snapshot.statuses)
                    if self._changed(snapshot.statuses):
                        yield TriggerEvent(self._payload("statuses", latest))
                        return
                await self._clock.asleep(max(0.0, min(self.poll_interval, self.deadline - now)))

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


def _entries(statuses: Mapping[str, ObservedStatus]) -> dict[str, StatusEntry]:
    return {task_id: {"status": seen.status.value, "raw": seen.raw} for task_id, seen in statuses.items()}


def parse_payload(payload: object) -> TriggerPayload:
    """Return a trigger event's payload after checking its shape, or raise ``ValueError``.

    The task validates what it resumes with: an event from another version of this trigger,
    or a corrupted one, fails clearly instead of being half understood.
    """
    if not isinstance(payload, dict):
        raise ValueError(f"Expected a dict from ThordataScraperTaskTrigger, got {type(payload).__name__}.")
    missing = {"kind", "task_ids", "statuses", "deadline", "error"} - payload.keys()
    if missing:
        raise ValueError(f"Trigger event lacks {', '.join(sorted(missing))}: {sorted(payload)}")
    if payload["kind"] not in ("statuses", "timeout", "error"):
        raise ValueError(f"Unknown trigger event kind {payload['kind']!r}.")
    if not isinstance(payload["statuses"], dict) or not all(
        isinstance(entry, dict) and {"status", "raw"} <= entry.keys()
        for entry in payload["statuses"].values()
    ):
        raise ValueError("Trigger event statuses must map task ids to {'status', 'raw'}.")
    if payload["kind"] == "error" and not isinstance(payload["error"], dict):
        raise ValueError("An error trigger event must carry the error.")
    return payload  # type: ignore[return-value]
