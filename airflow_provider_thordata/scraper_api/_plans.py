"""The multi-step operations, written once as *plans* for both the sync and the async shell.

A plan is a generator that yields an :class:`ApiCall`, receives the envelope's ``data`` for it
(or a result file's bytes), and returns the final value. A shell drives it by sending each
call over its own client, so both paths run the same steps.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_thordata.exceptions import ThordataAPIError
from airflow_provider_thordata.scraper_api._answers import (
    parse_created_task_id,
    parse_download_url,
    parse_statuses,
    parse_task_list,
)
from airflow_provider_thordata.scraper_api._calls import TASKS_LIST
from airflow_provider_thordata.scraper_api._records import TaskPage, task_record
from airflow_provider_thordata.scraper_api._requests import (
    build_create_task,
    build_result_file,
    build_tasks_download,
    build_tasks_list,
    build_tasks_status,
    chunk_task_ids,
    validate_task_ids,
)
from airflow_provider_thordata.scraper_api._statuses import TaskStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from airflow_provider_thordata.scraper_api._calls import ApiCall
    from airflow_provider_thordata.scraper_api._config import ClientConfig
    from airflow_provider_thordata.scraper_api._statuses import ObservedStatus

#: Largest result file :func:`download_result_plan` reads into memory unless told otherwise.
DEFAULT_MAX_RESULT_BYTES = 100 * 1024 * 1024


_T = TypeVar("_T")
#: A multi-step operation: yields calls, receives each call's envelope ``data``, returns a value.
Plan = Generator["ApiCall", Any, _T]


def _single(call: ApiCall, parse: Any) -> Plan[Any]:
    data = yield call
    return parse(call, data)


def create_task_plan(config: ClientConfig, **arguments: Any) -> Plan[str]:
    """Return the plan that creates a task; see :func:`build_create_task` for the arguments.

    Arguments are validated now, before anything is sent.
    """
    return _single(build_create_task(config, **arguments), parse_created_task_id)


def fetch_statuses_plan(
    config: ClientConfig, task_ids: Iterable[str] | str
) -> Plan[dict[str, ObservedStatus]]:
    """Return the plan that polls ``task_ids``, :data:`STATUS_BATCH_SIZE` per call."""
    calls = [build_tasks_status(config, chunk) for chunk in chunk_task_ids(task_ids)]
    return _fetch_statuses(calls)


def _fetch_statuses(calls: list[ApiCall]) -> Plan[dict[str, ObservedStatus]]:
    result: dict[str, ObservedStatus] = {}
    for call in calls:
        data = yield call
        result.update(parse_statuses(call, data))
    return result


def download_url_plan(config: ClientConfig, task_id: str, file_type: str = "json") -> Plan[str]:
    """Return the plan that asks for the URL of one result file."""
    return _single(build_tasks_download(config, task_id, file_type), parse_download_url)


def download_result_plan(
    config: ClientConfig, task_id: str, file_type: str = "json", *, max_bytes: int = DEFAULT_MAX_RESULT_BYTES
) -> Plan[bytes]:
    """Return the plan that reads one result file: ask ``tasks-download`` for its URL, then GET it.

    :param max_bytes: the largest file to read; a larger one fails without being read whole.
    :raises ValueError: the id, the file type or ``max_bytes`` is invalid (checked now).
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive integer, got {max_bytes!r}")
    return _download_result(build_tasks_download(config, task_id, file_type), max_bytes)


def _download_result(download: ApiCall, max_bytes: int) -> Plan[bytes]:
    url = parse_download_url(download, (yield download))
    content: bytes = yield build_result_file(download, url, max_bytes=max_bytes)
    return content


def list_tasks_plan(config: ClientConfig, page: int = 1, size: int = 20) -> Plan[TaskPage]:
    """Return the plan that reads one page of the task list as redacted records."""
    call = build_tasks_list(config, page, size)
    return _list_tasks(config, call)


def _list_tasks(config: ClientConfig, call: ApiCall) -> Plan[TaskPage]:
    data = yield call
    count, items = parse_task_list(call, data)
    return TaskPage(count=count, tasks=tuple(task_record(item, user_id=config.user_id) for item in items))


