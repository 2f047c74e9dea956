"""The seed's camelCase ``resource`` record of a task, built from a task-list item.

Secrets in it are redacted with :func:`redact_token`, which other modules use too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class TaskPage:
    """One page of the task list.

    :param count: the number of tasks in the whole list, as the service reports it.
    :param tasks: the records of this page, in the service's order, in the ``resource`` shape
        of :func:`task_record` (``apiKey`` redacted).
    """

    count: int
    tasks: tuple[dict[str, Any], ...]


#: Task-list keys renamed to the seed's camelCase ``resource`` keys. ``prodect_id`` keeps its
#: spelling (the seed's example shows it so, and templates pasted from Thordata's dashboard
#: use ``{{resource.prodect_id}}``).
_RENAMED = {
    "task_id": "taskId",
    "api_url": "apiUrl",
    "api_code": "apiCode",
    "api_result": "apiResult",
    "api_error_msg": "apiErrorMsg",
    "api_response_time": "apiResponseTime",
    "success_rate": "successRate",
    "file_size": "fileSize",
    "error_number": "errorNumber",
    "type": "type",
    "prodect_id": "prodect_id",
    "flow": "flow",
}
_EMPTY_TEXT_KEYS = ("apiUrl", "apiErrorMsg", "apiResult")
_URL_KEYS = ("jsonUrl", "csvUrl", "audioUrl", "videoUrl", "subtitleUrl")
_SECRET_WORDS = ("key", "token", "secret", "password", "sign")
_MASK = "*" * 20
_MAX_PREFIX = 6


def redact_token(token: object) -> str:
    """Return a token with all but a short prefix masked, like ``289f5c********************``.

    The prefix is at most 6 characters and never more than a quarter of the token; the mask
    has a fixed length, so it does not reveal the token's length either. A value this function
    already redacted comes back unchanged, so redacting twice is harmless.
    """
    text = "" if token is None else str(token)
    if not text:
        return ""
    if text.endswith(_MASK) and len(text) <= len(_MASK) + _MAX_PREFIX:
        return text
    keep = min(_MAX_PREFIX, len(text) // 4)
    return text[:keep] + _MASK


def task_record(
    item: Mapping[str, Any],
    *,
    json_url: str = "",
    csv_url: str = "",
    user_id: str | None = None,
) -> dict[str, Any]:
    """Return a task-list item in the seed's camelCase ``resource`` shape.

    ``createdAt`` and ``finishedAt`` become ISO 8601 (UTC) strings, ``finishedAt`` stays
    ``None`` while the task runs; ``url`` stays the JSON text the service sent and its spider
    fields are also given parsed (``spiderId``, ``spiderErrors``, ``spiderParameters``);
    ``apiKey`` (the scraper token) is redacted; result URLs not known are ``""`` as in the seed.
    Other keys the service may add are carried over in camelCase, secret-looking ones redacted.
    """
    record: dict[str, Any] = {
        "taskId": item.get("task_id"),
        "userId": item.get("user_id", user_id),
        "createdAt": _iso_time(item.get("created_time")),
        "finishedAt": _iso_time(item.get("end_time")),
    }
    for source, target in _RENAMED.items():
        record[target] = item.get(source)
    for key in _EMPTY_TEXT_KEYS:
        if record[key] is None:
            record[key] = ""
    record["apiKey"] = redact_token(item.get("api_key"))

    url_text = item.get("url")
    record["url"] = url_text if isinstance(url_text, str) else ("" if url_text is None else str(url_text))
    spider = _parse_spider_url(record["url"])
    record["spiderId"] = spider.get("spider_id")
    record["spiderErrors"] = spider.get("spider_errors")
    record["spiderParameters"] = spider.get("spider_parameters")

    for key in _URL_KEYS:
        record[key] = ""
    record["jsonUrl"] = json_url
    record["csvUrl"] = csv_url

    handled = {*_RENAMED, "task_id", "user_id", "created_time", "end_time", "api_key", "url"}
    for source, value in item.items():
        if source in handled:
            continue
        target = _camel(source)
        if target in record:
            continue
        secret = any(word in _SECRET_WORDS for word in source.lower().split("_"))
        record[target] = redact_token(value) if secret and value else value
    return record


def _iso_time(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not seconds > 0 or seconds == float("inf"):
        return None
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc).isoformat()


def _parse_spider_url(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
