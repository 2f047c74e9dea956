"""Sensor that waits for Thordata scraper tasks and emits their lifecycle webhooks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.configuration import conf

from airflow_provider_thordata.integrations import WebhookIntegration, coerce_integrations
from airflow_provider_thordata.watching import WatchingMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class ThordataScraperTaskSensor(WatchingMixin, BaseSensorOperator):
    """Wait until Thordata scraper tasks end, emitting their lifecycle events as they happen.

    Each watched task emits ``RUNNING``, then ``TASK_SUCCEEDED`` or ``TASK_FAILED``, once each
    and in that order, through every integration that listens to the event: a task seen
    pending and then already finished still emits ``RUNNING`` first, marked ``inferred`` in
    ``eventData``. What was emitted is kept in the task state store, so pokes in reschedule
    mode, deferrals and Airflow retries never send an event twice.

    The sensor succeeds when every watched task succeeded, returning their ``resource``
    records (``apiKey`` redacted) as XCom; it fails after emitting ``TASK_FAILED`` for a
    failed one.

    :param scraper_task_id: one scraper task id, a comma-separated string of ids, or a list
        (for example the ``.output`` of a mapped ``ThordataScraperTaskOperator``). (templated)
    :param thordata_conn_id: the ``thordata`` connection. (templated)
    :param integrations: where lifecycle events are delivered: :class:`WebhookIntegration`
        objects or dicts of their arguments.
    :param poll_interval: seconds between two status polls, in every mode.
    :param deferrable: wait in the triggerer instead of a worker slot; defaults to
        ``[operators] default_deferrable``.
    :param empty_result_is_failure: a task that succeeded with no content emits
        ``TASK_FAILED`` and fails the sensor, as Thordata defines it; turn off to accept it.
    :param fail_fast: fail as soon as one watched task failed; otherwise wait until every
        watched task ended (emitting all their events) and fail then.
    """

    template_fields: Sequence[str] = ("scraper_task_id", "thordata_conn_id")
    ui_color = "#e8f0ff"

    def __init__(
        self,
        *,
        scraper_task_id: str | Sequence[str],
        thordata_conn_id: str = "thordata_default",
        integrations: Iterable[WebhookIntegration | Mapping[str, Any]] | None = None,
        poll_interval: float = 30.0,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        empty_result_is_failure: bool = True,
        fail_fast: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(**kwargs)
        self.scraper_task_id = scraper_task_id
        self.thordata_conn_id = thordata_conn_id
        self.integrations = coerce_integrations(integrations)
        self.poll_interval = float(poll_interval)
        self.deferrable = deferrable
        self.empty_result_is_failure = empty_result_is_failure
        self.fail_fast = fail_fast

    def execute(self, context: Context) -> Any:
        """Poke once; if the tasks have not all ended, keep poking or defer to the trigger."""
        if not self.deferrable:
            return super().execute(context)
        watcher = self.make_watcher(task_ids(self.scraper_task_id), context)
        records = self.conclude(watcher, watcher.poll())
        if records is not None:
            return records
        return self.defer_watch(watcher, timeout=self.timeout, method_name="execute_complete")

    def poke(self, context: Context) -> PokeReturnValue:
        """Poll the watched tasks once and emit the events their statuses bring."""
        watcher = self.make_watcher(task_ids(self.scraper_task_id), context)
        records = self.conclude(watcher, watcher.poll())
        return PokeReturnValue(is_done=records is not None, xcom_value=records)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: emit what changed, then finish or defer again."""
        watcher = self.make_watcher(task_ids(self.scraper_task_id), context)
        return self.resume_watch(watcher, event, method_name="execute_complete", timeout=self.timeout)


def task_ids(value: object) -> list[str]:
    """Return the scraper task ids a rendered ``scraper_task_id`` names, in order, once each.

    :raises ValueError: naming what was received when it holds no usable id.
    """
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        items = [value]
    ids = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(
                f"scraper_task_id must be a task id, a comma-separated string or a list of ids; "
                f"got {value!r}."
            )
        ids.append(item.strip())
    if not ids:
        raise ValueError("scraper_task_id names no scraper task.")
    return list(dict.fromkeys(ids))
