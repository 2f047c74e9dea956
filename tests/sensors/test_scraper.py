"""The scraper task sensor in real DAG runs against the local Thordata API and webhook receiver."""

from __future__ import annotations

import datetime as dt

import pytest
from standardwebhooks.webhooks import Webhook

from airflow_provider_thordata import WebhookIntegration
from airflow_provider_thordata.sensors.scraper import ThordataScraperTaskSensor, task_ids

pytestmark = [pytest.mark.timeout(90)]

START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def integrations(**overrides):
    return [
        WebhookIntegration(name="orders-sink", webhook_conn_id="orders_webhook", **overrides),
    ]


def sensor_dag(dag_id, scraper_task_id, **sensor_kwargs):
    from airflow.sdk import DAG

    sensor_kwargs.setdefault("integrations", integrations())
    sensor_kwargs.setdefault("poll_interval", 0.05)
    with DAG(dag_id, schedule=None, start_date=START, catchup=False) as dag:
        ThordataScraperTaskSensor(task_id="watch", scraper_task_id=scraper_task_id, **sensor_kwargs)
    return dag


def events(receiver, path="/orders"):
    return [
        (delivery.json()["eventType"], delivery.json()["eventData"]["taskId"])
        for delivery in receiver.deliveries
        if delivery.path == path
    ]


def task_state(run, task_id="watch"):
    (ti,) = [ti for ti in run.get_task_instances() if ti.task_id == task_id]
    return ti.state


def xcom(run, task_id="watch"):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key="return_value")
        ).first()
        return None if row is None else XComModel.deserialize_value(row)


def test_created_running_succeeded_emits_running_then_succeeded_and_returns_records(
    dag_runner, thordata_server, receiver
):
    thordata_server.script_lifecycle(steps=[("Pending", 1), ("Running", 1), ("Ready", None)])
    scraper_task = thordata_server.add_task()

    run = dag_runner(sensor_dag("sensor_happy_path", scraper_task))

    assert task_state(run) == "success"
    assert events(receiver) == [
        ("SCRAPER.TASK.RUNNING", scraper_task),
        ("SCRAPER.TASK.SUCCEEDED", scraper_task),
    ]
    (record,) = xcom(run)
    assert record["taskId"] == scraper_task
    assert record["jsonUrl"].startswith("http://127.0.0.1")
    assert thordata_server.scraper_token not in str(record)


def test_deliveries_are_signed_with_the_connection_secret_and_carry_stable_dispatch_ids(
    dag_runner, thordata_server, receiver
):
    scraper_task = thordata_server.add_task()

    dag_runner(sensor_dag("sensor_signed", scraper_task))

    verifier = Webhook(receiver.secret)
    for delivery in receiver.deliveries:
        assert delivery.signature_valid is True
        verifier.verify(delivery.body, dict(delivery.headers))
        assert delivery.headers["webhook-id"] == delivery.dispatch_id
    assert len({delivery.dispatch_id for delivery in receiver.deliveries}) == 2


def test_a_task_seen_pending_then_finished_still_emits_running_first_marked_inferred(
    dag_runner, thordata_server, receiver
):
    thordata_server.script_lifecycle(steps=[("Pending", 1), ("Ready", None)])
    scraper_task = thordata_server.add_task()

    run = dag_runner(sensor_dag("sensor_inferred", scraper_task))

    assert task_state(run) == "success"
    running, succeeded = [delivery.json() for delivery in receiver.deliveries]
    assert running["eventType"] == "SCRAPER.TASK.RUNNING"
    assert running["eventData"]["inferred"] is True
    assert running["eventData"]["previousStatus"] == "pending"
    assert succeeded["eventType"] == "SCRAPER.TASK.SUCCEEDED"
    assert succeeded["eventData"]["inferred"] is False


