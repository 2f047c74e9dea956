"""Apache Airflow provider for Thordata's Web Scraper API and its lifecycle webhooks.

The package root stays light on purpose: Airflow imports it (through
``get_provider_info``) in every scheduler, DAG processor and worker process, so
nothing here imports Airflow, jinja2 or an HTTP client. Public names that need them
are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["LifecycleEvent", "WebhookIntegration", "__version__"]

if TYPE_CHECKING:
    from airflow_provider_thordata.events import LifecycleEvent
    from airflow_provider_thordata.integrations import WebhookIntegration

_EXPORTS = {
    "LifecycleEvent": "airflow_provider_thordata.events",
    "WebhookIntegration": "airflow_provider_thordata.integrations",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
