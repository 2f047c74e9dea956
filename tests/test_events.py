"""The event model: wire names, status to event, the variables of one event and dispatch ids."""

from __future__ import annotations

import enum
import json
import re
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_thordata.delivery import Delivery
from airflow_provider_thordata.events import (
    SCRAPER_TASK_EVENTS,
    LifecycleEvent,
    airflow_variables,
    build_variables,
    dispatch_id,
    event_for_status,
    is_dag_callback,
    iso_timestamp,
    result_is_empty,
)
from airflow_provider_thordata.scraper_api import TaskStatus
from airflow_provider_thordata.templating import DEFAULT_PAYLOAD_TEMPLATE, PayloadTemplate

OBSERVED_AT = datetime(2025, 6, 7, 14, 33, 14, 987654, tzinfo=timezone(timedelta(hours=8)))
SUCCEEDED_RESOURCE = {"taskId": "t-1", "jsonUrl": "http://files/t-1.json", "csvUrl": "", "fileSize": 1765}
DISPATCH_INPUTS: dict[str, Any] = {
    "dag_id": "scrape_and_notify",
    "run_id": "manual__2025-06-07T06:30:00+00:00",
    "task_id": "watch",
    "map_index": -1,
    "scraper_task_id": "2e9ddee0582a40a9b1f459831b1419e1",
    "event": LifecycleEvent.TASK_SUCCEEDED,
    "integration": "orders-sink",
}


# -- event types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "wire"),
    [
        (LifecycleEvent.CREATION_SUCCEEDED, "SCRAPER.TASK.CREATED"),
        (LifecycleEvent.CREATION_FAILED, "SCRAPER.TASK.CREATION_FAILED"),
        (LifecycleEvent.RUNNING, "SCRAPER.TASK.RUNNING"),
        (LifecycleEvent.TASK_SUCCEEDED, "SCRAPER.TASK.SUCCEEDED"),
        (LifecycleEvent.TASK_FAILED, "SCRAPER.TASK.FAILED"),
        (LifecycleEvent.TEST, "TEST"),
    ],
)
def test_every_event_has_its_stable_wire_value(member, wire):
    assert member.wire == member.value == wire


def test_the_events_are_the_seeds_five_and_test():
    assert {member.name for member in LifecycleEvent} == {
        "CREATION_SUCCEEDED",
        "CREATION_FAILED",
        "RUNNING",
        "TASK_SUCCEEDED",
        "TASK_FAILED",
        "TEST",
    }
    assert frozenset(LifecycleEvent) - SCRAPER_TASK_EVENTS == {LifecycleEvent.TEST}


@pytest.mark.parametrize(
    "spelling",
    [
        LifecycleEvent.TASK_FAILED,
        "TASK_FAILED",
        "task_failed",
        "SCRAPER.TASK.FAILED",
        "scraper.task.failed",
        "  TASK_FAILED ",
    ],
)
def test_an_event_is_named_by_its_member_its_name_or_its_wire_value(spelling):
    assert LifecycleEvent.coerce(spelling) is LifecycleEvent.TASK_FAILED


@pytest.mark.parametrize("wrong", ["TASK_DONE", "ACTOR.RUN.SUCCEEDED", "", 3, None])
def test_an_unknown_event_type_is_refused_with_every_choice_listed(wrong):
    with pytest.raises(ValueError, match=r"Unknown event type .*: use one of") as caught:
        LifecycleEvent.coerce(wrong)

    message = str(caught.value)
    for member in LifecycleEvent:
        assert f"{member.name} ({member.wire})" in message


def test_several_event_types_are_coerced_at_once_and_a_single_one_too():
    assert LifecycleEvent.coerce_all(["RUNNING", "SCRAPER.TASK.FAILED", LifecycleEvent.RUNNING]) == {
        LifecycleEvent.RUNNING,
        LifecycleEvent.TASK_FAILED,
    }
    assert LifecycleEvent.coerce_all("TASK_SUCCEEDED") == {LifecycleEvent.TASK_SUCCEEDED}