def test_a_failed_task_emits_task_failed_and_fails_the_sensor(dag_runner, thordata_server, receiver):
    thordata_server.script_lifecycle(steps=[("Running", 1), ("Failed", None)])
    scraper_task = thordata_server.add_task()

    run = dag_runner(sensor_dag("sensor_failed", scraper_task))

    assert task_state(run) == "failed"
    assert events(receiver) == [
        ("SCRAPER.TASK.RUNNING", scraper_task),
        ("SCRAPER.TASK.FAILED", scraper_task),
    ]


def test_an_empty_result_is_a_failure_unless_the_user_opts_out(dag_runner, thordata_server, receiver):
    thordata_server.script_lifecycle(steps=[("Running", 1), ("Ready", None)], empty_result=True)
    strict = thordata_server.add_task()
    lenient = thordata_server.add_task()

    strict_run = dag_runner(sensor_dag("sensor_empty_strict", strict))
    lenient_run = dag_runner(sensor_dag("sensor_empty_lenient", lenient, empty_result_is_failure=False))

    assert task_state(strict_run) == "failed"
    assert task_state(lenient_run) == "success"
    assert ("SCRAPER.TASK.FAILED", strict) in events(receiver)
    assert ("SCRAPER.TASK.SUCCEEDED", lenient) in events(receiver)


def test_several_tasks_are_watched_with_one_status_call_per_poll(dag_runner, thordata_server, receiver):
    thordata_server.script_lifecycle(steps=[("Running", 2), ("Ready", None)])
    watched = [thordata_server.add_task() for _ in range(3)]

    run = dag_runner(sensor_dag("sensor_many", watched))

    assert task_state(run) == "success"
    assert [record["taskId"] for record in xcom(run)] == watched
    for scraper_task in watched:
        assert events(receiver).count(("SCRAPER.TASK.RUNNING", scraper_task)) == 1
        assert events(receiver).count(("SCRAPER.TASK.SUCCEEDED", scraper_task)) == 1
    assert all(len(request.task_ids) == 3 for request in thordata_server.requests("tasks-status"))


def test_pokes_of_one_run_read_the_thordata_connection_once(
    dag_runner, thordata_server, receiver, thordata_connection_reads
):
    thordata_server.script_lifecycle(steps=[("Running", 2), ("Ready", None)])
    scraper_task = thordata_server.add_task()

    run = dag_runner(sensor_dag("sensor_one_read", scraper_task))

    assert task_state(run) == "success"
    assert len(thordata_server.requests("tasks-status")) >= 2
    assert thordata_connection_reads == ["thordata_default"]


def test_deferrable_mode_emits_the_same_events_from_the_worker(dag_runner, thordata_server, receiver):
    thordata_server.script_lifecycle(steps=[("Pending", 1), ("Running", 2), ("Ready", None)])
    scraper_task = thordata_server.add_task()

    run = dag_runner(sensor_dag("sensor_deferrable", scraper_task, deferrable=True))

    assert task_state(run) == "success"
    assert events(receiver) == [
        ("SCRAPER.TASK.RUNNING", scraper_task),
        ("SCRAPER.TASK.SUCCEEDED", scraper_task),
    ]
    assert xcom(run)[0]["taskId"] == scraper_task


def test_reschedule_mode_remembers_emitted_events_between_pokes(dag_runner, thordata_server, receiver):
    thordata_server.script_lifecycle(steps=[("Running", 2), ("Ready", None)])
    scraper_task = thordata_server.add_task()

    run = dag_runner(sensor_dag("sensor_reschedule", scraper_task, mode="reschedule", poll_interval=0.1))

    assert task_state(run) == "success"
    assert events(receiver) == [
        ("SCRAPER.TASK.RUNNING", scraper_task),
        ("SCRAPER.TASK.SUCCEEDED", scraper_task),
    ]


