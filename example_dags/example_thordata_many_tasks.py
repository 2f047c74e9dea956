"""Scrape many product pages at once: one scraper task per URL, one sensor watching them all.

``product_pages`` turns the run's ``product_urls`` param into spider parameters,
``create_scraper_task`` is mapped over them (one Thordata task per URL, created in parallel),
and a single deferrable ``wait_for_scraper_tasks`` follows every created task with one batched
status call per poll. Each event goes to the ``dashboard`` integration with the seed's default
payload; its dispatch id names the scraper task, so a receiver can tell them apart.

Connections: ``thordata_default`` (type ``thordata``) and ``thordata_webhook_default`` (type
``thordata_webhook``). ``THORDATA_EXAMPLE_POLL_INTERVAL`` sets the seconds between polls
(default 30), read when the file is parsed without touching the network.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_thordata import WebhookIntegration
from airflow_provider_thordata.operators.scraper import ThordataScraperTaskOperator
from airflow_provider_thordata.sensors.scraper import ThordataScraperTaskSensor

POLL_INTERVAL = float(os.environ.get("THORDATA_EXAMPLE_POLL_INTERVAL", "30"))

PRODUCT_URLS = [
    "https://www.amazon.com/dp/B0DPMHRZ1W",
    "https://www.amazon.com/dp/B0BSHF7WHW",
    "https://www.amazon.com/dp/B09B8V1LZ3",
]

DASHBOARD = WebhookIntegration(name="dashboard", webhook_conn_id="thordata_webhook_default")


# [START howto_product_pages]
@task
def product_pages(params: dict[str, Any]) -> list[dict[str, str]]:
    """Return one spider parameter object per product URL of this run."""
    return [{"url": url} for url in params["product_urls"]]


# [END howto_product_pages]


@task
def result_sizes(records: list[dict[str, Any]]) -> dict[str, int]:
    """Return the result file size of each scraper task, by task id."""
    return {record["taskId"]: record["fileSize"] for record in records}


with DAG(
    dag_id="example_thordata_many_tasks",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    default_args={"owner": "data-platform", "retries": 2, "retry_delay": timedelta(minutes=1)},
    params={"product_urls": Param(PRODUCT_URLS, type="array", items={"type": "string"}, minItems=1)},
    tags=["thordata", "example"],
):
    # [START howto_many_scraper_tasks]
    # One scraper task per URL: dynamic task mapping creates them in parallel.
    create = ThordataScraperTaskOperator.partial(
        task_id="create_scraper_task",
        spider_id="amazon_product_by-url",
        spider_name="amazon.com",
        integrations=[DASHBOARD],
    ).expand(parameters=product_pages())

    # One sensor for all of them: its trigger polls every id in one tasks-status call.
    wait = ThordataScraperTaskSensor(
        task_id="wait_for_scraper_tasks",
        scraper_task_id=create.output,
        integrations=[DASHBOARD],
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=2).total_seconds(),
    )
    # [END howto_many_scraper_tasks]

    result_sizes(wait.output)