def get_task_plan(
    config: ClientConfig,
    task_id: str,
    *,
    status: TaskStatus | None = None,
    page_size: int = 100,
    max_pages: int = 10,
    reveal_api_key: bool = False,
) -> Plan[dict[str, Any]]:
    """Return the plan that finds one task's record in the task list.

    It reads at most ``max_pages`` pages of ``page_size`` (the service lists the newest tasks
    first), then, unless ``status`` is given, polls the task's status, and for a succeeded
    task adds the ``jsonUrl`` and ``csvUrl`` download URLs.
    """
    (task_id,) = validate_task_ids([task_id])
    _check_scan(config, page_size, max_pages)
    known = None if status is None else TaskStatus(status)
    return _one_task(config, task_id, known, page_size, max_pages, reveal_api_key)


def _one_task(
    config: ClientConfig,
    task_id: str,
    status: TaskStatus | None,
    page_size: int,
    max_pages: int,
    reveal_api_key: bool,
) -> Plan[dict[str, Any]]:
    records, scanned = yield from _get_tasks(config, {task_id: status}, page_size, max_pages, reveal_api_key)
    if task_id not in records:
        raise ThordataAPIError(
            f"Thordata task {task_id} is not among the {scanned} newest tasks of the task list "
            f"({max_pages} page(s) of {page_size} read at most)",
            endpoint=TASKS_LIST,
        )
    return records[task_id]


def _check_scan(config: ClientConfig, page_size: int, max_pages: int) -> None:
    build_tasks_list(config, 1, page_size)
    if max_pages < 1:
        raise ValueError(f"max_pages must be at least 1, got {max_pages}")


def get_tasks_plan(
    config: ClientConfig,
    statuses: Mapping[str, TaskStatus | None],
    *,
    page_size: int = 100,
    max_pages: int = 10,
    reveal_api_key: bool = False,
) -> Plan[dict[str, dict[str, Any]]]:
    """Return the plan that finds the records of many tasks in one scan of the task list.

    ``statuses`` maps each wanted task id to its status when the caller already polled it
    (``None`` otherwise: those are polled in one batched call). The scan stops as soon as
    every task is found, or after ``max_pages`` pages; tasks not found are absent from the
    result. Succeeded tasks get their ``jsonUrl`` and ``csvUrl``. ``reveal_api_key`` keeps
    the scraping token unredacted, for integrations that explicitly opted in.
    """
    ids = validate_task_ids(list(statuses))
    _check_scan(config, page_size, max_pages)
    known = {task_id: None if statuses[task_id] is None else TaskStatus(statuses[task_id]) for task_id in ids}
    return _records_only(_get_tasks(config, known, page_size, max_pages, reveal_api_key))


def _records_only(
    plan: Plan[tuple[dict[str, dict[str, Any]], int]],
) -> Plan[dict[str, dict[str, Any]]]:
    records, _scanned = yield from plan
    return records


def _get_tasks(
    config: ClientConfig,
    statuses: dict[str, TaskStatus | None],
    page_size: int,
    max_pages: int,
    reveal_api_key: bool,
) -> Plan[tuple[dict[str, dict[str, Any]], int]]:
    found: dict[str, Mapping[str, Any]] = {}
    item: Mapping[str, Any]
    scanned = 0
    for page in range(1, max_pages + 1):
        call = build_tasks_list(config, page, page_size)
        count, items = parse_task_list(call, (yield call))
        scanned += len(items)
        for item in items:
            if item.get("task_id") in statuses:
                found[item["task_id"]] = item
        if len(found) == len(statuses) or len(items) < page_size or scanned >= count:
            break

    unpolled = [task_id for task_id in found if statuses[task_id] is None]
    if unpolled:
        observed = yield from fetch_statuses_plan(config, unpolled)
        for task_id in unpolled:
            seen = observed.get(task_id)
            statuses[task_id] = seen.status if seen is not None else TaskStatus.UNKNOWN

    records = {}
    for task_id, item in found.items():
        json_url = csv_url = ""
        if statuses[task_id] is TaskStatus.SUCCEEDED:
            json_url = yield from _single(build_tasks_download(config, task_id, "json"), parse_download_url)
            csv_url = yield from _single(build_tasks_download(config, task_id, "csv"), parse_download_url)
        record = task_record(item, json_url=json_url, csv_url=csv_url, user_id=config.user_id)
        if reveal_api_key and item.get("api_key"):
            record["apiKey"] = item["api_key"]
        records[task_id] = record
    return records, scanned
