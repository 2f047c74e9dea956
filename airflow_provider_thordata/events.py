"""The lifecycle events of a scraper task and the variables a webhook template sees for one.

Everything here is pure: no Airflow import, no I/O. Operators, the sensor and the notifier
observe something, and this module says which event it is, how it is named on the wire,
what ``{{eventData}}``, ``{{resource}}``, ``{{globals}}`` and ``{{airflow}}`` hold, and which
dispatch id identifies its delivery to one integration.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date, datetime, time, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow_provider_thordata.scraper_api import TaskStatus, normalize_status

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


class LifecycleEvent(Enum):
    """An event of a scraper task's life, valued by its wire name (``{{eventType}}``)."""

    CREATION_SUCCEEDED = "SCRAPER.TASK.CREATED"
    CREATION_FAILED = "SCRAPER.TASK.CREATION_FAILED"
    RUNNING = "SCRAPER.TASK.RUNNING"
    TASK_SUCCEEDED = "SCRAPER.TASK.SUCCEEDED"
    TASK_FAILED = "SCRAPER.TASK.FAILED"
    TEST = "TEST"

    @property
    def wire(self) -> str:
        """Return the stable name sent as ``eventType``."""
        return self.value

    @classmethod
    def coerce(cls, value: LifecycleEvent | str) -> LifecycleEvent:
        """Return the event named by a member, its name (``"TASK_FAILED"``) or its wire value.

        :raises ValueError: naming the accepted spellings when ``value`` is none of them.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            text = value.strip()
            member = cls.__members__.get(text.upper()) or _BY_WIRE.get(text.upper())
            if member is not None:
                return member
        choices = ", ".join(f"{member.name} ({member.wire})" for member in cls)
        raise ValueError(f"Unknown event type {value!r}: use one of {choices}.")

    @classmethod
    def coerce_all(
        cls, values: Iterable[LifecycleEvent | str] | LifecycleEvent | str
    ) -> frozenset[LifecycleEvent]:
        """Return the events named by ``values``; see :meth:`coerce`."""
        if isinstance(values, (str, LifecycleEvent)):
            values = [values]
        return frozenset(cls.coerce(value) for value in values)


_BY_WIRE = {member.value: member for member in LifecycleEvent}

#: The events a scraper task goes through, as the seed lists them (TEST is not one).
SCRAPER_TASK_EVENTS: frozenset[LifecycleEvent] = frozenset(LifecycleEvent) - {LifecycleEvent.TEST}


def result_is_empty(resource: Mapping[str, Any] | None) -> bool:
    """Tell whether a finished task's record shows no content: no result file, or size 0.

    An unknown record (``None``) is not called empty: a lookup that failed must not turn a
    succeeded task into a failed one.
    """
    if resource is None:
        return False
    has_file = bool(resource.get("jsonUrl") or resource.get("csvUrl"))
    size = resource.get("fileSize")
    return not has_file or size in (0, "0")


def event_for_status(
    status: TaskStatus | str,
    *,
    resource: Mapping[str, Any] | None = None,
    empty_result_is_failure: bool = True,
) -> LifecycleEvent | None:
    """Return the event a task in ``status`` is in, or ``None`` while it has not started.

    Running gives ``RUNNING``; succeeded gives ``TASK_SUCCEEDED``, except a task that finished
    with no content, which the seed defines as ``TASK_FAILED`` (unless
    ``empty_result_is_failure`` is off); failed and cancelled give ``TASK_FAILED``. Pending and
    unknown statuses give ``None``. ``status`` may also be text, in any spelling Thordata uses
    (``"Ready"``, ``"collecting"``, ...).
    """
    if not isinstance(status, TaskStatus):
        status = normalize_status(status)
    if status is TaskStatus.RUNNING:
        return LifecycleEvent.RUNNING
    if status is TaskStatus.SUCCEEDED:
        if empty_result_is_failure and result_is_empty(resource):
            return LifecycleEvent.TASK_FAILED
        return LifecycleEvent.TASK_SUCCEEDED
    if status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
        return LifecycleEvent.TASK_FAILED
    return None


def status_event_data(
    *,
    task_id: str,
    raw_status: str,
    status: TaskStatus,
    previous: TaskStatus | None,
    inferred: bool,
    spider_id: str | None,
    spider_name: str | None,
) -> dict[str, Any]:
    """Return ``{{eventData}}`` of a ``RUNNING``, ``TASK_SUCCEEDED`` or ``TASK_FAILED`` event."""
    return {
        "taskId": task_id,
        "spiderId": spider_id,
        "spiderName": spider_name,
        "status": raw_status,
        "normalizedStatus": status.value,
        "previousStatus": None if previous is None else previous.value,
        "inferred": inferred,
    }


def creation_event_data(
    *,
    spider_id: str | None,
    spider_name: str | None,
    task_id: str | None = None,
    error: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return ``{{eventData}}`` of ``CREATION_SUCCEEDED`` (with ``task_id``) or ``CREATION_FAILED``."""
    data: dict[str, Any] = {"spiderId": spider_id, "spiderName": spider_name}
    if task_id is not None:
        data["taskId"] = task_id
    if error is not None:
        data["error"] = dict(error)
    return data


