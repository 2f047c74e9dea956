"""Notify webhooks from Airflow callbacks: on task failure, on task success, on a missed deadline.

``scrape_product`` creates a Thordata task and waits for it (``wait_for_completion``, in the
triggerer). When it fails, the ``on-call`` integration gets a ``SCRAPER.TASK.FAILED`` event
with the error; when it succeeds, the ``data-team`` integration gets ``SCRAPER.TASK.SUCCEEDED``
with the scraper task id. If the run is still going an hour after it was queued, a deadline
alert sends ``on-call`` a ``SCRAPER.TASK.FAILED`` event from the triggerer.

Connections: ``thordata_default`` (type ``thordata``), ``on_call_webhook`` and
``data_team_webhook`` (type ``thordata_webhook``). ``THORDATA_EXAMPLE_POLL_INTERVAL`` sets the
seconds between polls (default 30), read when the file is parsed without touching the network.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, AsyncCallback, DeadlineAlert, DeadlineReference

from airflow_provider_thordata import WebhookIntegration
from airflow_provider_thordata.notifications.webhook import ThordataWebhookNotifier
from airflow_provider_thordata.operators.scraper import ThordataScraperTaskOperator

POLL_INTERVAL = float(os.environ.get("THORDATA_EXAMPLE_POLL_INTERVAL", "30"))

# [START howto_callback_integrations]
ON_CALL = WebhookIntegration(
    name="on-call",
    webhook_conn_id="on_call_webhook",
    payload_template="""{
        "text": "{{airflow.dag_id}} needs a look: {{eventData.reason | default(eventData.exception)}}",
        "run": "{{airflow.run_id}}",
        "task": "{{airflow.task_id}}",
        "details": {{eventData}}
    }""",
)
DATA_TEAM = WebhookIntegration(
    name="data-team",
    webhook_conn_id="data_team_webhook",
    payload_template="""{
        "text": "Fresh product data from Thordata task {{eventData.taskId}}",
        "run": "{{airflow.run_id}}",
        "state": "{{eventData.state}}"
    }""",
)
# [END howto_callback_integrations]

# [START howto_notifier_callbacks]
with DAG(
    dag_id="example_thordata_callbacks",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    default_args={"owner": "data-platform", "retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["thordata", "example"],
    # Runs in the triggerer when the run is not done an hour after it was queued. Callback
    # arguments are stored with the serialized DAG, so the integration goes as a dict.
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(hours=1),
        callback=AsyncCallback(
            ThordataWebhookNotifier,
            kwargs={
                "event_type": "TASK_FAILED",
                "integrations": [ON_CALL.to_dict()],
                "event_data": {"reason": "the scrape did not finish within an hour"},
            },
        ),
    ),
):
    ThordataScraperTaskOperator(
        task_id="scrape_product",
        spider_id="amazon_product_by-url",
        spider_name="amazon.com",
        parameters={"url": "https://www.amazon.com/dp/B0DPMHRZ1W"},
        wait_for_completion=True,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        on_failure_callback=ThordataWebhookNotifier(event_type="TASK_FAILED", integrations=[ON_CALL]),
        on_success_callback=ThordataWebhookNotifier(
            event_type="TASK_SUCCEEDED",
            integrations=[DATA_TEAM],
            # Notifier fields are templated: the scraper task id comes from the task's XCom.
            scraper_task_id="{{ ti.xcom_pull(task_ids='scrape_product') }}",
            event_data={"taskId": "{{ ti.xcom_pull(task_ids='scrape_product') }}"},
        ),
    )
# [END howto_notifier_callbacks]