# -- status to event ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "resource", "expected"),
    [
        (TaskStatus.PENDING, None, None),
        (TaskStatus.UNKNOWN, None, None),
        (TaskStatus.RUNNING, None, LifecycleEvent.RUNNING),
        (TaskStatus.SUCCEEDED, SUCCEEDED_RESOURCE, LifecycleEvent.TASK_SUCCEEDED),
        (TaskStatus.FAILED, None, LifecycleEvent.TASK_FAILED),
        (TaskStatus.CANCELLED, None, LifecycleEvent.TASK_FAILED),
        ("Ready", SUCCEEDED_RESOURCE, LifecycleEvent.TASK_SUCCEEDED),
        ("collecting", None, LifecycleEvent.RUNNING),
        ("error", None, LifecycleEvent.TASK_FAILED),
        ("canceled", None, LifecycleEvent.TASK_FAILED),
        ("Pending", None, None),
        ("paused-by-ops", None, None),
    ],
)
def test_each_status_maps_to_its_event_in_one_place(status, resource, expected):
    assert event_for_status(status, resource=resource) is expected


@pytest.mark.parametrize(
    "resource",
    [
        {"jsonUrl": "", "csvUrl": "", "fileSize": 1765},
        {"jsonUrl": "http://files/t.json", "csvUrl": "http://files/t.csv", "fileSize": 0},
        {"jsonUrl": "http://files/t.json", "fileSize": "0"},
        {"fileSize": 12},
    ],
    ids=["no-file", "size-0", "size-text-0", "no-url-keys"],
)
def test_a_task_that_succeeded_with_no_content_is_a_failed_task_unless_opted_out(resource):
    assert result_is_empty(resource)
    assert event_for_status(TaskStatus.SUCCEEDED, resource=resource) is LifecycleEvent.TASK_FAILED
    assert (
        event_for_status(TaskStatus.SUCCEEDED, resource=resource, empty_result_is_failure=False)
        is LifecycleEvent.TASK_SUCCEEDED
    )


def test_a_success_whose_record_could_not_be_read_is_not_called_empty():
    assert not result_is_empty(None)
    assert event_for_status(TaskStatus.SUCCEEDED, resource=None) is LifecycleEvent.TASK_SUCCEEDED


# -- the variables of one event ----------------------------------------------------------------


def test_the_variables_of_an_event_have_the_seeds_shape_and_the_airflow_root():
    variables = build_variables(
        LifecycleEvent.TASK_SUCCEEDED,
        observed_at=OBSERVED_AT,
        user_id="3406",
        event_data={"taskId": "t-1", "status": "Ready", "previousStatus": "running"},
        resource=SUCCEEDED_RESOURCE,
        airflow={"dag_id": "scrape", "task_id": "watch"},
    )

    assert variables == {
        "userId": "3406",
        "createdAt": "2025-06-07T06:33:14Z",
        "eventType": "SCRAPER.TASK.SUCCEEDED",
        "eventData": {"taskId": "t-1", "status": "Ready", "previousStatus": "running"},
        "resource": SUCCEEDED_RESOURCE,
        "globals": {"dateISO": "2025-06-07T06:33:14Z", "dateUnix": 1749277994},
        "airflow": {"dag_id": "scrape", "task_id": "watch"},
    }


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2025, 6, 7, 6, 33, 14, tzinfo=timezone.utc),
        datetime(2025, 6, 7, 6, 33, 14, 999999, tzinfo=timezone.utc),
        datetime(2025, 6, 6, 23, 33, 14, 1, tzinfo=timezone(timedelta(hours=-7))),
        datetime(1970, 1, 1, 0, 0, 0, 500000, tzinfo=timezone.utc),
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=timezone.utc),
    ],
)
def test_created_at_and_both_globals_name_the_same_second(moment):
    variables = build_variables(
        LifecycleEvent.RUNNING, observed_at=moment, user_id=None, event_data={}, resource=None, airflow={}
    )

    created = datetime.fromisoformat(variables["createdAt"].replace("Z", "+00:00"))
    assert variables["createdAt"].endswith("Z")
    assert variables["globals"]["dateISO"] == variables["createdAt"] == iso_timestamp(moment)
    assert variables["globals"]["dateUnix"] == int(created.timestamp())
    assert timedelta(0) <= moment - created < timedelta(seconds=1)


def test_a_moment_without_a_time_zone_is_refused():
    with pytest.raises(ValueError, match="observed_at must be a datetime with a time zone"):
        build_variables(
            LifecycleEvent.RUNNING,
            observed_at=datetime(2025, 6, 7, 6, 33, 14),
            user_id=None,
            event_data={},
            resource=None,
            airflow={},
        )


