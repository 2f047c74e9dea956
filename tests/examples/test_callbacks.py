"""The callbacks example: the notifier on failure, on success, and as a deadline alert."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_thordata.events import LifecycleEvent, dispatch_id
from tests.examples.conftest import deliveries_to, parse_example, stand_ins
from tests.sensors.test_scraper import task_state

pytestmark = [pytest.mark.timeout(120)]

DAG_ID = "example_thordata_callbacks"
REASON = "the scrape did not finish within an hour"


@pytest.fixture
def succeeded_run(dag_runner):
    with stand_ins() as servers:
        servers.api.script_lifecycle(steps=[("Running", 1), ("Ready", None)])
        dag = parse_example(DAG_ID)
        # dag.test() in Airflow 3.3.2 fails at the end of a successful run of a DAG with a
        # deadline alert (apache/airflow#73428: it looks the alerts up by their serialized form
        # instead of their id); the scheduler does not. The deadline has its own test below.
        dag.deadline = None
        yield dag_runner(dag), servers


@pytest.fixture(scope="module")
def failed_run(dag_runner):
    with stand_ins() as servers:
        servers.api.script_lifecycle(steps=[("Running", 1), ("Failed", None)])
        yield dag_runner(parse_example(DAG_ID)), servers


def test_a_succeeded_scrape_notifies_the_data_team_with_the_scraper_task_id(succeeded_run):
    run, servers = succeeded_run
    (scraper_task,) = servers.api.task_ids

    assert task_state(run, "scrape_product") == "success"
    assert deliveries_to(servers.webhooks, "on_call_webhook") == []
    (delivery,) = deliveries_to(servers.webhooks, "data_team_webhook")
    assert delivery.json() == {
        "text": f"Fresh product data from Thordata task {scraper_task}",
        "run": run.run_id,
        "state": "success",
    }
    assert delivery.signature_valid is True
    assert delivery.dispatch_id == dispatch_id(
        dag_id=DAG_ID,
        run_id=run.run_id,
        task_id="scrape_product",
        map_index=-1,
        scraper_task_id=scraper_task,
        event=LifecycleEvent.TASK_SUCCEEDED,
        integration="data-team",
    )


def test_a_failed_scrape_notifies_on_call_with_the_error(failed_run):
    run, servers = failed_run
    (scraper_task,) = servers.api.task_ids

    assert task_state(run, "scrape_product") == "failed"
    assert deliveries_to(servers.webhooks, "data_team_webhook") == []
    (delivery,) = deliveries_to(servers.webhooks, "on_call_webhook")
    body = delivery.json()
    assert body["text"].startswith(
        f"{DAG_ID} needs a look: AirflowFailException: Thordata task(s) {scraper_task}"
    )
    assert (body["run"], body["task"]) == (run.run_id, "scrape_product")
    assert body["details"]["state"] == "failed"
    assert delivery.integration == "on-call"
    assert delivery.signature_valid is True


def test_a_missed_deadline_notifies_on_call_from_the_triggerer(failed_run):
    from airflow.api_fastapi.core_api.datamodels.dag_run import DAGRunResponse
    from airflow.models import DagRun
    from airflow.serialization.decoders import decode_deadline_alert
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.triggers.callback import CallbackTrigger
    from airflow.utils.session import create_session

    run, servers = failed_run
    before = len(deliveries_to(servers.webhooks, "on_call_webhook"))
    # The alert as the scheduler stores it, and the context it hands a missed deadline's callback.
    # (dag.test() never queues the run, so a DAGRUN_QUEUED_AT deadline is not created there.)
    stored = DagSerialization.from_dict(DagSerialization.to_dict(parse_example(DAG_ID)))
    (encoded,) = stored.deadline
    callback = decode_deadline_alert(encoded).callback
    with create_session() as session:
        dag_run = DAGRunResponse.model_validate(session.get(DagRun, run.id)).model_dump(mode="json")
    context = {
        "dag_run": dag_run,
        "deadline": {"id": "0198f0f4-deadline", "deadline_time": "2026-01-01T01:00:00+00:00"},
    }
    trigger = CallbackTrigger(
        callback_path=callback.path, callback_kwargs={**callback.kwargs, "context": context}
    )

    async def fire():
        return [event.payload async for event in trigger.run()]

    payloads = asyncio.run(asyncio.wait_for(fire(), timeout=30))

    assert payloads[-1]["state"] == "success", payloads
    (delivery,) = deliveries_to(servers.webhooks, "on_call_webhook")[before:]
    body = delivery.json()
    assert body["text"] == f"{DAG_ID} needs a look: {REASON}"
    assert body["details"]["reason"] == REASON
    assert body["details"]["deadline"] == context["deadline"]
    assert (body["run"], body["task"]) == (run.run_id, None)
    assert delivery.integration == "on-call"
    assert delivery.signature_valid is True
    assert delivery.dispatch_id == dispatch_id(
        dag_id=DAG_ID,
        run_id=run.run_id,
        task_id=None,
        map_index=-1,
        scraper_task_id=f"deadline:{context['deadline']['id']}",  # two missed deadlines, two ids
        event=LifecycleEvent.TASK_FAILED,
        integration="on-call",
    )
