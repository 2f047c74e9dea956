"""Build each request of the Web Scraper API as an :class:`ApiCall`, validating its arguments.

Bad arguments raise :class:`ValueError` here, before anything is sent, with a message that
says what to fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_thordata.scraper_api._answers import _shape_error
from airflow_provider_thordata.scraper_api._calls import (
    BUILDER,
    RESULT_FILE,
    TASKS_DOWNLOAD,
    TASKS_LIST,
    TASKS_STATUS,
    USER_AGENT,
    VIDEO_BUILDER,
    ApiCall,
)
from airflow_provider_thordata.scraper_api._config import form_label

if TYPE_CHECKING:
    from airflow_provider_thordata.scraper_api._config import ClientConfig

#: Ids carried by one ``tasks-status`` call; longer lists are split into several calls.
STATUS_BATCH_SIZE = 100
#: ``file_name`` sent when the caller gives none: the service names the file after the task id.
DEFAULT_FILE_NAME = "{{TasksID}}"
DATA_FORMATS = ("json", "csv", "xlsx")
DOWNLOAD_TYPES = ("json", "csv", "video", "subtitle", "audio")


def _public_headers(config: ClientConfig) -> dict[str, str]:
    return {
        "token": config.public_token,
        "key": config.public_key,
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }


def build_create_task(
    config: ClientConfig,
    *,
    spider_id: str,
    spider_name: str,
    parameters: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    file_name: str | None = None,
    include_errors: bool = True,
    universal_settings: Mapping[str, Any] | None = None,
    data_format: str | None = None,
    video: bool = False,
) -> ApiCall:
    """Return the builder call that creates a scraper task.

    :param parameters: one parameter object, or a list of them (one per input, e.g. per URL).
    :param file_name: result file name; ``{{TasksID}}`` (the default) is the task id.
    :param include_errors: ask the service to include failed inputs in the result.
    :param universal_settings: the builder's common settings (``spider_universal``).
    :param data_format: ``json``, ``csv`` or ``xlsx``; the service's default when ``None``.
    :param video: use the video builder (YouTube and other video spiders).
    :raises ValueError: an argument is invalid, or the scraper token is not configured.
    """
    if config.scraper_token is None:
        raise ValueError(
            f"The '{form_label('password')}' (password) field of Airflow connection "
            f"'{config.conn_id}' is empty: creating a scraper task needs it. Copy it from the "
            "Web Scraper API page of the Thordata dashboard."
        )
    form = {
        "spider_id": _required_text("spider_id", spider_id),
        "spider_name": _required_text("spider_name", spider_name),
        "spider_parameters": _json_text(_parameter_list(parameters)),
        "spider_errors": "true" if include_errors else "false",
        "file_name": DEFAULT_FILE_NAME if file_name is None else _required_text("file_name", file_name),
    }
    if universal_settings is not None:
        if not isinstance(universal_settings, Mapping):
            raise ValueError(
                f"universal_settings must be a mapping of setting names to values, got "
                f"{type(universal_settings).__name__}"
            )
        form["spider_universal"] = _json_text(dict(universal_settings))
    if data_format is not None:
        fmt = str(data_format).strip().lower()
        if fmt not in DATA_FORMATS:
            raise ValueError(f"data_format must be one of {', '.join(DATA_FORMATS)}, got {data_format!r}")
        form["data_format"] = fmt

    endpoint = VIDEO_BUILDER if video else BUILDER
    headers = {"Authorization": f"Bearer {config.scraper_token}", **_public_headers(config)}
    return ApiCall(
        endpoint=endpoint,
        url=f"{config.scraper_api_url}/{endpoint}",
        headers=headers,
        form=form,
        conn_id=config.conn_id,
    )


def build_tasks_status(config: ClientConfig, task_ids: Iterable[str]) -> ApiCall:
    """Return the ``tasks-status`` call for up to :data:`STATUS_BATCH_SIZE` ids.

    :raises ValueError: an id is invalid, or there are none or too many.
    """
    ids = validate_task_ids(task_ids)
    if not ids or len(ids) > STATUS_BATCH_SIZE:
        raise ValueError(f"one tasks-status call carries 1 to {STATUS_BATCH_SIZE} ids, got {len(ids)}")
    return ApiCall(
        endpoint=TASKS_STATUS,
        url=f"{config.web_scraper_api_url}/{TASKS_STATUS}",
        headers=_public_headers(config),
        form={"tasks_ids": ",".join(ids)},
        conn_id=config.conn_id,
        task_ids=ids,
    )


def build_tasks_download(config: ClientConfig, task_id: str, file_type: str = "json") -> ApiCall:
    """Return the ``tasks-download`` call for one result file.

    :param file_type: ``json``, ``csv``, ``video``, ``subtitle`` or ``audio``.
    :raises ValueError: the id or the file type is invalid.
    """
    (task_id,) = validate_task_ids([task_id])
    kind = str(file_type).strip().lower()
    if kind not in DOWNLOAD_TYPES:
        raise ValueError(f"file_type must be one of {', '.join(DOWNLOAD_TYPES)}, got {file_type!r}")
    return ApiCall(
        endpoint=TASKS_DOWNLOAD,
        url=f"{config.web_scraper_api_url}/{TASKS_DOWNLOAD}",
        headers=_public_headers(config),
        form={"tasks_id": task_id, "type": kind},
        conn_id=config.conn_id,
        task_ids=(task_id,),
    )


def build_result_file(download: ApiCall, url: str, *, max_bytes: int) -> ApiCall:
    """Return the ``GET`` of a result file at ``url``, the answer to the ``download`` call.

    It carries no credential: the file lives on a storage host, not on Thordata's API, and
    the URL alone grants access. Redirects are not followed, like every call of this hook.

    :raises ThordataAPIError: ``url`` is not an http(s) URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _shape_error(download, "data.download is not an http(s) URL")
    return ApiCall(
        endpoint=RESULT_FILE,
        url=url,
        headers={"User-Agent": USER_AGENT, "Accept": "*/*"},
        form={},
        conn_id=download.conn_id,
        task_ids=download.task_ids,
        method="GET",
        max_bytes=max_bytes,
        envelope=False,
    )