def test_fan_out_renders_each_integration_with_its_own_templates(dag_runner, thordata_server, receiver):
    scraper_task = thordata_server.add_task()
    custom = WebhookIntegration(
        name="audit",
        webhook_conn_id="audit_webhook",
        event_types=["TASK_SUCCEEDED"],
        payload_template=(
            '{"task": "{{resource.taskId}}", "dag": "{{airflow.dag_id}}", "rows": {{resource.fileSize}}}'
        ),
        headers_template='{"X-Task": "{{resource.taskId}}", "X-Event": "{{eventType}}"}',
    )

    dag_runner(sensor_dag("sensor_fan_out", scraper_task, integrations=[*integrations(), custom]))

    (audit,) = [delivery for delivery in receiver.deliveries if delivery.path == "/audit"]
    assert audit.json() == {"task": scraper_task, "dag": "sensor_fan_out", "rows": audit.json()["rows"]}
    assert audit.json()["rows"] > 0
    assert audit.headers["X-Task"] == scraper_task
    assert audit.headers["X-Event"] == "SCRAPER.TASK.SUCCEEDED"
    assert audit.integration == "audit"
    assert len(events(receiver, "/orders")) == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", ["abc"]),
        (" a, b ,a ", ["a", "b"]),
        (["x", "y"], ["x", "y"]),
        (("x",), ["x"]),
    ],
)
def test_scraper_task_ids_accept_one_id_a_comma_separated_string_or_a_list(value, expected):
    assert task_ids(value) == expected


@pytest.mark.parametrize("value", ["", " , ", [], [""], [1], None])
def test_scraper_task_ids_refuse_values_naming_no_task(value):
    with pytest.raises(ValueError, match="scraper_task_id"):
        task_ids(value)


def test_an_airflow_retry_sends_only_the_events_not_yet_delivered_with_the_same_ids_and_bodies(
    dag_runner, thordata_server, receiver
):
    from airflow_provider_thordata.testing import Reply

    thordata_server.script_lifecycle(steps=[("Running", 1), ("Ready", None)])
    scraper_task = thordata_server.add_task()
    failed_once = []

    def answer(delivery):
        if delivery.json()["eventType"] == "SCRAPER.TASK.SUCCEEDED" and not failed_once:
            failed_once.append(delivery)
            return Reply(503)
        return Reply(200)

    receiver.respond_with(answer)

    run = dag_runner(sensor_dag("sensor_retry", scraper_task, retries=1, retry_delay=dt.timedelta(0)))

    assert task_state(run) == "success"
    assert events(receiver) == [
        ("SCRAPER.TASK.RUNNING", scraper_task),
        ("SCRAPER.TASK.SUCCEEDED", scraper_task),
        ("SCRAPER.TASK.SUCCEEDED", scraper_task),
    ]
    _, first, second = receiver.deliveries
    assert (first.reply.status, second.reply.status) == (503, 200)
    assert first.dispatch_id == second.dispatch_id
    assert first.body == second.body


def test_soft_fail_skips_the_sensor_when_a_watched_task_fails(dag_runner, thordata_server, receiver):
    thordata_server.script_lifecycle(steps=[("Failed", None)])
    scraper_task = thordata_server.add_task()

    run = dag_runner(sensor_dag("sensor_soft_fail", scraper_task, soft_fail=True))

    assert task_state(run) == "skipped"
    assert ("SCRAPER.TASK.FAILED", scraper_task) in events(receiver)


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferrable"])
def test_a_task_that_never_ends_times_the_sensor_out_after_its_running_event(
    dag_runner, thordata_server, receiver, deferrable
):
    thordata_server.script_lifecycle(steps=[("Running", None)])
    scraper_task = thordata_server.add_task()

    run = dag_runner(
        sensor_dag(
            f"sensor_timeout_{deferrable}", scraper_task, timeout=1, poll_interval=0.2, deferrable=deferrable
        )
    )

    assert task_state(run) == "failed"
    assert events(receiver) == [("SCRAPER.TASK.RUNNING", scraper_task)]
