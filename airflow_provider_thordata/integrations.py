"""A webhook integration: the seed's unit of configuration, validated when the DAG is parsed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from airflow_provider_thordata.events import SCRAPER_TASK_EVENTS, LifecycleEvent
from airflow_provider_thordata.templating import DEFAULT_PAYLOAD_TEMPLATE, HeadersTemplate, PayloadTemplate

OnFailure = Literal["fail", "log"]
_ON_FAILURE_CHOICES = ("fail", "log")


class WebhookIntegration:
    """Where and how to notify about chosen lifecycle events of scraper tasks.

    Templates are parsed and validated here, so a bad template fails the DAG when it is parsed,
    with the line and column of the error. They are rendered by this provider's template
    language with each event's variables, never by Airflow's Jinja.

    :param name: the integration's name, sent as the ``Webhook`` header; unique among the
        integrations of one task, since it is part of every dispatch id.
    :param webhook_conn_id: the ``thordata_webhook`` connection holding the target URL and the
        optional signing secret.
    :param event_types: the events this integration listens to, as members, names
        (``"TASK_FAILED"``) or wire values (``"SCRAPER.TASK.FAILED"``); ``None`` means every
        scraper task event. ``TEST`` events reach every integration.
    :param payload_template: the JSON payload template; ``None`` uses the seed's default payload.
    :param headers_template: an optional JSON object of extra headers, with placeholders.
    :param include_api_key: send the account's scraping token in ``resource.apiKey``; off by
        default, so templates that post ``{{resource}}`` never leak it.
    :param on_failure: what a delivery that failed after its retries does: ``"fail"`` fails the
        task, ``"log"`` logs and records it; ``None`` leaves the choice to the caller (operators
        and sensors fail, the notifier logs).
    """

    def __init__(
        self,
        name: str,
        webhook_conn_id: str = "thordata_webhook_default",
        event_types: Iterable[LifecycleEvent | str] | LifecycleEvent | str | None = None,
        payload_template: str | PayloadTemplate | None = None,
        headers_template: str | HeadersTemplate | None = None,
        *,
        include_api_key: bool = False,
        on_failure: OnFailure | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("A webhook integration needs a non-empty name.")
        if not isinstance(webhook_conn_id, str) or not webhook_conn_id.strip():
            raise ValueError(f"Integration {name!r} needs a webhook_conn_id.")
        if on_failure is not None and on_failure not in _ON_FAILURE_CHOICES:
            raise ValueError(
                f"Integration {name!r}: on_failure must be 'fail', 'log' or None, got {on_failure!r}."
            )

        self.name = name.strip()
        self.webhook_conn_id = webhook_conn_id
        self.event_types = (
            SCRAPER_TASK_EVENTS if event_types is None else LifecycleEvent.coerce_all(event_types)
        )
        if not self.event_types:
            raise ValueError(f"Integration {self.name!r} listens to no event type.")
        self.payload_template = _payload(payload_template)
        self.headers_template = _headers(headers_template)
        self.include_api_key = include_api_key
        self.on_failure = on_failure

    def listens_to(self, event: LifecycleEvent) -> bool:
        """Tell whether this integration is notified of ``event``."""
        return event is LifecycleEvent.TEST or event in self.event_types

    def to_dict(self) -> dict[str, Any]:
        """Return the integration as plain values (for deadline alert callback kwargs)."""
        return {
            "name": self.name,
            "webhook_conn_id": self.webhook_conn_id,
            "event_types": sorted(event.name for event in self.event_types),
            "payload_template": self.payload_template.text,
            "headers_template": None if self.headers_template is None else self.headers_template.text,
            "include_api_key": self.include_api_key,
            "on_failure": self.on_failure,
        }

    @classmethod
    def coerce(cls, value: WebhookIntegration | Mapping[str, Any]) -> WebhookIntegration:
        """Return ``value`` as an integration; a mapping holds the constructor's arguments."""
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            return cls(**value)
        raise TypeError(
            f"Expected a WebhookIntegration or a dict of its arguments, got {type(value).__name__}."
        )

    def __repr__(self) -> str:
        events = ",".join(sorted(event.name for event in self.event_types))
        return (
            f"WebhookIntegration(name={self.name!r}, webhook_conn_id={self.webhook_conn_id!r}, "
            f"events={events})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WebhookIntegration):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.name, self.webhook_conn_id))


def coerce_integrations(
    integrations: Iterable[WebhookIntegration | Mapping[str, Any]] | None,
) -> tuple[WebhookIntegration, ...]:
    """Return the integrations of one task, checking that their names are unique."""
    result = tuple(WebhookIntegration.coerce(item) for item in integrations or ())
    seen: set[str] = set()
    for integration in result:
        if integration.name in seen:
            raise ValueError(
                f"Two integrations are named {integration.name!r}: names must be unique within a task, "
                "because each delivery's dispatch id includes it."
            )
        seen.add(integration.name)
    return result


def _payload(template: str | PayloadTemplate | None) -> PayloadTemplate:
    if template is None:
        return PayloadTemplate(DEFAULT_PAYLOAD_TEMPLATE)
    if isinstance(template, PayloadTemplate):
        return template
    return PayloadTemplate(template)


def _headers(template: str | HeadersTemplate | None) -> HeadersTemplate | None:
    if template is None or isinstance(template, HeadersTemplate):
        return template
    return HeadersTemplate(template)