def build_tasks_list(config: ClientConfig, page: int = 1, size: int = 20) -> ApiCall:
    """Return the ``tasks-list`` call for one page (``page`` counts from 1).

    :raises ValueError: ``page`` or ``size`` is not a positive integer.
    """
    for name, value in (("page", page), ("size", size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return ApiCall(
        endpoint=TASKS_LIST,
        url=f"{config.web_scraper_api_url}/{TASKS_LIST}",
        headers=_public_headers(config),
        form={"page": str(page), "size": str(size)},
        conn_id=config.conn_id,
    )


def validate_task_ids(task_ids: Iterable[str] | str) -> tuple[str, ...]:
    """Return the ids stripped and without duplicates, in their first order.

    A single string is one id, not a sequence of characters.

    :raises ValueError: an id is empty, not a string, or holds a comma or whitespace.
    """
    items = [task_ids] if isinstance(task_ids, str) else list(task_ids)
    seen: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"a Thordata task id must be a non-empty string, got {item!r}")
        text = item.strip()
        if "," in text or any(ch.isspace() for ch in text):
            raise ValueError(f"a Thordata task id holds no comma or whitespace, got {text!r}")
        seen.setdefault(text, None)
    return tuple(seen)


def chunk_task_ids(task_ids: Iterable[str] | str, size: int = STATUS_BATCH_SIZE) -> list[tuple[str, ...]]:
    """Return the validated ids in chunks of at most ``size``, one per ``tasks-status`` call."""
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    ids = validate_task_ids(task_ids)
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _required_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip()


def _parameter_list(parameters: object) -> list[dict[str, Any]]:
    if isinstance(parameters, Mapping):
        items: list[object] = [parameters]
    elif isinstance(parameters, (str, bytes)) or not isinstance(parameters, Iterable):
        raise ValueError(
            "parameters must be a mapping such as {'url': 'https://...'} or a list of them, got "
            f"{type(parameters).__name__}"
        )
    else:
        items = list(parameters)
    if not items:
        raise ValueError("parameters must hold at least one parameter object")
    result = []
    for position, item in enumerate(items):
        if not isinstance(item, Mapping) or not all(isinstance(key, str) for key in item):
            raise ValueError(
                f"parameters[{position}] must be a mapping with string keys, got {type(item).__name__}"
            )
        result.append(dict(item))
    return result


def _json_text(value: object) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the builder's JSON fields must hold JSON values only: {exc}") from None
