"""Deliver one lifecycle event to the integrations that listen to it, once.

One pure step plans the deliveries (dispatch id, rendered body and headers per integration);
two thin shells send them, a sync one for operators, sensors and task callbacks and an async
one for notifiers running in the triggerer. Before sending, each shell asks the ledger
whether that dispatch id was already delivered by an earlier poke, deferral or Airflow retry
of the same task instance; after a delivery it records it there.

A delivery that fails is recorded and the others are still attempted; then, if the failed
integration's policy (or the caller's default) is ``fail``, one
:class:`~airflow_provider_thordata.exceptions.WebhookDeliveryError` is raised whose
``records`` hold the outcome of every integration.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, Protocol

from airflow_provider_thordata.delivery import Outcome
from airflow_provider_thordata.events import (
    LifecycleEvent,
    airflow_variables,
    build_variables,
    dispatch_id,
    is_dag_callback,
)
from airflow_provider_thordata.exceptions import (
    TemplateError,
    UnsafeWebhookTargetError,
    WebhookDeliveryError,
)
from airflow_provider_thordata.scraper_api import redact_token

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from airflow_provider_thordata.delivery import DeliveryRecord
    from airflow_provider_thordata.hooks.webhook import ThordataWebhookHook
    from airflow_provider_thordata.integrations import WebhookIntegration

log = logging.getLogger(__name__)

OnFailure = Literal["fail", "log"]
LEDGER_PREFIX = "thordata.dispatch."


class StateStore(Protocol):
    """The part of Airflow's ``task_state_store`` the ledger uses."""

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value stored under ``key``, or ``default``."""
        ...

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``."""
        ...


class DeliveryLedger:
    """What was delivered for one task instance, kept in Airflow's task state store.

    The store survives reschedule pokes, deferrals and Airflow retries of the same task
    instance (XCom does not). Without a store (a DAG-level callback, a deadline alert) the
    ledger remembers nothing and the dispatch id alone lets receivers deduplicate.

    :param store: the task state store, or anything with its ``get(key, default)`` and
        ``set(key, value)``; ``None`` for no memory.
    """

    def __init__(self, store: StateStore | None) -> None:
        self._store = store

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> DeliveryLedger:
        """Return the ledger of the task instance ``context`` belongs to, if it has one.

        See :func:`usable_state_store` for the contexts that have none.
        """
        return cls(usable_state_store(context))

    def delivered(self, dispatch: str) -> DeliveryRecord | None:
        """Return the record of an earlier successful delivery of ``dispatch``, if any."""
        if self._store is None:
            return None
        record = self._store.get(LEDGER_PREFIX + dispatch)
        if isinstance(record, dict) and record.get("outcome") == "delivered":
            return record  # type: ignore[return-value]
        return None

    def record(self, record: DeliveryRecord) -> None:
        """Remember the outcome of a delivery (failures too, for the record)."""
        if self._store is not None:
            self._store.set(LEDGER_PREFIX + record["dispatch_id"], dict(record))


def usable_state_store(context: Mapping[str, Any]) -> StateStore | None:
    """Return the context's task state store if this code may use it, else ``None``.

    A DAG-level callback gets none, although Airflow hands it the store of the run's last task
    instance: what the callback sends is about the run, not that task's to remember. Nor does
    anything running in the DAG processor (DAG callbacks, and the task callbacks the scheduler
    requests for a task that died without running its own): the processor does not serve task
    state store requests, it drops them and the call never returns.
    """
    store = context.get("task_state_store")
    if store is None or is_dag_callback(context):
        return None
    if in_dag_processor():
        log.info(
            "Running in the DAG processor, which cannot reach the task state store: deliveries are "
            "not recorded here, receivers deduplicate them by dispatch id"
        )
        return None
    return store  # type: ignore[no-any-return]


def in_dag_processor() -> bool:
    """Tell whether this process is a DAG processor's parsing process (which runs callbacks).

    Airflow 3.3 (``airflow/dag_processing/processor.py``) points the task runner's
    ``SUPERVISOR_COMMS`` at a decoder of the DAG processor's messages there; the task state
    store's requests are not among those it may send. Only modules already loaded are looked
    at: nothing is imported.
    """
    processor = sys.modules.get("airflow.dag_processing.processor")
    task_runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    if processor is None or task_runner is None:
        return False
    decoder = getattr(getattr(task_runner, "SUPERVISOR_COMMS", None), "body_decoder", None)
    # pydantic's TypeAdapter keeps the type it was built for as ``_type``.
    accepted = getattr(decoder, "_type", None)
    return accepted is not None and accepted is getattr(processor, "ToDagProcessor", None)


