"""event_variables: realistic variables of each lifecycle event, for users' template tests (pure)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from airflow_provider_thordata.events import LifecycleEvent, event_for_status
from airflow_provider_thordata.exceptions import ThordataAPIError
from airflow_provider_thordata.scraper_api import (
    ClientConfig,
    build_create_task,
    interpret_response,
    normalize_status,
    task_record,
)
from airflow_provider_thordata.templating import ALLOWED_VARIABLES, DEFAULT_PAYLOAD_TEMPLATE, PayloadTemplate
from airflow_provider_thordata.testing import ThordataAPIServer, event_variables
from airflow_provider_thordata.testing.variables import SAMPLE_TASK_ID

TASK_EVENTS = [LifecycleEvent.RUNNING, LifecycleEvent.TASK_SUCCEEDED, LifecycleEvent.TASK_FAILED]
OTHER_EVENTS = [LifecycleEvent.CREATION_SUCCEEDED, LifecycleEvent.CREATION_FAILED, LifecycleEvent.TEST]


def test_by_default_it_is_the_documentation_examples_task_succeeding() -> None:
    variables = event_variables()

    assert set(variables) == set(ALLOWED_VARIABLES)
    assert variables["eventType"] == "SCRAPER.TASK.SUCCEEDED"
    assert variables["userId"] == "3406"
    assert variables["createdAt"] == "2025-06-07T06:33:14Z"
    assert variables["globals"] == {"dateISO": "2025-06-07T06:33:14Z", "dateUnix": 1749277994}
    assert variables["resource"]["taskId"] == variables["eventData"]["taskId"] == SAMPLE_TASK_ID
    assert variables["resource"]["fileSize"] == 1765
    assert variables["airflow"] == {
        "dag_id": "scrape_and_notify",
        "task_id": "watch_scraper_task",
        "run_id": "manual__2025-06-07T06:30:00+00:00",
        "logical_date": "2025-06-07T06:30:00+00:00",
        "try_number": 1,
        "map_index": -1,
        "params": {},
    }


@pytest.mark.parametrize("event", list(LifecycleEvent), ids=lambda event: event.name)
def test_an_event_is_named_by_member_name_or_wire_value_alike(event: LifecycleEvent) -> None:
    by_member = event_variables(event)

    assert event_variables(event.name) == by_member
    assert event_variables(event.wire) == by_member
    assert by_member["eventType"] == event.wire


def test_an_unknown_event_names_the_accepted_spellings() -> None:
    with pytest.raises(ValueError, match=r"Unknown event type 'SUCCEEDED': use one of CREATION_SUCCEEDED"):
        event_variables("SUCCEEDED")


@pytest.mark.parametrize("event", TASK_EVENTS, ids=lambda event: event.name)
def test_a_task_events_status_and_resource_are_classified_as_that_event_by_the_provider(
    event: LifecycleEvent,
) -> None:
    variables = event_variables(event)

    status = normalize_status(variables["eventData"]["status"])
    assert status.value == variables["eventData"]["normalizedStatus"]
    assert event_for_status(status, resource=variables["resource"]) is event


def test_the_resource_has_exactly_the_fields_of_a_record_built_from_a_task_list_item() -> None:
    with ThordataAPIServer() as server, httpx.Client(trust_env=False) as client:
        server.add_task()
        answer = client.post(
            f"{server.web_scraper_api_url}/tasks-list",
            data={"page": "1", "size": "1"},
            headers={"token": server.public_token, "key": server.public_key},
        ).json()
    (item,) = answer["data"]["list"]

    expected = set(task_record(item, user_id="3406"))

    for event in TASK_EVENTS:
        assert set(event_variables(event)["resource"]) == expected


def test_result_urls_and_a_finish_time_appear_only_where_the_task_has_them() -> None:
    running, succeeded, failed = (event_variables(event)["resource"] for event in TASK_EVENTS)

    assert (running["finishedAt"], running["jsonUrl"], running["csvUrl"]) == (None, "", "")
    assert succeeded["finishedAt"] == "2025-06-07T06:33:44+00:00"
    assert succeeded["jsonUrl"].endswith(f"/{SAMPLE_TASK_ID}.json")
    assert succeeded["csvUrl"].endswith(f"/{SAMPLE_TASK_ID}.csv")
    assert (failed["jsonUrl"], failed["fileSize"]) == ("", 0)
    assert failed["apiErrorMsg"] == "the scraper collected no data"


@pytest.mark.parametrize("event", TASK_EVENTS, ids=lambda event: event.name)
def test_the_scraping_token_is_redacted_as_the_provider_redacts_it(event: LifecycleEvent) -> None:
    api_key = event_variables(event)["resource"]["apiKey"]

    assert api_key == "289f5c" + "*" * 20


def test_the_task_events_event_data_is_what_the_sensor_sends() -> None:
    assert event_variables("TASK_FAILED")["eventData"] == {
        "taskId": SAMPLE_TASK_ID,
        "spiderId": "amazon_product_by-url",
        "spiderName": "amazon.com",
        "status": "Failed",
        "normalizedStatus": "failed",
        "previousStatus": "running",
        "inferred": False,
    }


@pytest.mark.parametrize("event", OTHER_EVENTS, ids=lambda event: event.name)
def test_creation_and_test_events_carry_no_resource(event: LifecycleEvent) -> None:
    assert event_variables(event)["resource"] == {}


def test_a_creation_event_names_the_spider_and_the_created_task() -> None:
    variables = event_variables("CREATION_SUCCEEDED")

    assert variables["eventData"] == {
        "spiderId": "amazon_product_by-url",
        "spiderName": "amazon.com",
        "taskId": SAMPLE_TASK_ID,
    }
    assert variables["airflow"]["task_id"] == "create_scraper_task"


def test_a_failed_creation_carries_the_error_the_hook_raises_for_a_refused_builder_call() -> None:
    config = ClientConfig(conn_id="thordata_default", public_token="t", public_key="k", scraper_token="s")
    call = build_create_task(config, spider_id="nope", spider_name="amazon.com", parameters={"url": "u"})
    refusal = json.dumps({"code": 10000, "msg": "spider_id is not a known spider", "data": None}).encode()
    with pytest.raises(ThordataAPIError, match="spider_id is not a known spider") as raised:
        interpret_response(call, 200, refusal)

    error = event_variables("CREATION_FAILED")["eventData"]["error"]

    assert error == raised.value.to_dict()


def test_given_fields_are_merged_over_the_defaults() -> None:
    variables = event_variables(
        "TASK_FAILED",
        event_data={"inferred": True, "note": "retry"},
        resource={"apiErrorMsg": "blocked by captcha"},
        airflow={"dag_id": "orders", "params": {"region": "us"}},
    )

    assert variables["eventData"]["inferred"] is True
    assert variables["eventData"]["note"] == "retry"
    assert variables["eventData"]["status"] == "Failed"
    assert variables["resource"]["apiErrorMsg"] == "blocked by captcha"
    assert variables["resource"]["taskId"] == SAMPLE_TASK_ID
    assert variables["airflow"]["dag_id"] == "orders"
    assert variables["airflow"]["params"] == {"region": "us"}
    assert variables["airflow"]["task_id"] == "watch_scraper_task"


def test_the_user_id_can_be_changed_or_left_out() -> None:
    assert event_variables(user_id="77")["userId"] == "77"
    assert event_variables(user_id="77")["resource"]["userId"] == "77"
    assert event_variables(user_id=None)["userId"] is None


@pytest.mark.parametrize(
    "observed_at",
    [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1))),
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05+00:00",
    ],
    ids=["utc", "offset", "iso-z", "iso-offset"],
)
def test_the_moment_of_the_event_sets_created_at_and_globals(observed_at: datetime | str) -> None:
    variables = event_variables(observed_at=observed_at)

    assert variables["createdAt"] == "2026-01-02T03:04:05Z"
    assert variables["globals"] == {"dateISO": "2026-01-02T03:04:05Z", "dateUnix": 1767323045}


def test_a_moment_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="observed_at needs a time zone, got '2026-01-02T03:04:05'"):
        event_variables(observed_at="2026-01-02T03:04:05")
    with pytest.raises(ValueError, match="observed_at needs a time zone"):
        event_variables(observed_at=datetime(2026, 1, 2))


def test_text_that_is_not_an_iso_moment_is_refused() -> None:
    with pytest.raises(ValueError, match=r"observed_at must be ISO 8601 text .* got 'yesterday'"):
        event_variables(observed_at="yesterday")


def test_every_call_returns_new_data() -> None:
    first = event_variables()
    first["resource"]["fileSize"] = 0
    first["airflow"]["params"]["x"] = 1
    first["eventData"].clear()

    second = event_variables()

    assert second["resource"]["fileSize"] == 1765
    assert second["airflow"]["params"] == {}
    assert second["eventData"]["taskId"] == SAMPLE_TASK_ID


@pytest.mark.parametrize("event", list(LifecycleEvent), ids=lambda event: event.name)
def test_the_variables_of_every_event_are_json_and_render_the_default_payload(event: LifecycleEvent) -> None:
    variables = event_variables(event)

    body = json.loads(PayloadTemplate(DEFAULT_PAYLOAD_TEMPLATE).render(variables))

    assert json.loads(json.dumps(variables)) == variables
    assert body == {
        key: variables[key] for key in ("userId", "createdAt", "eventType", "eventData", "resource")
    }
