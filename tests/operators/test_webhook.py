"""The webhook operator in real DAG runs: one event, values from XCom, records as XCom."""

from __future__ import annotations

import pytest

from airflow_provider_thordata import LifecycleEvent, WebhookIntegration
from airflow_provider_thordata.operators.webhook import ThordataWebhookOperator
from tests.sensors.test_scraper import START, task_state, xcom

pytestmark = [pytest.mark.timeout(90)]

ORDERS = WebhookIntegration(name="orders-sink", webhook_conn_id="orders_webhook")


def test_sends_an_event_built_from_xcom_and_returns_the_delivery_records(dag_runner, receiver):
    from airflow.sdk import DAG, task

    with DAG("webhook_from_xcom", schedule=None, start_date=START, catchup=False) as dag:

        @task
        def produce():
            return {"taskId": "t-42", "fileSize": 1765, "jsonUrl": "https://files.example/t-42.json"}

        record = produce()
        send = ThordataWebhookOperator(
            task_id="send",
            event_type="TASK_SUCCEEDED",
            integrations=[ORDERS],
            resource=record,
            event_data={"taskId": "{{ ti.xcom_pull(task_ids='produce')['taskId'] }}"},
            scraper_task_id="t-42",
            user_id="3406",
        )
        record >> send

    run = dag_runner(dag)

    assert task_state(run, "send") == "success"
    (delivery,) = receiver.deliveries
    assert delivery.json() == {
        "userId": "3406",
        "createdAt": delivery.json()["createdAt"],
        "eventType": "SCRAPER.TASK.SUCCEEDED",
        "eventData": {"taskId": "t-42"},
        "resource": {"taskId": "t-42", "fileSize": 1765, "jsonUrl": "https://files.example/t-42.json"},
    }
    (returned,) = xcom(run, "send")
    assert returned["dispatch_id"] == delivery.dispatch_id
    assert returned["outcome"] == "delivered"
    assert returned["status_code"] == 200
    assert returned["event_type"] == "SCRAPER.TASK.SUCCEEDED"


def test_a_resource_rendered_as_json_text_is_read_as_an_object(dag_runner, receiver):
    from airflow.sdk import DAG

    with DAG("webhook_json_text", schedule=None, start_date=START, catchup=False) as dag:
        ThordataWebhookOperator(
            task_id="send",
            event_type=LifecycleEvent.TEST,
            integrations=[ORDERS],
            resource='{{ {"taskId": dag.dag_id} | tojson }}',
        )

    dag_runner(dag)

    (delivery,) = receiver.deliveries
    assert delivery.json()["resource"] == {"taskId": "webhook_json_text"}
    assert delivery.json()["eventType"] == "TEST"


def test_a_resource_that_is_not_json_fails_with_a_message_saying_how_to_pass_it(dag_runner, receiver):
    from airflow.sdk import DAG

    with DAG("webhook_bad_resource", schedule=None, start_date=START, catchup=False) as dag:
        ThordataWebhookOperator(
            task_id="send", event_type="TEST", integrations=[ORDERS], resource="{{ dag.dag_id }}"
        )

    run = dag_runner(dag)

    assert task_state(run, "send") == "failed"
    assert receiver.deliveries == []


def test_an_unknown_event_type_fails_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match=r"Unknown event type 'TASK_DONE': use one of CREATION_SUCCEEDED"):
        ThordataWebhookOperator(task_id="send", event_type="TASK_DONE", integrations=[ORDERS])


def test_the_operator_needs_an_integration():
    with pytest.raises(ValueError, match="needs at least one integration"):
        ThordataWebhookOperator(task_id="send", event_type="TEST", integrations=[])
