"""Operator that sends one lifecycle event through webhook integrations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_thordata import dispatch
from airflow_provider_thordata.events import LifecycleEvent
from airflow_provider_thordata.integrations import WebhookIntegration, coerce_integrations
from airflow_provider_thordata.rendered import json_object

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from airflow.sdk import Context

    from airflow_provider_thordata.delivery import DeliveryRecord


class ThordataWebhookOperator(BaseOperator):
    """Send one event to the webhook integrations that listen to it and return the records.

    Each delivery has a dispatch id derived from the task instance, the scraper task id, the
    event type and the integration name, so an Airflow retry resends under the same id and a
    delivery that already succeeded is not sent again.

    :param event_type: a :class:`~airflow_provider_thordata.events.LifecycleEvent`, its name
        or its wire value, e.g. ``"TASK_SUCCEEDED"``. (templated)
    :param integrations: where the event goes: :class:`WebhookIntegration` objects or dicts.
    :param event_data: ``{{eventData}}``, a dict (or its JSON text). (templated)
    :param resource: ``{{resource}}``, e.g. a record returned by the sensor. (templated)
    :param scraper_task_id: the scraper task the event is about, part of the dispatch id.
        (templated)
    :param thordata_conn_id: a ``thordata`` connection whose ``user_id`` fills ``{{userId}}``.
    :param user_id: ``{{userId}}`` directly, instead of reading it from a connection.
    """

    template_fields: Sequence[str] = ("event_type", "event_data", "resource", "scraper_task_id")
    template_fields_renderers = {"event_data": "json", "resource": "json"}
    ui_color = "#fff1d6"

    def __init__(
        self,
        *,
        event_type: LifecycleEvent | str,
        integrations: Iterable[WebhookIntegration | Mapping[str, Any]],
        event_data: Mapping[str, Any] | str | None = None,
        resource: Mapping[str, Any] | str | None = None,
        scraper_task_id: str | None = None,
        thordata_conn_id: str | None = None,
        user_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(event_type, LifecycleEvent) or "{{" not in event_type:
            event_type = LifecycleEvent.coerce(event_type).name
        self.event_type = event_type
        self.integrations = coerce_integrations(integrations)
        if not self.integrations:
            raise ValueError(f"{self.task_id}: ThordataWebhookOperator needs at least one integration.")
        self.event_data = event_data
        self.resource = resource
        self.scraper_task_id = scraper_task_id
        self.thordata_conn_id = thordata_conn_id
        self.user_id = user_id

    def execute(self, context: Context) -> list[DeliveryRecord]:
        """Deliver the event; fail if a delivery that must succeed did not."""
        emission = dispatch.Emission(
            event=LifecycleEvent.coerce(self.event_type),
            scraper_task_id=self.scraper_task_id or None,
            event_data=json_object(self.event_data, "event_data") or {},
            resource=json_object(self.resource, "resource"),
        )
        planned = dispatch.plan(emission, self.integrations, context=context, user_id=self._user_id())
        records = dispatch.deliver(
            planned, ledger=dispatch.DeliveryLedger.from_context(context), default_on_failure="fail"
        )
        self.log.info("Sent %s to %d integration(s)", emission.event.wire, len(records))
        return records

    def _user_id(self) -> str | None:
        if self.user_id is not None or self.thordata_conn_id is None:
            return self.user_id
        from airflow_provider_thordata.hooks.thordata import ThordataHook

        return ThordataHook(thordata_conn_id=self.thordata_conn_id).user_id