@dataclass(frozen=True)
class Emission:
    """One event about one scraper task (or about the DAG run, for callbacks).

    :param event: the lifecycle event.
    :param scraper_task_id: the Thordata task concerned, part of the dispatch id.
    :param event_data: ``{{eventData}}``.
    :param resource: ``{{resource}}``, with ``apiKey`` redacted.
    :param api_key: the unredacted scraping token, given only to integrations that opt in.
    :param observed_at: when the event was observed (``{{createdAt}}``, ``{{globals}}``).
    """

    event: LifecycleEvent
    scraper_task_id: str | None = None
    event_data: Mapping[str, Any] = field(default_factory=dict)
    resource: Mapping[str, Any] | None = None
    api_key: str | None = field(default=None, repr=False)
    observed_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass(frozen=True)
class PlannedDelivery:
    """One integration's share of an emission: rendered and ready, or failed to render."""

    integration: WebhookIntegration
    dispatch_id: str
    event: LifecycleEvent
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    render_error: TemplateError | None = None


def plan(
    emission: Emission,
    integrations: Iterable[WebhookIntegration],
    *,
    context: Mapping[str, Any],
    user_id: str | None,
) -> list[PlannedDelivery]:
    """Render ``emission`` for every integration that listens to its event."""
    airflow = airflow_variables(context)
    planned = []
    for integration in integrations:
        if not integration.listens_to(emission.event):
            continue
        dispatch = dispatch_id(
            dag_id=airflow["dag_id"],
            run_id=airflow["run_id"],
            task_id=airflow["task_id"],
            map_index=airflow["map_index"],
            scraper_task_id=emission.scraper_task_id,
            event=emission.event,
            integration=integration.name,
        )
        resource = _resource_for(integration, emission)
        variables = build_variables(
            emission.event,
            observed_at=emission.observed_at,
            user_id=user_id,
            event_data=emission.event_data,
            resource=resource,
            airflow=airflow,
        )
        try:
            body = integration.payload_template.render(variables)
            headers = integration.headers_template.render(variables) if integration.headers_template else {}
        except TemplateError as error:
            planned.append(PlannedDelivery(integration, dispatch, emission.event, render_error=error))
            continue
        planned.append(PlannedDelivery(integration, dispatch, emission.event, body=body, headers=headers))
    return planned


def _resource_for(integration: WebhookIntegration, emission: Emission) -> Mapping[str, Any] | None:
    """Return the ``resource`` one integration sees: ``apiKey`` in clear only if it opted in."""
    resource = emission.resource
    if resource is None:
        return None
    if integration.include_api_key:
        return resource if emission.api_key is None else {**resource, "apiKey": emission.api_key}
    key = resource.get("apiKey")
    redacted = redact_token(key) if isinstance(key, str) else key
    if redacted != key:
        # A caller handed over a clear token (a record read with reveal_api_key, say): it never
        # reaches an integration that did not ask for it.
        return {**resource, "apiKey": redacted}
    return resource


def deliver(
    planned: Sequence[PlannedDelivery],
    *,
    ledger: DeliveryLedger,
    default_on_failure: OnFailure,
    hook_factory: Callable[[str], ThordataWebhookHook] | None = None,
) -> list[DeliveryRecord]:
    """Send each planned delivery not already delivered; raise after all if one must fail the task.

    :param planned: what :func:`plan` returned.
    :param ledger: where earlier deliveries are looked up and new outcomes recorded.
    :param default_on_failure: the policy of integrations that set none.
    :param hook_factory: builds the webhook hook of a connection id; the default builds a
        :class:`~airflow_provider_thordata.hooks.webhook.ThordataWebhookHook`.
    :return: one record per planned delivery, in order: earlier records for deliveries
        skipped as already delivered, failure records for those that could not be delivered.
    :raises WebhookDeliveryError: a delivery failed whose policy is ``fail``; raised once every
        delivery was tried, with every record in ``records``.
    """
    batch = _Batch(planned, ledger, hook_factory)
    for item in batch.to_send():
        try:
            record = batch.hook(item).deliver(item.body, **batch.arguments(item))
        except Exception as error:  # noqa: BLE001 - every failure is recorded, then raised or logged
            batch.failed(item, error)
        else:
            batch.delivered(item, record)
    return batch.settle(default_on_failure)


async def adeliver(
    planned: Sequence[PlannedDelivery],
    *,
    ledger: DeliveryLedger,
    default_on_failure: OnFailure,
    hook_factory: Callable[[str], ThordataWebhookHook] | None = None,
) -> list[DeliveryRecord]:
    """Async twin of :func:`deliver`, for notifiers running in the triggerer."""
    batch = _Batch(planned, ledger, hook_factory)
    for item in batch.to_send():
        try:
            record = await batch.hook(item).adeliver(item.body, **batch.arguments(item))
        except Exception as error:  # noqa: BLE001 - every failure is recorded, then raised or logged
            batch.failed(item, error)
        else:
            batch.delivered(item, record)
    return batch.settle(default_on_failure)


