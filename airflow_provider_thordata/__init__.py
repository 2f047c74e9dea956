"""Apache Airflow provider for Thordata's Web Scraper API and its lifecycle webhooks.

The package root stays light on purpose: Airflow imports it (through
``get_provider_info``) in every scheduler, DAG processor and worker process, so
nothing here imports Airflow, jinja2 or an HTTP client.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
