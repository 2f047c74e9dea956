"""The payload and header template language of Thordata webhooks, as real JSON.

Build a template once (at DAG parse time: errors name their line and column), render it for
each event::

    payload = PayloadTemplate(text)
    body = payload.render(variables)  # bytes: compact UTF-8 JSON
    headers = HeadersTemplate(text).render(variables)  # dict[str, str]

The language is described in ``docs/templates.md``. This package never imports Airflow.
"""

from __future__ import annotations

from airflow_provider_thordata.exceptions import (
    HeaderTemplateError,
    ReservedHeaderWarning,
    TemplateError,
    TemplateJSONError,
    TemplateRenderError,
    TemplateSyntaxError,
    UnknownVariableError,
)
from airflow_provider_thordata.templating._constants import (
    ALLOWED_VARIABLES,
    DEFAULT_PAYLOAD_TEMPLATE,
    RESERVED_HEADERS,
)
from airflow_provider_thordata.templating._headers import HeadersTemplate
from airflow_provider_thordata.templating._payload import PayloadTemplate

__all__ = [
    "ALLOWED_VARIABLES",
    "DEFAULT_PAYLOAD_TEMPLATE",
    "RESERVED_HEADERS",
    "HeaderTemplateError",
    "HeadersTemplate",
    "PayloadTemplate",
    "ReservedHeaderWarning",
    "TemplateError",
    "TemplateJSONError",
    "TemplateRenderError",
    "TemplateSyntaxError",
    "UnknownVariableError",
]
