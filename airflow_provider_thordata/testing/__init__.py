"""Local stand-ins for testing DAGs that use this provider, without the real services.

Names are imported lazily, so ``import airflow_provider_thordata.testing`` costs nothing and
imports neither Airflow nor an HTTP client:

- :class:`ThordataAPIServer`, :class:`Lifecycle`, :class:`Fault`, :class:`RecordedRequest`:
  a Thordata-compatible Web Scraper API on loopback
  (:mod:`airflow_provider_thordata.testing.thordata_api`) and its scripts
  (:mod:`airflow_provider_thordata.testing.thordata_script`).
- :class:`WebhookReceiver`, :class:`Reply`, :class:`ReceivedDelivery`, :func:`new_webhook_secret`:
  a webhook receiver on loopback that records and verifies deliveries
  (:mod:`airflow_provider_thordata.testing.webhook_receiver`).
- :class:`StaticResolver`: a name resolver for pointing made-up host names at loopback
  (:mod:`airflow_provider_thordata.testing.resolver`).
- :class:`FakeClock`: a clock that records sleeps instead of waiting
  (:mod:`airflow_provider_thordata.testing.clock`).
- :func:`event_variables`: the variables of one lifecycle event, for testing templates
  (:mod:`airflow_provider_thordata.testing.variables`).

The pytest fixtures built on them are in :mod:`airflow_provider_thordata.testing.pytest_plugin`,
registered with pytest as the plugin ``thordata``; ``docs/testing.md`` is the guide.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_thordata.testing.clock import FakeClock
    from airflow_provider_thordata.testing.resolver import StaticResolver
    from airflow_provider_thordata.testing.thordata_api import ThordataAPIServer
    from airflow_provider_thordata.testing.thordata_script import Fault, Lifecycle, RecordedRequest
    from airflow_provider_thordata.testing.variables import event_variables
    from airflow_provider_thordata.testing.webhook_receiver import (
        ReceivedDelivery,
        Reply,
        WebhookReceiver,
        new_webhook_secret,
    )

_EXPORTS = {
    "FakeClock": "airflow_provider_thordata.testing.clock",
    "event_variables": "airflow_provider_thordata.testing.variables",
    "Fault": "airflow_provider_thordata.testing.thordata_script",
    "Lifecycle": "airflow_provider_thordata.testing.thordata_script",
    "RecordedRequest": "airflow_provider_thordata.testing.thordata_script",
    "ThordataAPIServer": "airflow_provider_thordata.testing.thordata_api",
    "ReceivedDelivery": "airflow_provider_thordata.testing.webhook_receiver",
    "Reply": "airflow_provider_thordata.testing.webhook_receiver",
    "WebhookReceiver": "airflow_provider_thordata.testing.webhook_receiver",
    "new_webhook_secret": "airflow_provider_thordata.testing.webhook_receiver",
    "StaticResolver": "airflow_provider_thordata.testing.resolver",
}

__all__ = [
    "FakeClock",
    "Fault",
    "Lifecycle",
    "ReceivedDelivery",
    "RecordedRequest",
    "Reply",
    "StaticResolver",
    "ThordataAPIServer",
    "WebhookReceiver",
    "event_variables",
    "new_webhook_secret",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
