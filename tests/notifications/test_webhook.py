"""The webhook notifier from task and DAG callbacks, and as a deadline alert callback."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_thordata import WebhookIntegration
from airflow_provider_thordata.notifications.webhook import ThordataWebhookNotifier
from airflow_provider_thordata.testing import Reply
from tests.sensors.test_scraper import START, task_state

pytestmark = [pytest.mark.timeout(90)]

ORDERS = {"name": "orders-sink", "webhook_conn_id": "orders_webhook"}


def failing_dag(dag_id, notifier):
    from airflow.sdk import DAG, task

    with DAG(dag_id, schedule=None, start_date=START, catchup=False) as dag:

        @task(on_failure_callback=notifier)
        def scrape():
            raise RuntimeError("the spider found no product page")

        scrape()
    return dag


def test_a_task_failure_callback_delivers_the_event_with_the_failure_and_the_airflow_variables(
    dag_runner, receiver
):
    notifier = ThordataWebhookNotifier(
        event_type="TASK_FAILED",
        integrations=[
            {
                **ORDERS,
                "payload_template": (
                    '{"event": "{{eventType}}", "why": "{{eventData.exception}}", '
                    '"task": "{{airflow.dag_id}}.{{airflow.task_id}}", "try": {{airflow.try_number}}}'
                ),
            }
        ],
    )

    run = dag_runner(failing_dag("notify_on_failure", notifier))

    assert task_state(run, "scrape") == "failed"
    (delivery,) = receiver.deliveries
    assert delivery.json() == {
        "event": "SCRAPER.TASK.FAILED",
        "why": "RuntimeError: the spider found no product page",
        "task": "notify_on_failure.scrape",
        "try": 1,
    }
    assert delivery.signature_valid is True


def test_a_dag_success_callback_delivers_with_the_run_variables(dag_runner, receiver):
    from airflow.sdk import DAG, task

    notifier = ThordataWebhookNotifier(
        event_type="TASK_SUCCEEDED",
        integrations=[{**ORDERS, "payload_template": '{"run": "{{airflow.run_id}}", "data": {{eventData}}}'}],
    )
    with DAG("notify_dag_success", schedule=None, start_date=START, on_success_callback=notifier) as dag:

        @task
        def scrape():
            return 1

        scrape()

    run = dag_runner(dag)

    (delivery,) = receiver.deliveries
    assert delivery.json()["run"] == run.run_id
    assert delivery.json()["data"]["state"] == "success"


def test_a_failed_delivery_is_logged_and_recorded_by_default_not_raised(receiver):
    receiver.reply(Reply(500))
    notifier = ThordataWebhookNotifier(event_type="TEST", integrations=[ORDERS])
    context = {"dag_run": {"dag_id": "nightly", "run_id": "manual__1", "state": "failed"}}

    notifier.notify(context)

    (record,) = notifier.records
    assert record["outcome"] == "unavailable"
    assert record["status_code"] == 500


def test_an_integration_can_ask_the_notifier_to_raise(receiver):
    from airflow_provider_thordata.exceptions import WebhookDeliveryError

    receiver.reply(Reply(500))
    notifier = ThordataWebhookNotifier(event_type="TEST", integrations=[{**ORDERS, "on_failure": "fail"}])

    with pytest.raises(WebhookDeliveryError, match="orders-sink"):
        notifier.notify({"dag_run": {"dag_id": "nightly", "run_id": "manual__1"}})


def test_a_deadline_alert_runs_the_notifier_in_the_triggerer_with_its_simple_context(receiver):
    from airflow.triggers.callback import CallbackTrigger

    integration = WebhookIntegration(
        name="orders-sink",
        webhook_conn_id="orders_webhook",
        payload_template=(
            '{"event": "{{eventType}}", "run": "{{airflow.run_id}}", "deadline": {{eventData.deadline}}}'
        ),
    )
    trigger = CallbackTrigger(
        callback_path="airflow_provider_thordata.notifications.webhook.ThordataWebhookNotifier",
        callback_kwargs={
            "event_type": "TASK_FAILED",
            "integrations": [integration.to_dict()],
            "context": {
                "dag_run": {"dag_id": "nightly", "run_id": "scheduled__2026-01-01", "state": "running"},
                "deadline": {"id": "d-1", "deadline_time": "2026-01-01T01:00:00+00:00"},
            },
        },
    )

    async def run():
        return [event.payload async for event in trigger.run()]

    payloads = asyncio.run(asyncio.wait_for(run(), timeout=30))

    assert payloads[-1]["state"] == "success", payloads
    (delivery,) = receiver.deliveries
    assert delivery.json() == {
        "event": "SCRAPER.TASK.FAILED",
        "run": "scheduled__2026-01-01",
        "deadline": {"id": "d-1", "deadline_time": "2026-01-01T01:00:00+00:00"},
    }


def test_a_dag_with_a_deadline_alert_serializes_its_notifier_arguments(dag_runner):
    import datetime as dt

    from airflow.sdk import DAG
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference
    from airflow.serialization.serialized_objects import DagSerialization

    with DAG(
        "deadline_alert",
        schedule=None,
        start_date=START,
        deadline=DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=dt.timedelta(hours=1),
            callback=AsyncCallback(
                ThordataWebhookNotifier,
                kwargs={
                    "event_type": "TASK_FAILED",
                    "integrations": [WebhookIntegration(**ORDERS).to_dict()],
                },
            ),
        ),
    ) as dag:
        pass

    serialized = DagSerialization.to_dict(dag)

    assert "ThordataWebhookNotifier" in str(serialized)
    assert "orders_webhook" in str(serialized)


def test_notifier_arguments_are_validated_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="Unknown event type"):
        ThordataWebhookNotifier(event_type="DONE", integrations=[ORDERS])
    with pytest.raises(ValueError, match="at least one integration"):
        ThordataWebhookNotifier(event_type="TEST", integrations=[])


def test_two_missed_deadlines_of_one_run_are_two_distinct_dispatches(receiver):
    notifier_context = {"dag_run": {"dag_id": "nightly", "dag_run_id": "scheduled__2026-01-01"}}

    for deadline_id in ("d-1", "d-2"):
        notifier = ThordataWebhookNotifier(event_type="TASK_FAILED", integrations=[ORDERS])
        notifier.notify({**notifier_context, "deadline": {"id": deadline_id, "deadline_time": "2026-01-01"}})

    first, second = receiver.deliveries
    assert first.dispatch_id != second.dispatch_id
