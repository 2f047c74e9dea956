"""Notifier that sends a lifecycle event through webhook integrations from Airflow callbacks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier
from airflow.sdk._shared.secrets_masker import redact  # the path Airflow 3.3 itself points to

from airflow_provider_thordata import dispatch
from airflow_provider_thordata.events import LifecycleEvent
from airflow_provider_thordata.integrations import WebhookIntegration, coerce_integrations
from airflow_provider_thordata.rendered import json_object

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

    from airflow_provider_thordata.delivery import DeliveryRecord


class ThordataWebhookNotifier(BaseNotifier):
    """Deliver an event to webhook integrations from a task or DAG callback, or a deadline alert.

    Use it as ``on_failure_callback``/``on_success_callback`` of a task or a DAG (``notify``
    runs in the worker or the DAG processor), or in a deadline alert as
    ``AsyncCallback(ThordataWebhookNotifier, kwargs={...})`` (``async_notify`` runs in the
    triggerer; pass integrations as dicts there, since callback kwargs are serialised).

    The ``airflow`` template variables come from the callback's context. ``eventData`` holds
    what the context tells about the callback (the task or run state, the exception of a
    failure, the missed deadline) merged with ``event_data``. A delivery that fails after its
    retries is logged and recorded, not raised, unless its integration says ``on_failure="fail"``.

    :param event_type: the event to send, e.g. ``"TASK_FAILED"`` or ``LifecycleEvent.TEST``.
    :param integrations: :class:`WebhookIntegration` objects or dicts of their arguments.
    :param event_data: extra ``{{eventData}}`` fields. (templated)
    :param resource: ``{{resource}}``. (templated)
    :param scraper_task_id: the scraper task concerned, if any, part of the dispatch id.
        (templated)
    :param user_id: ``{{userId}}``.
    """

    template_fields: Sequence[str] = ("event_data", "resource", "scraper_task_id")

    def __init__(
        self,
        *,
        event_type: LifecycleEvent | str,
        integrations: Iterable[WebhookIntegration | Mapping[str, Any]],
        event_data: Mapping[str, Any] | str | None = None,
        resource: Mapping[str, Any] | str | None = None,
        scraper_task_id: str | None = None,
        user_id: str | None = None,
        context: Context | None = None,
    ) -> None:
        super().__init__(context=context)
        self.event_type = LifecycleEvent.coerce(event_type)
        self.integrations = coerce_integrations(integrations)
        if not self.integrations:
            raise ValueError("ThordataWebhookNotifier needs at least one integration.")
        self.event_data = event_data
        self.resource = resource
        self.scraper_task_id = scraper_task_id
        self.user_id = user_id
        self.records: list[DeliveryRecord] = []

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Render the templated fields, also when the context's DAG cannot build a Jinja env.

        ``dag.test()`` hands DAG-level callbacks the scheduler's serialized DAG, which has no
        ``get_template_env``; the default sandboxed environment is used then, as for a
        deadline alert, which has no DAG at all.
        """
        dag = context.get("dag")
        if jinja_env is None and dag is not None and not hasattr(dag, "get_template_env"):
            jinja_env = self.get_template_env()
        super().render_template_fields(context, jinja_env)

    def _plan(self, context: Mapping[str, Any]) -> list[dispatch.PlannedDelivery]:
        emission = dispatch.Emission(
            event=self.event_type,
            scraper_task_id=self.scraper_task_id or _deadline_key(context),
            event_data={**callback_details(context), **(json_object(self.event_data, "event_data") or {})},
            resource=json_object(self.resource, "resource"),
        )
        return dispatch.plan(emission, self.integrations, context=context, user_id=self.user_id)

    def notify(self, context: Context) -> None:
        """Deliver the event (sync: task and DAG callbacks)."""
        self.records = dispatch.deliver(
            self._plan(context),
            ledger=dispatch.DeliveryLedger.from_context(context),
            default_on_failure="log",
        )

    async def async_notify(self, context: Context) -> None:
        """Deliver the event (async: deadline alerts in the triggerer)."""
        self.records = await dispatch.adeliver(
            self._plan(context),
            ledger=dispatch.DeliveryLedger.from_context(context),
            default_on_failure="log",
        )


def callback_details(context: Mapping[str, Any]) -> dict[str, Any]:
    """Return what a callback context tells about why the callback runs, JSON-friendly."""
    details: dict[str, Any] = {}
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    state = getattr(ti, "state", None) if ti is not None else None
    if state is None and dag_run is not None:
        state = dag_run.get("state") if isinstance(dag_run, Mapping) else getattr(dag_run, "state", None)
    if state is not None:
        details["state"] = str(getattr(state, "value", state))
    exception = context.get("exception")
    if exception is not None:
        # Through Airflow's secrets masker: a task's error message may quote a credential.
        details["exception"] = str(redact(f"{type(exception).__name__}: {exception}"))[:2000]
    reason = context.get("reason")
    if reason:
        details["reason"] = str(reason)
    deadline = context.get("deadline")
    if isinstance(deadline, Mapping):
        details["deadline"] = {key: str(value) for key, value in deadline.items()}
    return details


def _deadline_key(context: Mapping[str, Any]) -> str | None:
    """Return what tells one missed deadline of a run from another, for the dispatch id.

    Two deadline alerts of the same run, event and integration are distinct notifications;
    without this they would share a dispatch id and receivers would drop the second.
    """
    deadline = context.get("deadline")
    if isinstance(deadline, Mapping) and deadline.get("id"):
        return f"deadline:{deadline['id']}"
    return None
