"""The variables of one lifecycle event, for testing payload and header templates.

:func:`event_variables` builds what a template sees when the provider emits an event, with
the shapes the operators, the sensor and the notifier produce, filled with the task of the
example in Thordata's webhook documentation. Override only what a test is about::

    from airflow_provider_thordata.templating import PayloadTemplate
    from airflow_provider_thordata.testing import event_variables

    body = PayloadTemplate(text).render(event_variables("TASK_FAILED", airflow={"dag_id": "orders"}))

Nothing here imports Airflow or an HTTP client.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_thordata.events import (
    LifecycleEvent,
    build_variables,
    creation_event_data,
    status_event_data,
)
from airflow_provider_thordata.scraper_api import TaskStatus, task_record

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["SAMPLE_TASK_ID", "SAMPLE_USER_ID", "event_variables"]

#: The task, user and moment of the example in Thordata's webhook documentation.
SAMPLE_TASK_ID = "2e9ddee0582a40a9b1f459831b1419e1"
SAMPLE_USER_ID = "3406"
SAMPLE_OBSERVED_AT = datetime(2025, 6, 7, 6, 33, 14, tzinfo=timezone.utc)
_CREATED = int(SAMPLE_OBSERVED_AT.timestamp())
_FINISHED = _CREATED + 30
_SPIDER = {"spiderId": "amazon_product_by-url", "spiderName": "amazon.com"}
_PARAMETERS = [{"url": "https://www.amazon.com/dp/B0DPMHRZ1W?th=1&psc=1"}]
_RESULT_BASE = (
    "https://th-scrapers-1303252866.cos.na-siliconvalley.myqcloud.com/scrapers/thordata/2025/06/07/"
)
_FAILURE_MESSAGE = "the scraper collected no data"

#: What ``ThordataAPIError.to_dict()`` gives when the builder refuses an unknown spider.
_CREATION_ERROR = {
    "message": (
        "Thordata builder failed with code 10000: spider_id is not a known spider. "
        "Check the spider_id field of the request."
    ),
    "endpoint": "builder",
    "code": 10000,
    "http_status": 200,
    "retryable": False,
}

#: For each task event: raw status, previous normalised status, and how the task list shows it.
_TASK_STATES: dict[LifecycleEvent, dict[str, Any]] = {
    LifecycleEvent.RUNNING: {
        "status": "Running",
        "normalizedStatus": "running",
        "previousStatus": None,
        "item": {"end_time": 0, "api_code": 0, "file_size": 0, "flow": 0, "success_rate": 0},
    },
    LifecycleEvent.TASK_SUCCEEDED: {
        "status": "Ready",
        "normalizedStatus": "succeeded",
        "previousStatus": "running",
        "item": {
            "end_time": _FINISHED,
            "api_code": 200,
            "file_size": 1765,
            "flow": 1765,
            "success_rate": 100,
        },
    },
    LifecycleEvent.TASK_FAILED: {
        "status": "Failed",
        "normalizedStatus": "failed",
        "previousStatus": "running",
        "item": {
            "end_time": _FINISHED,
            "api_code": 400,
            "api_error_msg": _FAILURE_MESSAGE,
            "error_number": 1,
            "file_size": 0,
            "flow": 0,
            "success_rate": 0,
        },
    },
}


def event_variables(
    event: LifecycleEvent | str = LifecycleEvent.TASK_SUCCEEDED,
    *,
    event_data: Mapping[str, Any] | None = None,
    resource: Mapping[str, Any] | None = None,
    airflow: Mapping[str, Any] | None = None,
    user_id: str | None = SAMPLE_USER_ID,
    observed_at: datetime | str | None = None,
) -> dict[str, Any]:
    """Return the variables a template renders for ``event``, as a new dict on every call.

    The defaults describe the documentation's example task (spider ``amazon_product_by-url``)
    at the point of its life the event marks: ``resource`` is the task record as the provider
    builds it (``apiKey`` redacted, result URLs only once the task succeeded, empty for the
    creation events and ``TEST``), ``eventData`` holds what the operator or sensor puts there,
    and ``airflow`` names a run of a ``scrape_and_notify`` DAG.

    :param event: a :class:`~airflow_provider_thordata.events.LifecycleEvent`, its name
        (``"TASK_FAILED"``) or its wire value (``"SCRAPER.TASK.FAILED"``).
    :param event_data: keys that replace or add to the default ``eventData``.
    :param resource: keys that replace or add to the default ``resource``.
    :param airflow: keys that replace or add to the default ``airflow`` variables.
    :param user_id: ``{{userId}}``.
    :param observed_at: when the event was observed (``createdAt`` and ``globals``): an aware
        datetime or ISO 8601 text; by default the documentation example's moment.
    :raises ValueError: an unknown event, or a moment without a time zone.
    """
    chosen = LifecycleEvent.coerce(event)
    return build_variables(
        chosen,
        observed_at=_moment(observed_at),
        user_id=user_id,
        event_data={**_default_event_data(chosen), **(event_data or {})},
        resource={**_default_resource(chosen, user_id), **(resource or {})},
        airflow={**_default_airflow(chosen), **(airflow or {})},
    )


def _moment(value: datetime | str | None) -> datetime:
    if value is None:
        return SAMPLE_OBSERVED_AT
    moment = _parse_iso(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ValueError(
            f"observed_at needs a time zone, got {value!r}: use datetime(..., tzinfo=timezone.utc) "
            "or ISO 8601 text ending in 'Z' or an offset"
        )
    return moment


def _parse_iso(value: str) -> datetime:
    text = value.strip()
    # Python 3.10's fromisoformat does not read the "Z" suffix.
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"observed_at must be ISO 8601 text such as '2025-06-07T06:33:14Z', got {value!r}"
        ) from None


def _default_event_data(event: LifecycleEvent) -> dict[str, Any]:
    spider_id, spider_name = _SPIDER["spiderId"], _SPIDER["spiderName"]
    if event is LifecycleEvent.CREATION_SUCCEEDED:
        return creation_event_data(spider_id=spider_id, spider_name=spider_name, task_id=SAMPLE_TASK_ID)
    if event is LifecycleEvent.CREATION_FAILED:
        return creation_event_data(spider_id=spider_id, spider_name=spider_name, error=_CREATION_ERROR)
    if event is LifecycleEvent.TEST:
        return {}
    state = _TASK_STATES[event]
    previous = state["previousStatus"]
    return status_event_data(
        task_id=SAMPLE_TASK_ID,
        raw_status=state["status"],
        status=TaskStatus(state["normalizedStatus"]),
        previous=None if previous is None else TaskStatus(previous),
        inferred=False,
        spider_id=spider_id,
        spider_name=spider_name,
    )


def _default_resource(event: LifecycleEvent, user_id: str | None) -> dict[str, Any]:
    if event not in _TASK_STATES:
        return {}
    item = {
        "task_id": SAMPLE_TASK_ID,
        "created_time": _CREATED,
        "prodect_id": 3,
        "url": json.dumps(
            {"spider_errors": True, "spider_id": _SPIDER["spiderId"], "spider_parameters": _PARAMETERS},
            separators=(",", ":"),
        ),
        "api_url": "",
        "api_result": "",
        "api_error_msg": "",
        "api_response_time": 28000 if event is not LifecycleEvent.RUNNING else 0,
        "error_number": 0,
        "type": 0,
        "api_key": "289f5c53e47d616" + "0" * 17,
        **_TASK_STATES[event]["item"],
    }
    succeeded = event is LifecycleEvent.TASK_SUCCEEDED
    return task_record(
        item,
        json_url=f"{_RESULT_BASE}{SAMPLE_TASK_ID}.json" if succeeded else "",
        csv_url=f"{_RESULT_BASE}{SAMPLE_TASK_ID}.csv" if succeeded else "",
        user_id=user_id,
    )


def _default_airflow(event: LifecycleEvent) -> dict[str, Any]:
    if event in (LifecycleEvent.CREATION_SUCCEEDED, LifecycleEvent.CREATION_FAILED):
        task_id = "create_scraper_task"
    elif event is LifecycleEvent.TEST:
        task_id = "notify"
    else:
        task_id = "watch_scraper_task"
    return {
        "dag_id": "scrape_and_notify",
        "task_id": task_id,
        "run_id": "manual__2025-06-07T06:30:00+00:00",
        "logical_date": "2025-06-07T06:30:00+00:00",
        "try_number": 1,
        "map_index": -1,
        "params": {},
    }