def test_values_without_a_json_form_become_json_friendly_so_templates_never_fail_on_them():
    class Colour(enum.Enum):
        RED = "red"

    variables = build_variables(
        LifecycleEvent.TEST,
        observed_at=OBSERVED_AT,
        user_id="1",
        event_data={"when": OBSERVED_AT, "day": date(2025, 6, 7), "tags": {"b", "a"}, "colour": Colour.RED},
        resource={"pair": (1, 2), "id": uuid.UUID(int=1)},
        airflow={},
    )

    assert variables["eventData"] == {
        "when": "2025-06-07T14:33:14.987654+08:00",
        "day": "2025-06-07",
        "tags": ["a", "b"],
        "colour": "red",
    }
    assert variables["resource"] == {"pair": [1, 2], "id": "00000000-0000-0000-0000-000000000001"}
    assert json.loads(json.dumps(variables)) == variables


def test_an_event_without_a_resource_renders_an_empty_resource_object_with_the_default_payload():
    variables = build_variables(
        LifecycleEvent.CREATION_FAILED,
        observed_at=OBSERVED_AT,
        user_id="3406",
        event_data={"error": {"code": 10014}},
        resource=None,
        airflow={},
    )

    body = json.loads(PayloadTemplate(DEFAULT_PAYLOAD_TEMPLATE).render(variables))

    assert body == {
        "userId": "3406",
        "createdAt": "2025-06-07T06:33:14Z",
        "eventType": "SCRAPER.TASK.CREATION_FAILED",
        "eventData": {"error": {"code": 10014}},
        "resource": {},
    }


# -- the airflow root from real Airflow contexts ----------------------------------------------

LOGICAL_DATE = datetime(2025, 6, 7, 6, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def task_context() -> dict[str, Any]:
    """A task instance's template context, built the way Airflow builds it for a running task."""
    from airflow.sdk import DAG, BaseOperator, Param
    from airflow.sdk.api.datamodels._generated import DagRun, TIRunContext
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    with DAG(
        "scrape_and_notify",
        schedule=None,
        params={"country": Param("us", type="string"), "since": LOGICAL_DATE.isoformat()},
    ):
        task = BaseOperator(task_id="watch")
    dag_run = DagRun(
        dag_id="scrape_and_notify",
        run_id="manual__2025-06-07T06:30:00+00:00",
        logical_date=LOGICAL_DATE,
        data_interval_start=LOGICAL_DATE,
        data_interval_end=LOGICAL_DATE,
        run_after=LOGICAL_DATE,
        start_date=LOGICAL_DATE,
        end_date=None,
        run_type="manual",
        state="running",
        conf={"country": "de"},
        consumed_asset_events=[],
        partition_key=None,
    )
    ti = RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(),
        task_id="watch",
        dag_id="scrape_and_notify",
        run_id=dag_run.run_id,
        try_number=2,
        map_index=3,
        dag_version_id=uuid.uuid4(),
        task=task,
        max_tries=3,
        _ti_context_from_server=TIRunContext(dag_run=dag_run, max_tries=3),
    )
    return dict(ti.get_template_context())


TASK_AIRFLOW = {
    "dag_id": "scrape_and_notify",
    "task_id": "watch",
    "run_id": "manual__2025-06-07T06:30:00+00:00",
    "logical_date": "2025-06-07T06:30:00+00:00",
    "try_number": 2,
    "map_index": 3,
    "params": {"country": "de", "since": "2025-06-07T06:30:00+00:00"},
}


def test_the_airflow_root_of_a_task_context_is_json_friendly(task_context):
    variables = airflow_variables(task_context)

    assert variables == TASK_AIRFLOW
    assert json.loads(json.dumps(variables)) == variables


def test_a_dag_callback_is_about_the_run_even_when_airflow_passes_the_last_task_instance(task_context):
    # DagRun.execute_dag_callbacks (dag.test) and the DAG processor both hand a DAG callback the
    # last task instance's context with a "reason" added.
    context = {**task_context, "reason": "task_failure"}

    variables = airflow_variables(context)

    assert is_dag_callback(context)
    assert not is_dag_callback(task_context)
    assert variables == {**TASK_AIRFLOW, "task_id": None, "try_number": None, "map_index": -1}


def test_the_airflow_root_of_a_minimal_dag_callback_context_names_the_dag_and_the_run(task_context):
    context = {"dag": task_context["dag"], "run_id": "scheduled__2025-06-07", "reason": "success"}

    assert airflow_variables(context) == {
        "dag_id": "scrape_and_notify",
        "task_id": None,
        "run_id": "scheduled__2025-06-07",
        "logical_date": None,
        "try_number": None,
        "map_index": -1,
        "params": {},
    }


