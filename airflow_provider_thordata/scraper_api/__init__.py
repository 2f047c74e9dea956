"""Thordata's Web Scraper API as plain values: what to send, how to read the answer, no I/O.

This is the one core that the hook's sync and async shells share. It knows the endpoints and
their form fields, turns connection values into a validated :class:`ClientConfig`, builds each
request as an :class:`ApiCall` (method, URL, headers, form), reads the ``{"code", "msg",
"data"}`` envelope, classifies failures into :class:`~airflow_provider_thordata.exceptions.
ThordataAPIError` (retryable or not, with a message that says what to fix), normalises task
statuses, and maps task-list items to the seed's camelCase ``resource`` record.

The multi-step operations (polling many ids in chunks, finding one task in the task list) are
written once as *plans*: generators that yield an :class:`ApiCall`, receive the envelope's
``data`` for it, and return the final value. A shell drives a plan by sending each call over
its own client, so the sync and async paths run the same steps.

Nothing here imports Airflow or an HTTP client, so it is cheap to import and to test.

Credentials, for reference: the builder needs ``Authorization: Bearer <scraper token>`` plus
the ``token`` and ``key`` headers (public token and key); the status, download and list calls
need ``token`` and ``key`` only.

Import every name from this package; its private modules hold one concern each:

- ``_statuses``: :class:`TaskStatus`, :func:`normalize_status`, :class:`ObservedStatus`.
- ``_config``: :class:`ClientConfig` from a connection, the form labels errors quote.
- ``_calls``: the endpoint names and :class:`ApiCall`, one request ready to send.
- ``_requests``: the ``build_*`` functions and task id validation.
- ``_answers``: reading the envelope and result files, classifying failures, ``parse_*``.
- ``_records``: the ``resource`` record (:func:`task_record`, :func:`redact_token`).
- ``_plans``: the multi-step operations (``*_plan``) the shells drive.
"""

from __future__ import annotations

from airflow_provider_thordata.scraper_api._answers import (
    BodyReader,
    interpret_file_response,
    interpret_response,
    parse_created_task_id,
    parse_download_url,
    parse_statuses,
    parse_task_list,
    transport_error,
)
from airflow_provider_thordata.scraper_api._calls import (
    BUILDER,
    RESULT_FILE,
    TASKS_DOWNLOAD,
    TASKS_LIST,
    TASKS_STATUS,
    USER_AGENT,
    VIDEO_BUILDER,
    ApiCall,
    describe_ids,
)
from airflow_provider_thordata.scraper_api._config import (
    DEFAULT_SCRAPER_API_URL,
    DEFAULT_WEB_SCRAPER_API_URL,
    ClientConfig,
    form_label,
)
from airflow_provider_thordata.scraper_api._plans import (
    DEFAULT_MAX_RESULT_BYTES,
    Plan,
    create_task_plan,
    download_result_plan,
    download_url_plan,
    fetch_statuses_plan,
    get_task_plan,
    get_tasks_plan,
    list_tasks_plan,
)
from airflow_provider_thordata.scraper_api._records import TaskPage, redact_token, task_record
from airflow_provider_thordata.scraper_api._requests import (
    DATA_FORMATS,
    DEFAULT_FILE_NAME,
    DOWNLOAD_TYPES,
    STATUS_BATCH_SIZE,
    build_create_task,
    build_result_file,
    build_tasks_download,
    build_tasks_list,
    build_tasks_status,
    chunk_task_ids,
    validate_task_ids,
)
from airflow_provider_thordata.scraper_api._statuses import ObservedStatus, TaskStatus, normalize_status

__all__ = [
    "BUILDER",
    "DATA_FORMATS",
    "DEFAULT_FILE_NAME",
    "DEFAULT_MAX_RESULT_BYTES",
    "DEFAULT_SCRAPER_API_URL",
    "DEFAULT_WEB_SCRAPER_API_URL",
    "DOWNLOAD_TYPES",
    "RESULT_FILE",
    "STATUS_BATCH_SIZE",
    "TASKS_DOWNLOAD",
    "TASKS_LIST",
    "TASKS_STATUS",
    "USER_AGENT",
    "VIDEO_BUILDER",
    "ApiCall",
    "BodyReader",
    "ClientConfig",
    "ObservedStatus",
    "Plan",
    "TaskPage",
    "TaskStatus",
    "build_create_task",
    "build_result_file",
    "build_tasks_download",
    "build_tasks_list",
    "build_tasks_status",
    "chunk_task_ids",
    "create_task_plan",
    "describe_ids",
    "download_result_plan",
    "download_url_plan",
    "fetch_statuses_plan",
    "form_label",
    "get_task_plan",
    "get_tasks_plan",
    "interpret_file_response",
    "interpret_response",
    "list_tasks_plan",
    "normalize_status",
    "parse_created_task_id",
    "parse_download_url",
    "parse_statuses",
    "parse_task_list",
    "redact_token",
    "task_record",
    "transport_error",
    "validate_task_ids",
]