@dataclass(frozen=True)
class _Outcome:
    item: PlannedDelivery
    record: DeliveryRecord
    error: BaseException | None


class _Batch:
    """The bookkeeping of one event's deliveries, shared by the sync and async shells."""

    def __init__(
        self,
        planned: Sequence[PlannedDelivery],
        ledger: DeliveryLedger,
        hook_factory: Callable[[str], ThordataWebhookHook] | None,
    ) -> None:
        self._planned = planned
        self._ledger = ledger
        self._factory = hook_factory
        self._hooks: dict[str, ThordataWebhookHook] = {}
        self._outcomes: list[_Outcome] = []

    def to_send(self) -> Iterator[PlannedDelivery]:
        """Yield the deliveries to send, settling the others (already delivered, not rendered)."""
        for item in self._planned:
            previous = self._ledger.delivered(item.dispatch_id)
            if previous is not None:
                _log_skip(item)
                self._outcomes.append(_Outcome(item, previous, None))
            elif item.render_error is not None:
                self.failed(item, item.render_error)
            else:
                yield item

    def hook(self, item: PlannedDelivery) -> ThordataWebhookHook:
        """Return the webhook hook of ``item``'s connection, one per connection id."""
        conn_id = item.integration.webhook_conn_id
        hook = self._hooks.get(conn_id)
        if hook is None:
            if self._factory is not None:
                hook = self._factory(conn_id)
            else:
                from airflow_provider_thordata.hooks.webhook import ThordataWebhookHook

                hook = ThordataWebhookHook(webhook_conn_id=conn_id)
            self._hooks[conn_id] = hook
        return hook

    @staticmethod
    def arguments(item: PlannedDelivery) -> dict[str, Any]:
        """Return the keyword arguments of the hook's ``deliver`` for ``item``."""
        return {
            "event_type": item.event.wire,
            "integration": item.integration.name,
            "dispatch_id": item.dispatch_id,
            "headers": item.headers,
        }

    def delivered(self, item: PlannedDelivery, record: DeliveryRecord) -> None:
        """Record a successful delivery."""
        self._ledger.record(record)
        self._outcomes.append(_Outcome(item, record, None))

    def failed(self, item: PlannedDelivery, error: BaseException) -> None:
        """Record a delivery that failed for good, or could not even be attempted."""
        if isinstance(error, WebhookDeliveryError):
            record: dict[str, Any] = dict(error.record)
        elif isinstance(error, UnsafeWebhookTargetError) and error.record is not None:
            record = dict(error.record)
        else:
            if isinstance(error, TemplateError):
                kind = Outcome.RENDER_FAILED
            elif isinstance(error, UnsafeWebhookTargetError):
                kind = Outcome.REFUSED
            else:
                kind = Outcome.ERROR
            record = {
                "dispatch_id": item.dispatch_id,
                "event_type": item.event.wire,
                "integration": item.integration.name,
                "status_code": None,
                "attempts": 0,
                "elapsed_ms": 0,
                "outcome": kind.value,
            }
        self._ledger.record(record)  # type: ignore[arg-type]
        self._outcomes.append(_Outcome(item, record, error))  # type: ignore[arg-type]

    def settle(self, default_on_failure: OnFailure) -> list[DeliveryRecord]:
        """Return every record, or raise if a failed delivery's policy is to fail the task."""
        records = [outcome.record for outcome in self._outcomes]
        fatal: list[_Outcome] = []
        for outcome in self._outcomes:
            if outcome.error is None:
                continue
            policy = outcome.item.integration.on_failure or default_on_failure
            log.log(
                logging.ERROR if policy == "fail" else logging.WARNING,
                "Dispatch %s (%s to %s) failed, %s: %s",
                outcome.item.dispatch_id,
                outcome.item.event.wire,
                outcome.item.integration.name,
                "failing the task" if policy == "fail" else "recorded and logged only",
                outcome.error,
                exc_info=not isinstance(
                    outcome.error, (TemplateError, WebhookDeliveryError, UnsafeWebhookTargetError)
                ),
            )
            if policy == "fail":
                fatal.append(outcome)
        if fatal:
            names = ", ".join(f"{o.item.integration.name} ({o.item.dispatch_id})" for o in fatal)
            raise WebhookDeliveryError(
                f"Webhook delivery failed for {names}: {fatal[0].error}",
                record=fatal[0].record,
                records=records,
            ) from fatal[0].error
        return records


def _log_skip(item: PlannedDelivery) -> None:
    log.info(
        "Dispatch %s (%s to %s) was already delivered by an earlier attempt of this task; not sending again",
        item.dispatch_id,
        item.event.wire,
        item.integration.name,
    )
