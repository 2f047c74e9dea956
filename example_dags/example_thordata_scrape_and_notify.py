"""Scrape one Amazon product page with Thordata, notify two webhooks of every step, fetch the result.

``create_scraper_task`` creates a task for the ``amazon_product_by-url`` spider,
``wait_for_scraper_task`` follows it from the triggerer (deferrable), and ``fetch_result`` reads
the result file. Every lifecycle event fans out to two integrations: ``dashboard`` posts the
seed's default payload, ``data-team`` a custom payload with custom headers.

Connections: ``thordata_default`` (type ``thordata``), ``thordata_webhook_default`` and
``data_team_webhook`` (type ``thordata_webhook``).

The environment variable ``THORDATA_EXAMPLE_POLL_INTERVAL`` sets the seconds between status
polls (default 30); ``make demo`` sets it low against its local stand-ins. It is read when the
file is parsed, which costs nothing: no connection, Variable or network is touched then.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_thordata import WebhookIntegration
from airflow_provider_thordata.operators.scraper import ThordataScraperTaskOperator
from airflow_provider_thordata.sensors.scraper import ThordataScraperTaskSensor

POLL_INTERVAL = float(os.environ.get("THORDATA_EXAMPLE_POLL_INTERVAL", "30"))

# [START howto_webhook_integrations]
# The seed's default payload, for every event of the scraper task's life.
DASHBOARD = WebhookIntegration(name="dashboard", webhook_conn_id="thordata_webhook_default")

# A payload and headers of your own, for the events the watch observes. Templates are checked
# now, when the DAG is parsed: a typo fails the DAG with its line and column.
DATA_TEAM = WebhookIntegration(
    name="data-team",
    webhook_conn_id="data_team_webhook",
    event_types=["RUNNING", "TASK_SUCCEEDED", "TASK_FAILED"],
    payload_template="""{
        "text": "Thordata task {{resource.taskId}} is {{eventData.normalizedStatus}}",
        "event": "{{eventType}}",
        "task": {
            "id": "{{resource.taskId}}",
            "spider": "{{resource.spiderId}}",
            "bytes": {{resource.fileSize}},
            "json": "{{resource.jsonUrl}}"
        },
        "observed": {"iso": "{{globals.dateISO}}", "unix": {{globals.dateUnix}}},
        "airflow": {"dag": "{{airflow.dag_id}}", "run": "{{airflow.run_id}}", "try": {{airflow.try_number}}}
    }""",
    headers_template="""{
        "X-Thordata-Task": "{{resource.taskId}}",
        "X-Airflow-Run": "{{airflow.dag_id}}/{{airflow.run_id}}",
        "X-Event-Time": "{{globals.dateUnix}}"
    }""",
)
# [END howto_webhook_integrations]

# [START howto_scrape_and_notify]
with DAG(
    dag_id="example_thordata_scrape_and_notify",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    default_args={"owner": "data-platform", "retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["thordata", "example"],
):
    # Creates the task once: an Airflow retry reuses it instead of paying for another.
    create = ThordataScraperTaskOperator(
        task_id="create_scraper_task",
        spider_id="amazon_product_by-url",
        spider_name="amazon.com",
        parameters={"url": "https://www.amazon.com/dp/B0DPMHRZ1W"},
        integrations=[DASHBOARD, DATA_TEAM],
    )

    # Waits in the triggerer, not in a worker slot; returns the task's resource record.
    wait = ThordataScraperTaskSensor(
        task_id="wait_for_scraper_task",
        scraper_task_id=create.output,
        integrations=[DASHBOARD, DATA_TEAM],
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=2).total_seconds(),
    )

    @task
    def fetch_result(records: list[dict[str, Any]]) -> dict[str, Any]:
        """Read the JSON result file of the scraper task and summarise it."""
        from airflow_provider_thordata.hooks.thordata import ThordataHook

        (record,) = records
        data = json.loads(ThordataHook().download_result(record["taskId"], file_type="json"))
        rows = data if isinstance(data, list) else [data]
        return {"taskId": record["taskId"], "rows": len(rows), "first": rows[0] if rows else None}

    fetch_result(wait.output)
# [END howto_scrape_and_notify]
