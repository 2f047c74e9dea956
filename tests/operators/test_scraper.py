"""The scraper task operator in real DAG runs: creation, durability across retries, waiting."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from airflow_provider_thordata import WebhookIntegration
from airflow_provider_thordata.operators.scraper import ThordataScraperTaskOperator
from airflow_provider_thordata.testing import Reply
from tests.sensors.test_scraper import START, events, task_state, xcom

pytestmark = [pytest.mark.timeout(120)]

PRODUCT = {"url": "https://www.amazon.com/dp/B0DPMHRZ1W"}


def operator_dag(dag_id, **operator_kwargs):
    from airflow.sdk import DAG

    operator_kwargs.setdefault(
        "integrations", [WebhookIntegration(name="orders-sink", webhook_conn_id="orders_webhook")]
    )
    operator_kwargs.setdefault("poll_interval", 0.05)
    with DAG(dag_id, schedule=None, start_date=START, catchup=False) as dag:
        ThordataScraperTaskOperator(
            task_id="create",
            spider_id="amazon_product_by-url",
            spider_name="amazon.com",
            parameters=PRODUCT,
            **operator_kwargs,
        )
    return dag


def test_creates_a_task_returns_its_id_and_emits_creation_succeeded(dag_runner, thordata_server, receiver):
    run = dag_runner(operator_dag("create_once"))

    assert task_state(run, "create") == "success"
    (created,) = thordata_server.task_ids
    assert xcom(run, "create") == created
    (delivery,) = receiver.deliveries
    body = delivery.json()
    assert body["eventType"] == "SCRAPER.TASK.CREATED"
    assert body["eventData"] == {
        "spiderId": "amazon_product_by-url",
        "spiderName": "amazon.com",
        "taskId": created,
    }
    assert body["userId"] == thordata_server.user_id
    (builder_call,) = thordata_server.requests("builder")
    assert json.loads(builder_call.form["spider_parameters"]) == [PRODUCT]


def test_a_failed_creation_emits_creation_failed_with_the_error_and_fails(
    dag_runner, thordata_server, receiver, monkeypatch
):
    connection = json.loads(thordata_server.connection_json())
    connection["password"] = "not-the-scraper-token"
    monkeypatch.setenv("AIRFLOW_CONN_THORDATA_DEFAULT", json.dumps(connection))

    run = dag_runner(operator_dag("create_fails"))

    assert task_state(run, "create") == "failed"
    (delivery,) = receiver.deliveries
    body = delivery.json()
    assert body["eventType"] == "SCRAPER.TASK.CREATION_FAILED"
    assert body["eventData"]["error"]["code"] == 10014
    assert "Scraper token" in body["eventData"]["error"]["message"]
    assert "not-the-scraper-token" not in delivery.body.decode()
    assert thordata_server.task_ids == []


def test_an_airflow_retry_reuses_the_created_task_and_resends_only_what_failed(
    dag_runner, thordata_server, receiver
):
    receiver.reply(Reply(500))  # the first CREATION_SUCCEEDED delivery fails, then all succeed

    run = dag_runner(operator_dag("create_retry", retries=1, retry_delay=dt.timedelta(0)))

    assert task_state(run, "create") == "success"
    assert thordata_server.count("builder") == 1
    (created,) = thordata_server.task_ids
    assert xcom(run, "create") == created
    first, second = receiver.deliveries
    assert (first.reply.status, second.reply.status) == (500, 200)
    assert first.dispatch_id == second.dispatch_id
    assert first.body == second.body


def test_a_retry_does_not_resend_an_event_that_was_delivered(dag_runner, thordata_server, receiver):
    audit = WebhookIntegration(
        name="audit", webhook_conn_id="audit_webhook", event_types=["CREATION_SUCCEEDED"]
    )
    orders = WebhookIntegration(name="orders-sink", webhook_conn_id="orders_webhook")
    receiver.respond_with(
        lambda delivery: (
            Reply(503) if delivery.path == "/audit" and not _seen(receiver, "/audit") else Reply(200)
        )
    )

    run = dag_runner(
        operator_dag("create_partial", integrations=[orders, audit], retries=1, retry_delay=dt.timedelta(0))
    )

    assert task_state(run, "create") == "success"
    assert [delivery.path for delivery in receiver.deliveries].count("/orders") == 1
    assert [delivery.path for delivery in receiver.deliveries].count("/audit") == 2


def _seen(receiver, path):
    return sum(1 for delivery in receiver.deliveries if delivery.path == path) > 0


@pytest.mark.parametrize("deferrable", [False, True], ids=["poll", "deferrable"])
def test_wait_for_completion_watches_the_created_task_to_the_end(
    dag_runner, thordata_server, receiver, deferrable
):
    thordata_server.script_lifecycle(steps=[("Running", 2), ("Ready", None)])

    run = dag_runner(
        operator_dag(f"create_and_wait_{deferrable}", wait_for_completion=True, deferrable=deferrable)
    )

    assert task_state(run, "create") == "success"
    (created,) = thordata_server.task_ids
    assert events(receiver) == [
        ("SCRAPER.TASK.CREATED", created),
        ("SCRAPER.TASK.RUNNING", created),
        ("SCRAPER.TASK.SUCCEEDED", created),
    ]
    succeeded = receiver.deliveries[-1].json()
    assert succeeded["eventData"]["spiderName"] == "amazon.com"


def test_creating_and_waiting_read_the_thordata_connection_once(
    dag_runner, thordata_server, receiver, thordata_connection_reads
):
    thordata_server.script_lifecycle(steps=[("Running", 2), ("Ready", None)])

    run = dag_runner(operator_dag("create_wait_one_read", wait_for_completion=True))

    assert task_state(run, "create") == "success"
    assert len(thordata_server.requests("tasks-status")) >= 2
    assert thordata_connection_reads == ["thordata_default"]


def test_wait_for_completion_fails_when_the_task_fails(dag_runner, thordata_server, receiver):
    thordata_server.script_lifecycle(steps=[("Running", 1), ("Failed", None)])

    run = dag_runner(operator_dag("create_and_fail", wait_for_completion=True))

    assert task_state(run, "create") == "failed"
    assert [event for event, _ in events(receiver)] == [
        "SCRAPER.TASK.CREATED",
        "SCRAPER.TASK.RUNNING",
        "SCRAPER.TASK.FAILED",
    ]
