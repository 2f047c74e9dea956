"""Operator that creates a Thordata scraper task, once, and can wait for it to end."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_provider_thordata import dispatch
from airflow_provider_thordata.events import LifecycleEvent, creation_event_data
from airflow_provider_thordata.exceptions import ThordataAPIError
from airflow_provider_thordata.integrations import WebhookIntegration, coerce_integrations
from airflow_provider_thordata.watching import WatchingMixin, observed_at

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from airflow.sdk import Context

    from airflow_provider_thordata.hooks.thordata import ThordataHook
    from airflow_provider_thordata.watching import ScraperTaskWatcher

#: Task state store key holding the id of the scraper task this task instance created.
CREATED_TASK_KEY = "thordata.created_task_id"


class ThordataScraperTaskOperator(WatchingMixin, BaseOperator):
    """Create a Thordata Web Scraper API task and return its id.

    Emits ``CREATION_SUCCEEDED`` through the integrations, or ``CREATION_FAILED`` and then
    fails. The created id is kept in the task state store as soon as Thordata returns it, so
    an Airflow retry of the same task instance reuses that scraper task instead of creating
    (and paying for) a duplicate.

    With ``wait_for_completion`` it then watches the task like
    :class:`~airflow_provider_thordata.sensors.scraper.ThordataScraperTaskSensor`, emitting
    ``RUNNING`` and ``TASK_SUCCEEDED`` or ``TASK_FAILED``, deferring to the triggerer when
    ``deferrable``.

    :param spider_id: the spider, e.g. ``amazon_product_by-url``. (templated)
    :param spider_name: the spider's site, e.g. ``amazon.com``. (templated)
    :param parameters: the spider's parameters: one dict, or a list of dicts for several
        inputs in one task. (templated)
    :param file_name: the result file's name; Thordata expands ``{{TasksID}}`` in it. (templated)
    :param include_errors: ask Thordata to include per-input errors in the result.
    :param universal_settings: Thordata's common spider settings, as a dict. (templated)
    :param data_format: ``json``, ``csv`` or ``xlsx``.
    :param thordata_conn_id: the ``thordata`` connection. (templated)
    :param integrations: where lifecycle events are delivered.
    :param wait_for_completion: watch the created task until it ends.
    :param poll_interval: seconds between status polls while waiting.
    :param wait_timeout: seconds to wait for the task to end before failing.
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param empty_result_is_failure: a task that succeeded with no content counts as failed.
    """

    template_fields: Sequence[str] = (
        "spider_id",
        "spider_name",
        "parameters",
        "file_name",
        "universal_settings",
        "thordata_conn_id",
    )
    template_fields_renderers = {"parameters": "json", "universal_settings": "json"}
    ui_color = "#d7e6ff"

    def __init__(
        self,
        *,
        spider_id: str,
        spider_name: str,
        parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        file_name: str | None = None,
        include_errors: bool = True,
        universal_settings: Mapping[str, Any] | None = None,
        data_format: str | None = None,
        thordata_conn_id: str = "thordata_default",
        integrations: Iterable[WebhookIntegration | Mapping[str, Any]] | None = None,
        wait_for_completion: bool = False,
        poll_interval: float = 30.0,
        wait_timeout: float = timedelta(days=1).total_seconds(),
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        empty_result_is_failure: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spider_id = spider_id
        self.spider_name = spider_name
        self.parameters = parameters
        self.file_name = file_name
        self.include_errors = include_errors
        self.universal_settings = universal_settings
        self.data_format = data_format
        self.thordata_conn_id = thordata_conn_id
        self.integrations = coerce_integrations(integrations)
        self.wait_for_completion = wait_for_completion
        self.poll_interval = float(poll_interval)
        self.wait_timeout = float(wait_timeout)
        self.deferrable = deferrable
        self.empty_result_is_failure = empty_result_is_failure
        self.fail_fast = True

    def execute(self, context: Context) -> str:
        """Create the scraper task (or reuse the one an earlier try created) and emit events."""
        hook = self.thordata_hook()
        store = dispatch.usable_state_store(context)
        task_id = _stored_task_id(store)
        if task_id:
            self.log.info("Reusing Thordata task %s created by an earlier try of this task", task_id)
        else:
            task_id = self._create(hook, context)
            if store is not None:
                store.set(CREATED_TASK_KEY, task_id)

        self._emit(context, hook, LifecycleEvent.CREATION_SUCCEEDED, task_id)
        if self.wait_for_completion:
            self._wait(task_id, context)
        return str(task_id)

    def _create(self, hook: ThordataHook, context: Context) -> str:
        try:
            return hook.create_task(
                self.spider_id,
                self.spider_name,
                self.parameters,
                file_name=self.file_name,
                include_errors=self.include_errors,
                universal_settings=self.universal_settings,
                data_format=self.data_format,
            )
        except (ThordataAPIError, ValueError) as error:
            failure = error.to_dict() if isinstance(error, ThordataAPIError) else {"message": str(error)}
            self._emit(context, hook, LifecycleEvent.CREATION_FAILED, None, error=failure)
            raise

    def _emit(
        self,
        context: Context,
        hook: ThordataHook,
        event: LifecycleEvent,
        task_id: str | None,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        event_data = creation_event_data(
            spider_id=self.spider_id, spider_name=self.spider_name, task_id=task_id, error=error
        )
        store = dispatch.usable_state_store(context)
        emission = dispatch.Emission(
            event=event,
            scraper_task_id=task_id,
            event_data=event_data,
            observed_at=observed_at(store, event, task_id),
        )
        dispatch.deliver(
            dispatch.plan(emission, self.integrations, context=context, user_id=hook.user_id),
            ledger=dispatch.DeliveryLedger(store),
            default_on_failure="fail",
        )

    def _spider(self) -> dict[str, str | None]:
        return {"spider_id": self.spider_id, "spider_name": self.spider_name}

    def _wait(self, task_id: str, context: Context) -> None:
        watcher = self.make_watcher([task_id], context, spider=self._spider())
        while True:
            if self.conclude(watcher, watcher.poll()) is not None:
                return
            if self.deferrable:
                self.defer_watch(watcher, timeout=self.wait_timeout, method_name="execute_complete")
            self._sleep_or_time_out(watcher)

    def _sleep_or_time_out(self, watcher: ScraperTaskWatcher) -> None:
        deadline = watcher.deadline(self.wait_timeout)
        remaining = deadline - time.time()
        if remaining <= 0:
            raise AirflowSensorTimeout(
                f"Thordata task {', '.join(watcher.task_ids)} did not finish within {self.wait_timeout}s."
            )
        time.sleep(min(self.poll_interval, remaining))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Resume after the trigger fired: emit what changed, then finish or defer again."""
        task_id = _stored_task_id(dispatch.usable_state_store(context))
        if not task_id and isinstance(event, dict) and event.get("task_ids"):
            task_id = str(event["task_ids"][0])
        if not task_id:
            raise ValueError(
                "Resumed without the id of the Thordata task this task created: the task state store "
                "lost it. Clear this task in Airflow to create (and wait for) a new scraper task."
            )
        watcher = self.make_watcher([task_id], context, spider=self._spider())
        self.resume_watch(watcher, event, method_name="execute_complete", timeout=self.wait_timeout)
        return str(task_id)


def _stored_task_id(store: Any) -> str | None:
    """Return the scraper task id an earlier try stored, if any."""
    value = store.get(CREATED_TASK_KEY) if store is not None else None
    return value if isinstance(value, str) and value else None