def test_the_airflow_root_of_a_deadline_alert_reads_the_run_from_the_apis_json():
    from airflow.api_fastapi.core_api.datamodels.dag_run import DAGRunResponse

    # What Deadline.handle_miss passes to the callback as its context.
    dag_run = DAGRunResponse.model_validate(
        {
            "run_id": "scheduled__2025-06-07T06:30:00+00:00",
            "dag_id": "scrape_and_notify",
            "logical_date": LOGICAL_DATE,
            "queued_at": LOGICAL_DATE,
            "start_date": LOGICAL_DATE,
            "end_date": None,
            "duration": None,
            "data_interval_start": LOGICAL_DATE,
            "data_interval_end": LOGICAL_DATE,
            "run_after": LOGICAL_DATE,
            "last_scheduling_decision": None,
            "run_type": "scheduled",
            "state": "running",
            "triggered_by": None,
            "triggering_user_name": None,
            "conf": {"country": "de"},
            "note": None,
            "dag_versions": [],
            "bundle_version": None,
            "dag_model": {"dag_display_name": "scrape_and_notify"},
            "partition_key": None,
            "partition_date": None,
        }
    ).model_dump(mode="json")
    context = {"dag_run": dag_run, "deadline": {"id": str(uuid.uuid4()), "deadline_time": LOGICAL_DATE}}

    variables = airflow_variables(context)

    assert variables == {
        "dag_id": "scrape_and_notify",
        "task_id": None,
        "run_id": "scheduled__2025-06-07T06:30:00+00:00",
        "logical_date": "2025-06-07T06:30:00Z",
        "try_number": None,
        "map_index": -1,
        "params": {},
    }
    assert json.loads(json.dumps(variables)) == variables


# -- dispatch ids ------------------------------------------------------------------------------


def test_a_dispatch_id_is_deterministic_and_its_format_is_stable():
    first = dispatch_id(**DISPATCH_INPUTS)

    assert first == dispatch_id(**DISPATCH_INPUTS)
    assert first == "msg_v5ia2emhymri2tsbnq6phzs3ght7dv3u"
    assert re.fullmatch(r"msg_[a-z2-7]{32}", first)


@pytest.mark.parametrize(
    ("field", "other"),
    [
        ("dag_id", "scrape_and_notify_v2"),
        ("run_id", "manual__2025-06-08T06:30:00+00:00"),
        ("task_id", "watch_again"),
        ("map_index", 0),
        ("scraper_task_id", "2e9ddee0582a40a9b1f459831b1419e2"),
        ("event", LifecycleEvent.TASK_FAILED),
        ("integration", "orders-sink-2"),
    ],
)
def test_a_dispatch_id_changes_with_each_of_its_seven_inputs(field, other):
    assert dispatch_id(**{**DISPATCH_INPUTS, field: other}) != dispatch_id(**DISPATCH_INPUTS)


def test_parts_cannot_shift_into_each_other_to_give_the_same_id():
    shifted = {**DISPATCH_INPUTS, "dag_id": "scrape_and", "run_id": "notify" + DISPATCH_INPUTS["run_id"]}

    assert dispatch_id(**shifted) != dispatch_id(**DISPATCH_INPUTS)


def test_a_missing_map_index_is_the_unmapped_index_and_an_event_may_be_named():
    assert dispatch_id(**{**DISPATCH_INPUTS, "map_index": None}) == dispatch_id(**DISPATCH_INPUTS)
    assert dispatch_id(**{**DISPATCH_INPUTS, "event": "SCRAPER.TASK.SUCCEEDED"}) == dispatch_id(
        **DISPATCH_INPUTS
    )


def test_a_dispatch_id_is_a_valid_standard_webhooks_id_that_signs_and_verifies():
    from standardwebhooks.webhooks import Webhook

    msg_id = dispatch_id(**DISPATCH_INPUTS)
    webhook = Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    sent_at = datetime.now(timezone.utc)
    body = '{"eventType":"SCRAPER.TASK.SUCCEEDED"}'

    Delivery(body.encode(), "SCRAPER.TASK.SUCCEEDED", "orders-sink", msg_id)
    signature = webhook.sign(msg_id, sent_at, body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
    assert webhook.verify(body, headers) == json.loads(body)


# -- import cost -------------------------------------------------------------------------------


def test_the_lifecycle_core_imports_without_airflow():
    code = (
        "import sys\n"
        "import airflow_provider_thordata.events, airflow_provider_thordata.integrations\n"
        "import airflow_provider_thordata.dispatch, airflow_provider_thordata.watch\n"
        "import airflow_provider_thordata.polling, airflow_provider_thordata.rendered\n"
        "assert not [m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')], 'airflow'\n"
    )

    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
