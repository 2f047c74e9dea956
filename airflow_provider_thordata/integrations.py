"""A webhook integration: the seed's unit of configuration, validated when the DAG is parsed."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, Literal

from airflow_provider_thordata.events import SCRAPER_TASK_EVENTS, LifecycleEvent
from airflow_provider_thordata.exceptions import TemplateError
from airflow_provider_thordata.templating import DEFAULT_PAYLOAD_TEMPLATE, HeadersTemplate, PayloadTemplate

OnFailure = Literal["fail", "log"]
_ON_FAILURE_CHOICES = ("fail", "log")
#: The keys of :meth:`WebhookIntegration.to_dict`, which :meth:`WebhookIntegration.coerce` accepts.
FIELDS = (
    "name",
    "webhook_conn_id",
    "event_types",
    "payload_template",
    "headers_template",
    "include_api_key",
    "on_failure",
)
# The name travels as the ``Webhook`` header and inside dispatch ids: one line of text.
_MAX_NAME_LENGTH = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class WebhookIntegration:
    """Where and how to notify about chosen lifecycle events of scraper tasks.

    Templates are parsed and validated here, so a bad template fails the DAG when it is parsed,
    with the integration's name and the line and column of the error. They are rendered by this
    provider's template language with each event's variables, never by Airflow's Jinja.

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
    :raises ValueError: an argument is invalid; a template error is a
        :class:`~airflow_provider_thordata.exceptions.TemplateError` (a ``ValueError``) with
        ``line`` and ``column``.
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
        self.name = _checked_name(name)
        if not isinstance(webhook_conn_id, str) or not webhook_conn_id.strip():
            raise ValueError(f"Integration {self.name!r} needs a webhook_conn_id, got {webhook_conn_id!r}.")
        if not isinstance(include_api_key, bool):
            raise ValueError(
                f"Integration {self.name!r}: include_api_key must be True or False, got {include_api_key!r}."
            )
        if on_failure is not None and on_failure not in _ON_FAILURE_CHOICES:
            raise ValueError(
                f"Integration {self.name!r}: on_failure must be 'fail', 'log' or None, got {on_failure!r}."
            )

        self.webhook_conn_id = webhook_conn_id.strip()
        self.event_types = (
            SCRAPER_TASK_EVENTS if event_types is None else LifecycleEvent.coerce_all(event_types)
        )
        if not self.event_types:
            raise ValueError(f"Integration {self.name!r} listens to no event type.")
        self.payload_template = _payload(self.name, payload_template)
        self.headers_template = _headers(self.name, headers_template)
        self.include_api_key = include_api_key
        self.on_failure = on_failure

    def listens_to(self, event: LifecycleEvent) -> bool:
        """Tell whether this integration is notified of ``event``."""
        return event is LifecycleEvent.TEST or event in self.event_types

    def to_dict(self) -> dict[str, Any]:
        """Return the integration as plain values (for deadline alert callback kwargs).

        :meth:`coerce` rebuilds an equal integration from it. The seed's default payload is
        given as ``None``.
        """
        payload = self.payload_template.text
        return {
            "name": self.name,
            "webhook_conn_id": self.webhook_conn_id,
            "event_types": sorted(event.name for event in self.event_types),
            "payload_template": None if payload == DEFAULT_PAYLOAD_TEMPLATE else payload,
            "headers_template": None if self.headers_template is None else self.headers_template.text,
            "include_api_key": self.include_api_key,
            "on_failure": self.on_failure,
        }

    @classmethod
    def coerce(cls, value: WebhookIntegration | Mapping[str, Any]) -> WebhookIntegration:
        """Return ``value`` as an integration; a mapping holds the constructor's arguments.

        :raises TypeError: ``value`` is neither, or the mapping has unknown keys or no name.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            unknown = sorted(str(key) for key in value if key not in FIELDS)
            if unknown:
                raise TypeError(
                    f"Unknown webhook integration key(s) {', '.join(map(repr, unknown))}: "
                    f"the keys are {', '.join(FIELDS)}."
                )
            if "name" not in value:
                raise TypeError(f"A webhook integration given as a dict needs a 'name': got {sorted(value)}.")
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
    integrations: Iterable[WebhookIntegration | Mapping[str, Any]]
    | WebhookIntegration
    | Mapping[str, Any]
    | None,
) -> tuple[WebhookIntegration, ...]:
    """Return the integrations of one task, checking that their names are unique.

    One integration (or one dict) given alone counts as a list of one.

    :raises ValueError: two integrations share a name.
    :raises TypeError: an item is neither an integration nor a dict of its arguments.
    """
    if integrations is None:
        return ()
    given: object = integrations  # typed loosely: DAG authors pass what they pass
    if isinstance(integrations, (WebhookIntegration, Mapping)):
        integrations = [integrations]
    elif isinstance(given, (str, bytes)):
        raise TypeError(
            "integrations must be a list of WebhookIntegration objects or dicts of their arguments, "
            f"got the text {integrations!r}."
        )
    result = tuple(WebhookIntegration.coerce(item) for item in integrations)
    seen: set[str] = set()
    for integration in result:
        if integration.name in seen:
            raise ValueError(
                f"Two integrations are named {integration.name!r}: names must be unique within a task, "
                "because each delivery's dispatch id includes it."
            )
        seen.add(integration.name)
    return result


def _checked_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"A webhook integration needs a non-empty name, got {name!r}.")
    text = name.strip()
    if _CONTROL.search(text) or len(text) > _MAX_NAME_LENGTH:
        raise ValueError(
            f"A webhook integration's name is sent as the Webhook header: it must be one line of at "
            f"most {_MAX_NAME_LENGTH} characters without control characters, got {name!r}."
        )
    return text


@cache
def default_payload_template() -> PayloadTemplate:
    """Return the seed's default payload template, parsed once per process."""
    return PayloadTemplate(DEFAULT_PAYLOAD_TEMPLATE)


def _payload(name: str, template: str | PayloadTemplate | None) -> PayloadTemplate:
    if template is None:
        return default_payload_template()
    if isinstance(template, PayloadTemplate):
        return template
    try:
        return PayloadTemplate(template)
    except TemplateError as error:
        raise _named(error, name, "payload template") from None


def _headers(name: str, template: str | HeadersTemplate | None) -> HeadersTemplate | None:
    if template is None or isinstance(template, HeadersTemplate):
        return template
    try:
        return HeadersTemplate(template)
    except TemplateError as error:
        raise _named(error, name, "headers template") from None


def _named(error: TemplateError, name: str, which: str) -> TemplateError:
    """Return ``error`` with the integration and template it is about in front of its message."""
    message = f"Integration {name!r}, {which}: {error.message}"
    error.message = message
    error.args = (message, *error.args[1:])
    return error