def iso_timestamp(moment: datetime) -> str:
    """Return ``moment`` in UTC as ISO 8601 with a ``Z`` suffix, to the second.

    :raises ValueError: ``moment`` has no time zone (its instant would depend on the machine).
    """
    _require_aware(moment)
    text = moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()
    return text.removesuffix("+00:00") + "Z"


def _require_aware(moment: datetime) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"observed_at must be a datetime with a time zone, such as datetime.now(timezone.utc); "
            f"got {moment!r}"
        )


def build_variables(
    event: LifecycleEvent,
    *,
    observed_at: datetime,
    user_id: str | None,
    event_data: Mapping[str, Any],
    resource: Mapping[str, Any] | None,
    airflow: Mapping[str, Any],
) -> dict[str, Any]:
    """Return the variables a template renders for one event, observed at ``observed_at``.

    ``createdAt`` and ``globals.dateISO`` are the same second as ``globals.dateUnix``. Every
    value is made JSON-friendly: dates and times become ISO 8601 text, enums their value, sets
    lists, and any other non-JSON value its text, so a template never fails on a value's type.

    :raises ValueError: ``observed_at`` has no time zone.
    """
    stamp = iso_timestamp(observed_at)
    second = observed_at.replace(microsecond=0)
    return {
        "userId": user_id,
        "createdAt": stamp,
        "eventType": event.wire,
        "eventData": _json_friendly(dict(event_data)),
        "resource": _json_friendly(dict(resource)) if resource is not None else {},
        "globals": {"dateISO": stamp, "dateUnix": int(second.timestamp())},
        "airflow": _json_friendly(dict(airflow)),
    }


def is_dag_callback(context: Mapping[str, Any]) -> bool:
    """Tell whether ``context`` is the context of a DAG-level success or failure callback.

    Airflow 3.3 marks those with a ``reason`` (``airflow/dag_processing/processor.py`` and
    ``DagRun.execute_dag_callbacks`` for ``dag.test()``); when the run has a last task
    instance, the rest of the context is that task instance's, ``ti`` and
    ``task_state_store`` included, although the callback is about the whole run.
    """
    return "reason" in context


def airflow_variables(context: Mapping[str, Any]) -> dict[str, Any]:
    """Return the ``{{airflow}}`` root from an Airflow context, JSON-friendly.

    Works with a task's context, a DAG callback's and the small context a deadline alert
    receives (``dag_run`` as the API's JSON dict, whose run id is ``dag_run_id``); what a
    context lacks is ``None`` (``map_index`` is then ``-1``). A DAG callback is about the run,
    not a task: its ``task_id`` and ``try_number`` are ``None`` even when Airflow passes the
    last task instance along.
    """
    ti = None if is_dag_callback(context) else context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag = context.get("dag")

    dag_id = _first(ti, "dag_id") or _first(dag_run, "dag_id") or _first(dag, "dag_id")
    run_id = (
        _first(ti, "run_id")
        or _first(dag_run, "run_id")
        or _first(dag_run, "dag_run_id")
        or context.get("run_id")
    )
    logical_date = context.get("logical_date") or _first(dag_run, "logical_date")
    map_index = _first(ti, "map_index")

    return {
        "dag_id": dag_id,
        "task_id": _first(ti, "task_id"),
        "run_id": run_id,
        "logical_date": _json_friendly(logical_date),
        "try_number": _first(ti, "try_number"),
        "map_index": -1 if map_index is None else map_index,
        "params": _json_friendly(dict(context.get("params") or {})),
    }


def _first(source: Any, name: str) -> Any:
    if source is None:
        return None
    if isinstance(source, dict):
        return source.get(name)
    return getattr(source, name, None)


def _json_friendly(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def dispatch_id(
    *,
    dag_id: str | None,
    run_id: str | None,
    task_id: str | None,
    map_index: int | None,
    scraper_task_id: str | None,
    event: LifecycleEvent | str,
    integration: str,
) -> str:
    """Return the id that names one delivery of one event to one integration.

    It depends only on what stays the same across HTTP retries, pokes, deferrals, Airflow
    retries and triggerer restarts, so a receiver can always deduplicate on it (it is sent as
    ``Webhook-Dispatch-Id`` and, when signing, as ``webhook-id``). The format is fixed:
    ``msg_`` and 32 lower-case base32 characters (160 bits of SHA-256). A missing value counts
    as empty text, a missing map index as ``-1`` (what Airflow uses for a task not mapped).
    """
    kind = LifecycleEvent.coerce(event)
    index = -1 if map_index is None else map_index
    parts = [dag_id, run_id, task_id, index, scraper_task_id, kind.wire, integration]
    material = json.dumps(["" if part is None else str(part) for part in parts], separators=(",", ":"))
    digest = hashlib.sha256(material.encode()).digest()[:20]
    return "msg_" + base64.b32encode(digest).decode().rstrip("=").lower()
