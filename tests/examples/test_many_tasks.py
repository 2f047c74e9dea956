"""The many-tasks example: one scraper task per URL by dynamic mapping, one sensor for all of them."""

from __future__ import annotations

import pytest

from airflow_provider_thordata.events import LifecycleEvent, dispatch_id
from tests.examples.conftest import PRODUCT_ROW, deliveries_to, parse_example, stand_ins
from tests.sensors.test_scraper import xcom

pytestmark = [pytest.mark.timeout(120)]

DAG_ID = "example_thordata_many_tasks"
URLS = [
    "https://www.amazon.com/dp/B0DPMHRZ1W",
    "https://www.amazon.com/dp/B0BSHF7WHW",
    "https://www.amazon.com/dp/B09B8V1LZ3",
]
LIFECYCLE = ["SCRAPER.TASK.CREATED", "SCRAPER.TASK.RUNNING", "SCRAPER.TASK.SUCCEEDED"]


@pytest.fixture(scope="module")
def finished_run(dag_runner):
    with stand_ins() as servers:
        servers.api.script_lifecycle(steps=[("Running", 2), ("Ready", None)], result_rows=[PRODUCT_ROW])
        run = dag_runner(parse_example(DAG_ID))
        yield run, servers


def url_of(api, scraper_task):
    (parameters,) = api.task_info(scraper_task)["parameters"]
    return parameters["url"]


def test_one_scraper_task_is_created_per_url_by_the_mapped_operator(finished_run):
    run, servers = finished_run

    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}

    assert states == {
        ("product_pages", -1): "success",
        **{("create_scraper_task", index): "success" for index in range(3)},
        ("wait_for_scraper_tasks", -1): "success",
        ("result_sizes", -1): "success",
    }
    assert sorted(url_of(servers.api, task) for task in servers.api.task_ids) == sorted(URLS)
    assert servers.api.count("builder") == 3


def test_every_scraper_task_goes_through_its_events_in_order(finished_run):
    _, servers = finished_run
    deliveries = deliveries_to(servers.webhooks, "thordata_webhook_default")

    for scraper_task in servers.api.task_ids:
        seen = [d.json()["eventType"] for d in deliveries if d.json()["eventData"]["taskId"] == scraper_task]
        assert seen == LIFECYCLE, scraper_task

    assert len(deliveries) == 9
    assert all(delivery.signature_valid is True for delivery in deliveries)


def test_dispatch_ids_name_the_mapped_instance_or_the_sensor_and_never_repeat(finished_run):
    run, servers = finished_run

    for delivery in servers.webhooks.deliveries:
        body = delivery.json()
        scraper_task = body["eventData"]["taskId"]
        created = body["eventType"] == "SCRAPER.TASK.CREATED"
        expected = dispatch_id(
            dag_id=DAG_ID,
            run_id=run.run_id,
            task_id="create_scraper_task" if created else "wait_for_scraper_tasks",
            map_index=URLS.index(url_of(servers.api, scraper_task)) if created else -1,
            scraper_task_id=scraper_task,
            event=LifecycleEvent.coerce(body["eventType"]),
            integration="dashboard",
        )
        assert delivery.dispatch_id == expected

    assert len({delivery.dispatch_id for delivery in servers.webhooks.deliveries}) == 9


def test_the_one_sensor_polls_every_task_in_each_status_call(finished_run):
    _, servers = finished_run

    polls = servers.api.requests("tasks-status")

    assert polls
    assert all(set(request.task_ids) == set(servers.api.task_ids) for request in polls)


def test_the_sensor_records_feed_the_summary_task(finished_run):
    run, servers = finished_run

    sizes = xcom(run, "result_sizes")

    assert set(sizes) == set(servers.api.task_ids)
    assert all(size > 0 for size in sizes.values())
