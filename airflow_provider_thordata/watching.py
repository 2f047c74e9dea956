"""Turn status observations of scraper tasks into delivered lifecycle events, once each.

Used by the sensor in every mode and by the scraper task operator's ``wait_for_completion``:
a poke, or the resumption after a trigger fired, hands the observed statuses to
:meth:`ScraperTaskWatcher.apply`, which fetches the records of the tasks that changed,
emits their events in lifecycle order through the integrations, and saves the progress in
the task state store once per observation; the delivery ledger makes sure that an event
emitted again after a crash is not delivered twice.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_thordata import dispatch
from airflow_provider_thordata.events import status_event_data
from airflow_provider_thordata.scraper_api import TaskStatus, redact_token
from airflow_provider_thordata.watch import STATE_KEY, Change, WatchState

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.triggers.base import BaseTrigger

    from airflow_provider_thordata.delivery import DeliveryRecord
    from airflow_provider_thordata.events import LifecycleEvent
    from airflow_provider_thordata.hooks.thordata import ThordataHook
    from airflow_provider_thordata.integrations import WebhookIntegration

log = logging.getLogger(__name__)

OBSERVED_PREFIX = "thordata.observed."


def observed_at(store: Any, event: LifecycleEvent, scraper_task_id: str | None) -> datetime:
    """Return when ``event`` was first observed for a scraper task in this task instance.

    The first observation is pinned in the task state store, so an Airflow retry that sends
    an event again sends the same ``createdAt`` and ``globals``: the same dispatch id always
    comes with the same body, as receivers that enforce idempotency keys expect.
    """
    now = datetime.now(timezone.utc)
    if store is None:
        return now
    key = f"{OBSERVED_PREFIX}{event.name}.{scraper_task_id or '-'}"
    stored = store.get(key)
    if isinstance(stored, str):
        try:
            return datetime.fromisoformat(stored)
        except ValueError:
            log.warning("Ignoring an unreadable observation time under %s", key)
    store.set(key, now.isoformat())
    return now


@dataclass(frozen=True)
class WatchResult:
    """Where the watch stands after one observation.

    :param finished: every watched task reached its final event.
    :param failed: the watched tasks whose final event is ``TASK_FAILED``.
    :param deliveries: the delivery records of the events emitted by this observation.
    """

    finished: bool
    failed: list[str]
    deliveries: list[DeliveryRecord]


class ScraperTaskWatcher:
    """Emit the lifecycle events of watched scraper tasks from what is observed of them.

    :param task_ids: the watched scraper task ids.
    :param hook: the Thordata hook (records and download URLs are read through it).
    :param integrations: where events are delivered.
    :param context: the running task's Airflow context (state store, ``airflow`` variables).
    :param empty_result_is_failure: a task that succeeded with no content emits ``TASK_FAILED``.
    :param spider: ``spiderId`` and ``spiderName`` for ``eventData`` when the caller knows them.
    """

    def __init__(
        self,
        task_ids: Sequence[str],
        *,
        hook: ThordataHook,
        integrations: Sequence[WebhookIntegration],
        context: Mapping[str, Any],
        empty_result_is_failure: bool = True,
        spider: Mapping[str, str | None] | None = None,
    ) -> None:
        self.task_ids = list(task_ids)
        self.hook = hook
        self.integrations = integrations
        self.context = context
        self.empty_result_is_failure = empty_result_is_failure
        self.spider = dict(spider or {})
        self._store = dispatch.usable_state_store(context)
        self._ledger = dispatch.DeliveryLedger(self._store)
        self._fetched: dict[str, dict[str, Any]] = {}
        ti = context.get("ti")
        self.try_number: int | None = getattr(ti, "try_number", None)
        self.state = WatchState.start(self.task_ids, self._load())

    def _load(self) -> Mapping[str, Any] | None:
        if self._store is None:
            return None
        stored = self._store.get(STATE_KEY)
        return stored if isinstance(stored, dict) else None

    def deadline(self, timeout: float) -> float:
        """Return this try's absolute deadline (Unix seconds), starting it on first use.

        It is kept in the state store: resuming or poking again does not extend it, and an
        Airflow retry (a new try number) starts a new one.
        """
        if self.state.deadline is None or self.state.deadline_try != self.try_number:
            self.state.deadline = time.time() + timeout
            self.state.deadline_try = self.try_number
            self.save()
        return self.state.deadline

    def pending(self) -> list[str]:
        """Return the watched tasks that have not reached their final event."""
        return [task_id for task_id, progress in self.state.tasks.items() if progress.final_event is None]

    def save(self) -> None:
        """Write the progress to the task state store."""
        if self._store is not None:
            self._store.set(STATE_KEY, self.state.to_json())

    def poll(self) -> WatchResult:
        """Fetch the statuses of every unfinished watched task and apply them."""
        pending = self.pending()
        observed = self.hook.fetch_statuses(pending) if pending else {}
        return self.apply({task_id: (seen.status, seen.raw) for task_id, seen in observed.items()})

    def apply(self, observed: Mapping[str, tuple[TaskStatus, str]]) -> WatchResult:
        """Emit the events the observed statuses bring, then report where the watch stands."""
        self._warn_missing(observed)
        changes = self.state.changes(observed)
        records = self._records(changes)
        # Only a change emits events: without one, the connection need not be read.
        user_id = self.hook.user_id if changes else None
        deliveries: list[DeliveryRecord] = []
        try:
            for change in changes:
                self._emit(change, records.get(change.task_id), user_id, deliveries)
        finally:
            # One write per observation, also when a delivery that must fail the task raised:
            # what was emitted before it is kept; anything lost to a crash is emitted again on
            # the next observation and skipped by the delivery ledger.
            if changes:
                self.save()
        return WatchResult(self.state.finished(), self.state.failed_tasks(), deliveries)

    def _emit(
        self,
        change: Change,
        record: dict[str, Any] | None,
        user_id: str | None,
        deliveries: list[DeliveryRecord],
    ) -> None:
        """Deliver the events one change brings and mark them emitted."""
        resource = None if record is None else _redacted(record)
        planned = self.state.events_for(
            change, resource=resource, empty_result_is_failure=self.empty_result_is_failure
        )
        for item in planned:
            emission = dispatch.Emission(
                event=item.event,
                scraper_task_id=change.task_id,
                event_data=self._event_data(change, resource, inferred=item.inferred),
                resource=resource,
                api_key=None if record is None else record.get("apiKey"),
                observed_at=observed_at(self._store, item.event, change.task_id),
            )
            deliveries.extend(
                dispatch.deliver(
                    dispatch.plan(emission, self.integrations, context=self.context, user_id=user_id),
                    ledger=self._ledger,
                    default_on_failure="fail",
                )
            )
            log.info(
                "Thordata task %s is %s (%s): emitted %s%s",
                change.task_id,
                change.status.value,
                change.raw,
                item.event.wire,
                " (inferred)" if item.inferred else "",
            )
        self.state.mark(change, [item.event for item in planned])

    def records(self) -> list[dict[str, Any]]:
        """Return the records of the watched tasks, ``apiKey`` redacted, in watch order.

        Records fetched while emitting events are reused; the others are read in one scan.
        """
        missing = {
            task_id: self.state.tasks[task_id].status
            for task_id in self.task_ids
            if task_id not in self._fetched
        }
        if missing:
            self._fetched.update(self.hook.get_tasks(missing))
        return [_redacted(self._fetched.get(task_id, {"taskId": task_id})) for task_id in self.task_ids]

    def _records(self, changes: Sequence[Change]) -> dict[str, dict[str, Any]]:
        """Fetch, in one scan, the records of the changed tasks that are about to emit events."""
        wanted = {
            change.task_id: change.status
            for change in changes
            if change.status not in (TaskStatus.PENDING, TaskStatus.UNKNOWN)
        }
        if not wanted:
            return {}
        reveal = any(integration.include_api_key for integration in self.integrations)
        records = self.hook.get_tasks(wanted, reveal_api_key=reveal)
        self._fetched.update(records)
        for task_id in wanted.keys() - records.keys():
            log.warning(
                "Thordata task %s is not among the newest tasks of the task list; its events carry "
                "an empty resource",
                task_id,
            )
        return records

    def _event_data(
        self, change: Change, resource: Mapping[str, Any] | None, *, inferred: bool
    ) -> dict[str, Any]:
        resource = resource or {}
        return status_event_data(
            task_id=change.task_id,
            raw_status=change.raw,
            status=change.status,
            previous=change.previous,
            inferred=inferred,
            spider_id=self.spider.get("spider_id") or resource.get("spiderId"),
            spider_name=self.spider.get("spider_name") or resource.get("spiderName"),
        )

    def _warn_missing(self, observed: Mapping[str, tuple[TaskStatus, str]]) -> None:
        missing = [
            task_id
            for task_id, progress in self.state.tasks.items()
            if progress.final_event is None and task_id not in observed
        ]
        if missing:
            log.warning(
                "Thordata did not report %d watched task(s): %s; an id it does not know is never "
                "reported, so check the ids if this lasts",
                len(missing),
                ", ".join(missing[:10]),
            )


class WatchingMixin:
    """Watching scraper tasks from an operator: poke once, or defer to the trigger and resume.

    Shared by :class:`~airflow_provider_thordata.sensors.scraper.ThordataScraperTaskSensor` and
    the scraper task operator's ``wait_for_completion``. The host class provides
    ``thordata_conn_id``, ``integrations``, ``poll_interval``, ``empty_result_is_failure``,
    ``fail_fast`` and the operator's ``defer``/``log``.
    """

    thordata_conn_id: str
    integrations: Sequence[WebhookIntegration]
    poll_interval: float
    empty_result_is_failure: bool
    fail_fast: bool

    if TYPE_CHECKING:

        def defer(
            self,
            *,
            trigger: BaseTrigger,
            method_name: str,
            kwargs: dict[str, Any] | None = None,
            timeout: timedelta | float | None = None,
        ) -> NoReturn:
            """Defer to a trigger (provided by ``BaseOperator``)."""

    def thordata_hook(self) -> ThordataHook:
        """Return this task's hook of ``thordata_conn_id``, built once per task run.

        The hook reads its connection once: a sensor poking in ``poke`` mode, or the operator
        creating a task and then waiting for it, shares that one read.
        """
        hook: ThordataHook | None = getattr(self, "_thordata_hook", None)
        if hook is None or hook.thordata_conn_id != self.thordata_conn_id:
            from airflow_provider_thordata.hooks.thordata import ThordataHook

            hook = ThordataHook(thordata_conn_id=self.thordata_conn_id)
            self._thordata_hook = hook
        return hook

    def make_watcher(
        self,
        task_ids: Sequence[str],
        context: Mapping[str, Any],
        spider: Mapping[str, str | None] | None = None,
    ) -> ScraperTaskWatcher:
        """Return the watcher of ``task_ids`` for this run of the task."""
        return ScraperTaskWatcher(
            task_ids,
            hook=self.thordata_hook(),
            integrations=self.integrations,
            context=context,
            empty_result_is_failure=self.empty_result_is_failure,
            spider=spider,
        )

    def conclude(self, watcher: ScraperTaskWatcher, result: WatchResult) -> list[dict[str, Any]] | None:
        """Return the records when every task succeeded, ``None`` while watching goes on.

        :raises AirflowFailException: a watched task failed (at once with ``fail_fast``, else
            once every task ended). The failure is final: retrying would watch the same result.
        """
        from airflow.sdk.exceptions import AirflowFailException

        if result.failed and (self.fail_fast or result.finished):
            raise AirflowFailException(
                f"Thordata task(s) {', '.join(result.failed)} failed (TASK_FAILED was emitted); "
                "see the task's log and the integrations' receivers for details."
            )
        if result.finished:
            return watcher.records()
        return None

    def defer_watch(self, watcher: ScraperTaskWatcher, *, timeout: float, method_name: str) -> NoReturn:
        """Defer to the trigger until a watched status changes.

        The absolute deadline is set on the first deferral of each try and kept in the state
        store, so deferring again does not extend it and an Airflow retry starts a new one.
        """
        from airflow_provider_thordata.triggers.scraper import ThordataScraperTaskTrigger

        deadline = watcher.deadline(timeout)
        pending = watcher.pending()
        known = watcher.state.known_statuses()
        trigger = ThordataScraperTaskTrigger(
            task_ids=pending,
            thordata_conn_id=self.thordata_conn_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
            known_statuses={task_id: known[task_id] for task_id in pending},
        )
        # The trigger enforces the deadline itself; Airflow's own timeout is a safety net.
        remaining = max(deadline - time.time(), 0.0) + 2 * self.poll_interval + 60
        self.defer(trigger=trigger, method_name=method_name, timeout=timedelta(seconds=remaining))

    def resume_watch(
        self, watcher: ScraperTaskWatcher, event: object, *, method_name: str, timeout: float
    ) -> list[dict[str, Any]]:
        """Apply a trigger event; return the records when done, or defer again."""
        from airflow.sdk.exceptions import AirflowSensorTimeout

        from airflow_provider_thordata.exceptions import ThordataAPIError
        from airflow_provider_thordata.triggers.scraper import parse_payload

        payload = parse_payload(event)
        watcher.state.deadline = payload["deadline"]
        if payload["kind"] == "error" and payload["error"] is not None:
            error = payload["error"]
            raise ThordataAPIError(
                f"Watching stopped: {error['message']}",
                endpoint=error["endpoint"],
                code=error["code"],
                http_status=error["http_status"],
            )
        observed = {
            task_id: (TaskStatus(entry["status"]), entry["raw"])
            for task_id, entry in payload["statuses"].items()
        }
        result = watcher.apply(observed)
        records = self.conclude(watcher, result)
        if records is not None:
            return records
        if payload["kind"] == "timeout":
            raise AirflowSensorTimeout(
                f"Thordata task(s) {', '.join(watcher.pending())} did not finish before the deadline."
            )
        return self.defer_watch(watcher, timeout=timeout, method_name=method_name)


def _redacted(record: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``record`` with its ``apiKey`` redacted, whatever the hook was asked for."""
    return {**record, "apiKey": redact_token(record.get("apiKey"))} if record.get("apiKey") else dict(record)
