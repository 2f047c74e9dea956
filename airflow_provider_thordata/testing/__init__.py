"""Local stand-ins for testing DAGs that use this provider, without the real services.

Names are imported lazily, so ``import airflow_provider_thordata.testing`` costs nothing and
imports neither Airflow nor an HTTP client:

- :class:`ThordataAPIServer`, :class:`Lifecycle`, :class:`Fault`, :class:`RecordedRequest`:
  a Thordata-compatible Web Scraper API on loopback
  (:mod:`airflow_provider_thordata.testing.thordata_api`) and its scripts
  (:mod:`airflow_provider_thordata.testing.thordata_script`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_thordata.testing.thordata_api import ThordataAPIServer
    from airflow_provider_thordata.testing.thordata_script import Fault, Lifecycle, RecordedRequest

_EXPORTS = {
    "Fault": "airflow_provider_thordata.testing.thordata_script",
    "Lifecycle": "airflow_provider_thordata.testing.thordata_script",
    "RecordedRequest": "airflow_provider_thordata.testing.thordata_script",
    "ThordataAPIServer": "airflow_provider_thordata.testing.thordata_api",
}

__all__ = ["Fault", "Lifecycle", "RecordedRequest", "ThordataAPIServer"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
