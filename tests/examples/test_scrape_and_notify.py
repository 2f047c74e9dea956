"""The scrape-and-notify example, run with ``dag.test()`` against the local stand-ins."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from standardwebhooks.webhooks import Webhook

from airflow_provider_thordata.events import LifecycleEvent, dispatch_id
from tests.examples.conftest import PRODUCT_ROW, deliveries_to, parse_example, stand_ins
from tests.sensors.test_scraper import task_state, xcom

pytestmark = [pytest.mark.timeout(120)]

DAG_ID = "example_thordata_scrape_and_notify"
DEFAULT_PAYLOAD_KEYS = {"userId", "createdAt", "eventType", "eventData", "resource"}


@pytest.fixture(scope="module")
def servers():
    with stand_ins() as running:
        yield running


@pytest.fixture(scope="module")
def thordata_server(servers):
    return servers.api


@pytest.fixture(scope="module")
def webhooks(servers):
    return servers.webhooks


@pytest.fixture(scope="module")
def finished_run(dag_runner, servers):
    servers.api.script_lifecycle(
        steps=[("Pending", 1), ("Running", 2), ("Ready", None)], result_rows=[PRODUCT_ROW]
    )
    run = dag_runner(parse_example(DAG_ID))
    (scraper_task,) = servers.api.task_ids
    return run, scraper_task


def test_the_run_succeeds_and_creates_one_scraper_task_for_the_product_url(finished_run, thordata_server):
    run, scraper_task = finished_run

    assert {ti.task_id: ti.state for ti in run.get_task_instances()} == {
        "create_scraper_task": "success",
        "wait_for_scraper_task": "success",
        "fetch_result": "success",
    }
    info = thordata_server.task_info(scraper_task)
    assert (info["spider_id"], info["spider_name"]) == ("amazon_product_by-url", "amazon.com")
    assert info["parameters"] == [{"url": "https://www.amazon.com/dp/B0DPMHRZ1W"}]
    assert thordata_server.count("builder") == 1


def test_the_dashboard_gets_every_event_in_lifecycle_order_with_the_default_payload(finished_run, webhooks):
    _, scraper_task = finished_run

    bodies = [delivery.json() for delivery in deliveries_to(webhooks, "thordata_webhook_default")]

    assert [body["eventType"] for body in bodies] == [
        "SCRAPER.TASK.CREATED",
        "SCRAPER.TASK.RUNNING",
        "SCRAPER.TASK.SUCCEEDED",
    ]
    assert all(set(body) == DEFAULT_PAYLOAD_KEYS for body in bodies)
    assert {body["eventData"]["taskId"] for body in bodies} == {scraper_task}
    assert bodies[-1]["resource"]["taskId"] == scraper_task
    assert bodies[-1]["resource"]["fileSize"] > 0


def test_the_data_team_gets_the_watch_events_rendered_with_its_own_template(
    finished_run, webhooks, thordata_server
):
    run, scraper_task = finished_run

    running, succeeded = deliveries_to(webhooks, "data_team_webhook")

    assert [running.json()["event"], succeeded.json()["event"]] == [
        "SCRAPER.TASK.RUNNING",
        "SCRAPER.TASK.SUCCEEDED",
    ]
    body = succeeded.json()
    assert body["text"] == f"Thordata task {scraper_task} is succeeded"
    assert body["task"] == {
        "id": scraper_task,
        "spider": "amazon_product_by-url",
        "bytes": len(json.dumps([PRODUCT_ROW]).encode()),
        "json": f"{thordata_server.base_url}/files/{scraper_task}.json",
    }
    assert body["airflow"] == {"dag": DAG_ID, "run": run.run_id, "try": 1}
    observed = dt.datetime.fromisoformat(body["observed"]["iso"].replace("Z", "+00:00"))
    assert int(observed.timestamp()) == body["observed"]["unix"]
    assert succeeded.headers["X-Thordata-Task"] == scraper_task
    assert succeeded.headers["X-Airflow-Run"] == f"{DAG_ID}/{run.run_id}"
    assert succeeded.headers["X-Event-Time"] == str(body["observed"]["unix"])
    assert running.json()["task"]["bytes"] == 0


def test_every_delivery_is_signed_and_verifies_with_the_standardwebhooks_library(finished_run, webhooks):
    verifier = Webhook(webhooks.secret)

    for delivery in webhooks.deliveries:
        verifier.verify(delivery.body, dict(delivery.headers))
        assert delivery.signature_valid is True
        assert delivery.headers["webhook-id"] == delivery.dispatch_id

    assert len(webhooks.deliveries) == 5


def test_dispatch_ids_are_unique_and_derived_from_task_event_and_integration(finished_run, webhooks):
    run, scraper_task = finished_run
    created_by = {"SCRAPER.TASK.CREATED": "create_scraper_task"}

    for delivery in webhooks.deliveries:
        event = LifecycleEvent.coerce(delivery.json().get("eventType") or delivery.json()["event"])
        expected = dispatch_id(
            dag_id=DAG_ID,
            run_id=run.run_id,
            task_id=created_by.get(event.wire, "wait_for_scraper_task"),
            map_index=-1,
            scraper_task_id=scraper_task,
            event=event,
            integration=delivery.integration,
        )
        assert delivery.dispatch_id == expected

    assert len({delivery.dispatch_id for delivery in webhooks.deliveries}) == 5
    assert {delivery.integration for delivery in webhooks.deliveries} == {"dashboard", "data-team"}


def test_the_result_file_is_fetched_without_credentials_and_summarised(finished_run, thordata_server):
    run, scraper_task = finished_run

    assert xcom(run, "fetch_result") == {"taskId": scraper_task, "rows": 1, "first": PRODUCT_ROW}
    (file_request,) = thordata_server.requests("files")
    assert {"authorization", "token", "key"}.isdisjoint(file_request.headers)
    assert task_state(run, "fetch_result") == "success"


def test_the_sensor_returns_the_record_without_the_scraping_token(finished_run, thordata_server):
    run, scraper_task = finished_run

    (record,) = xcom(run, "wait_for_scraper_task")

    assert record["taskId"] == scraper_task
    assert thordata_server.scraper_token not in json.dumps(record)
