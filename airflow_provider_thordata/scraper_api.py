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
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from functools import cache
from typing import Any, TypeVar
from urllib.parse import urlsplit

from airflow_provider_thordata import __version__
from airflow_provider_thordata.exceptions import ThordataAPIError

DEFAULT_SCRAPER_API_URL = "https://scraperapi.thordata.com"
DEFAULT_WEB_SCRAPER_API_URL = "https://openapi.thordata.com/api/web-scraper-api"

BUILDER = "builder"
VIDEO_BUILDER = "video_builder"
TASKS_STATUS = "tasks-status"
TASKS_DOWNLOAD = "tasks-download"
TASKS_LIST = "tasks-list"
#: The GET of a result file from the URL ``tasks-download`` answered (not one of Thordata's
#: endpoints: the file host, which gets no credential).
RESULT_FILE = "result-file"

#: Ids carried by one ``tasks-status`` call; longer lists are split into several calls.
STATUS_BATCH_SIZE = 100
#: ``file_name`` sent when the caller gives none: the service names the file after the task id.
DEFAULT_FILE_NAME = "{{TasksID}}"
DATA_FORMATS = ("json", "csv", "xlsx")
DOWNLOAD_TYPES = ("json", "csv", "video", "subtitle", "audio")
USER_AGENT = f"airflow-provider-thordata/{__version__}"
#: Largest result file :func:`download_result_plan` reads into memory unless told otherwise.
DEFAULT_MAX_RESULT_BYTES = 100 * 1024 * 1024


_T = TypeVar("_T")
#: A multi-step operation: yields calls, receives each call's envelope ``data``, returns a value.
Plan = Generator["ApiCall", Any, _T]


@cache
def form_label(field_name: str) -> str:
    """Return the label the Airflow connection form shows for a ``thordata`` connection field.

    The form is declared once, in ``get_provider_info``; error messages quote its labels so
    that users know which box to fill in. ``password`` is the scraper token.
    """
    from airflow_provider_thordata.get_provider_info import get_provider_info

    (connection,) = (
        item for item in get_provider_info()["connection-types"] if item["connection-type"] == "thordata"
    )
    if field_name in connection["conn-fields"]:
        return str(connection["conn-fields"][field_name]["label"])
    return str(connection["ui-field-behaviour"]["relabeling"].get(field_name, field_name))


# -- statuses --------------------------------------------------------------------------------


class TaskStatus(str, Enum):
    """The status of a scraper task, normalised from whatever spelling the service used."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminal(self) -> bool:
        """Return whether the task will not change any more (succeeded, failed or cancelled)."""
        return self in (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED)


# The documentation lists Running, Failed and Ready; Thordata's official SDK also accepts the
# other spellings. "collecting" is the SDK's word for a task that is gathering its data: it is
# neither finished nor waiting, so it counts as running (mapping it to unknown would hide the
# RUNNING lifecycle event and log a warning for a perfectly normal state).
_STATUS_SPELLINGS: dict[str, TaskStatus] = {
    "pending": TaskStatus.PENDING,
    "running": TaskStatus.RUNNING,
    "collecting": TaskStatus.RUNNING,
    "ready": TaskStatus.SUCCEEDED,
    "success": TaskStatus.SUCCEEDED,
    "succeeded": TaskStatus.SUCCEEDED,
    "finished": TaskStatus.SUCCEEDED,
    "failed": TaskStatus.FAILED,
    "error": TaskStatus.FAILED,
    "cancelled": TaskStatus.CANCELLED,
    "canceled": TaskStatus.CANCELLED,
}


def normalize_status(raw: object) -> TaskStatus:
    """Return the :class:`TaskStatus` for a status as the service spelled it (any case).

    Anything not recognised is :attr:`TaskStatus.UNKNOWN`; the caller logs it, once per value.
    """
    if not isinstance(raw, str):
        return TaskStatus.UNKNOWN
    return _STATUS_SPELLINGS.get(raw.strip().lower(), TaskStatus.UNKNOWN)


@dataclass(frozen=True)
class ObservedStatus:
    """One task's status as observed in a ``tasks-status`` answer.

    :param status: the normalised status.
    :param raw: the value exactly as the service sent it (``""`` when it sent none).
    """

    status: TaskStatus
    raw: str


@dataclass(frozen=True)
class TaskPage:
    """One page of the task list.

    :param count: the number of tasks in the whole list, as the service reports it.
    :param tasks: the records of this page, in the service's order, in the ``resource`` shape
        of :func:`task_record` (``apiKey`` redacted).
    """

    count: int
    tasks: tuple[dict[str, Any], ...]


# -- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientConfig:
    """Validated connection values: where to send calls and which credentials to send.

    :param conn_id: the Airflow connection these values came from (named in error messages).
    :param public_token: the public API token (``token`` header).
    :param public_key: the public API key (``key`` header).
    :param scraper_token: the scraper token (Bearer, builder only); ``None`` when not set,
        which only matters once a task is created.
    :param user_id: the Thordata user id, for the ``{{userId}}`` variable.
    :param scraper_api_url: base URL of the builder, without a trailing slash.
    :param web_scraper_api_url: base URL of the status, download and list calls.
    """

    conn_id: str
    public_token: str = field(repr=False)
    public_key: str = field(repr=False)
    scraper_token: str | None = field(default=None, repr=False)
    user_id: str | None = None
    scraper_api_url: str = DEFAULT_SCRAPER_API_URL
    web_scraper_api_url: str = DEFAULT_WEB_SCRAPER_API_URL

    @classmethod
    def from_connection(
        cls, conn_id: str, *, password: str | None, extra: Mapping[str, Any] | None
    ) -> ClientConfig:
        """Return the config for an Airflow connection's password and extras.

        Extras may arrive as strings (a connection in URI form) or with surrounding blanks;
        empty values and the literals ``None``/``null`` count as unset. A missing public token
        or key raises at once, naming the form field and the connection.

        :raises ValueError: a required credential is missing or a base URL is malformed.
        """
        values = dict(extra or {})
        return cls(
            conn_id=conn_id,
            public_token=_required_credential(conn_id, values, "public_token"),
            public_key=_required_credential(conn_id, values, "public_key"),
            scraper_token=_blank_to_none(password),
            user_id=_connection_value(values, "user_id"),
            scraper_api_url=_base_url(conn_id, values, "scraper_api_url", DEFAULT_SCRAPER_API_URL),
            web_scraper_api_url=_base_url(
                conn_id, values, "web_scraper_api_url", DEFAULT_WEB_SCRAPER_API_URL
            ),
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Return every credential that is set, for masking and scrubbing."""
        return tuple(s for s in (self.scraper_token, self.public_token, self.public_key) if s)


def _blank_to_none(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.lower() in ("none", "null"):
        return None
    return text


def _connection_value(extra: Mapping[str, Any], name: str) -> str | None:
    # Connections saved by Airflow 2 forms prefix their extras with the connection type.
    value = extra.get(name)
    if _blank_to_none(value) is None:
        value = extra.get(f"extra__thordata__{name}")
    return _blank_to_none(value)


def _required_credential(conn_id: str, extra: Mapping[str, Any], name: str) -> str:
    value = _connection_value(extra, name)
    if value is None:
        raise ValueError(
            f"The '{form_label(name)}' field of Airflow connection '{conn_id}' is empty: Thordata needs the "
            "public token and key for every call. Copy them from the API settings of the Thordata "
            "dashboard."
        )
    return value


def _base_url(conn_id: str, extra: Mapping[str, Any], name: str, default: str) -> str:
    value = _connection_value(extra, name)
    if value is None:
        return default
    label = form_label(name)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"The '{label}' field of Airflow connection '{conn_id}' must be an http(s) URL such "
            f"as {default}; leave it empty to use that default."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"The '{label}' field of Airflow connection '{conn_id}' must hold no query, fragment "
            "or user info: credentials belong in the token and key fields."
        )
    return value.rstrip("/")


# -- requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCall:
    """One request, ready to send: the shells POST ``form`` to ``url`` with ``headers``.

    Its ``repr`` leaves out the headers, which hold credentials.

    :param endpoint: the operation, such as ``tasks-status`` (what logs and errors name).
    :param url: the full URL. An API call's never holds a credential; a result file's may
        carry the file host's signed query, so the ``repr`` leaves it out too.
    :param headers: the request headers, credentials included (``Authorization``, ``token``,
        ``key``).
    :param form: the form fields, sent ``application/x-www-form-urlencoded``.
    :param conn_id: the Airflow connection, named in error messages.
    :param task_ids: the task ids the call is about, for logs.
    :param method: ``POST`` for every call of the API; ``GET`` for a result file.
    :param max_bytes: the largest answer body to read (``None``: no limit); a longer one fails
        the call without being read to its end.
    :param envelope: the answer is the API's ``{code, msg, data}`` envelope; ``False`` for a
        result file, whose body is returned as it is (see :func:`interpret_file_response`).
    """

    endpoint: str
    url: str = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)
    form: Mapping[str, str]
    conn_id: str
    task_ids: tuple[str, ...] = ()
    method: str = "POST"
    max_bytes: int | None = None
    envelope: bool = True

    def describe(self) -> str:
        """Return the endpoint and its task ids in a short form fit for a log line."""
        if not self.task_ids:
            return self.endpoint
        shown = ", ".join(self.task_ids[:3])
        more = f" and {len(self.task_ids) - 3} more" if len(self.task_ids) > 3 else ""
        return f"{self.endpoint} [{shown}{more}]"


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


# -- answers ---------------------------------------------------------------------------------

#: Envelope codes and HTTP statuses worth retrying: 10011 is Thordata's "frequent operations,
#: try again later"; 429 is the HTTP rate limit; 5xx are server faults. 402 is deliberately
#: not retried, although Thordata's SDK spec files it under rate limits: it is also what an
#: exhausted balance looks like, which waiting does not fix.
_RETRYABLE_CODES = frozenset({10011, 429})
_AUTH_CODES = frozenset({401, 403, 10013, 10014})
_VALIDATION_CODES = frozenset({400, 404, 422, 10000})
_MESSAGE_KEYS = ("msg", "message", "error", "detail", "description")
_CREDENTIAL_HEADERS = ("Authorization", "token", "key")
_MAX_MESSAGE = 300


def interpret_response(call: ApiCall, http_status: int, body: bytes) -> Any:
    """Return the envelope's ``data`` for a successful answer, or raise what went wrong.

    The effective error is the envelope ``code`` when present and not 200, otherwise the HTTP
    status. A body that is not JSON counts as a transient server fault (a gateway or a cut
    connection produces it; the real service does not), so it is retried.

    :raises ThordataAPIError: the call failed; ``retryable`` says whether to try again.
    """
    try:
        envelope = json.loads(body) if body else None
    except ValueError:
        envelope = None
        if 200 <= http_status < 300:
            raise ThordataAPIError(
                f"Thordata {call.endpoint} answered HTTP {http_status} with a body that is not JSON",
                endpoint=call.endpoint,
                http_status=http_status,
                retryable=True,
            ) from None

    code = _envelope_code(envelope)
    message = _scrub(_service_message(envelope), call)
    if code is not None and code != 200:
        raise _classified_error(call, code, message, code=code, http_status=http_status)
    if not 200 <= http_status < 300:
        raise _classified_error(call, http_status, message, code=code, http_status=http_status)
    if code is None:
        raise ThordataAPIError(
            f"Thordata {call.endpoint} answered without the expected {{code, msg, data}} envelope",
            endpoint=call.endpoint,
            http_status=http_status,
        )
    return envelope.get("data") if isinstance(envelope, dict) else None


def interpret_file_response(call: ApiCall, http_status: int, body: bytes) -> bytes:
    """Return a result file's bytes for a successful answer, or raise what went wrong.

    408, 425, 429 and 5xx are retried; a 404 or 403 is not (the URL expired or the file is
    gone: ask ``tasks-download`` again); a redirect is refused, as it is everywhere else.

    :raises ThordataAPIError: the file could not be read; ``retryable`` says whether to try again.
    """
    if 200 <= http_status < 300:
        return body
    head = (
        f"Reading the result file of Thordata task {', '.join(call.task_ids)} failed with HTTP {http_status}"
    )
    if http_status in (408, 425, 429) or 500 <= http_status <= 599:
        text, retryable = f"{head} (temporary)", True
    elif http_status in (403, 404, 410):
        text, retryable = f"{head}: the download URL expired or the file is gone; download it again", False
    elif 300 <= http_status <= 399:
        text, retryable = f"{head}: the file host redirected, and redirects are not followed", False
    else:
        text, retryable = head, False
    raise ThordataAPIError(text, endpoint=call.endpoint, http_status=http_status, retryable=retryable)


class BodyReader:
    """Collect an answer's body, refusing one longer than the call's ``max_bytes``.

    The shells feed it the chunks they stream, so an oversized file is refused as soon as it
    says or shows its size, never read into memory whole.

    :param call: the call being answered.
    :param content_length: the answer's ``Content-Length`` header, if it had one.
    :raises ThordataAPIError: the declared length is over the limit.
    """

    def __init__(self, call: ApiCall, content_length: str | None) -> None:
        self.call = call
        self._chunks: list[bytes] = []
        self._size = 0
        declared = content_length.strip() if content_length else ""
        if declared.isdigit():
            self._check(int(declared))

    def add(self, chunk: bytes) -> None:
        """Take the next chunk of the body.

        :raises ThordataAPIError: the body grew over the limit.
        """
        self._size += len(chunk)
        self._check(self._size)
        self._chunks.append(chunk)

    @property
    def content(self) -> bytes:
        """Return the whole body read so far."""
        return b"".join(self._chunks)

    def _check(self, size: int) -> None:
        limit = self.call.max_bytes
        if limit is not None and size > limit:
            raise ThordataAPIError(
                f"The {self.call.endpoint} answer for Thordata task {', '.join(self.call.task_ids) or '-'} "
                f"is larger than max_bytes ({limit} bytes); raise max_bytes, or download the file "
                "from the task's jsonUrl/csvUrl with a streaming client",
                endpoint=self.call.endpoint,
            )


def transport_error(call: ApiCall, exc: BaseException, *, request_sent: bool = True) -> ThordataAPIError:
    """Return the error for a call that got no answer (connection failure, timeout, cut).

    Retryable, except when a builder request may have reached the service: the task may then
    exist, and sending again would create (and bill) a second one.

    :param request_sent: whether the request may have reached the service (``False`` only
        when the connection was never established).
    """
    detail = _scrub(str(exc) or type(exc).__name__, call)
    text = f"Thordata {call.endpoint} got no answer ({type(exc).__name__}: {detail})"
    if request_sent and _creates_task(call):
        return ThordataAPIError(
            f"{text}. The task may have been created: look for it in the task list before creating it again",
            endpoint=call.endpoint,
        )
    return ThordataAPIError(text, endpoint=call.endpoint, retryable=True)


def _creates_task(call: ApiCall) -> bool:
    return call.endpoint in (BUILDER, VIDEO_BUILDER)


def _envelope_code(envelope: object) -> int | None:
    if not isinstance(envelope, dict):
        return None
    code = envelope.get("code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        return int(code)
    return None


def _service_message(envelope: object) -> str:
    if not isinstance(envelope, dict):
        return ""
    for key in _MESSAGE_KEYS:
        value = envelope.get(key)
        if isinstance(value, dict):
            value = value.get("message") or value.get("msg")
        if isinstance(value, str) and value.strip():
            text = value.strip()
            return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "..."
    return ""


def _scrub(text: str, call: ApiCall) -> str:
    # The service has no reason to echo a credential, but a message that did must not carry it on.
    for name in _CREDENTIAL_HEADERS:
        secret = call.headers.get(name, "").removeprefix("Bearer ")
        if len(secret) >= 4 and secret in text:
            text = text.replace(secret, "***")
    return text


def _classified_error(
    call: ApiCall, effective: int, message: str, *, code: int | None, http_status: int
) -> ThordataAPIError:
    origin = f"code {effective}" if code is not None and code != 200 else f"HTTP {effective}"
    said = f": {message}" if message else ""
    head = f"Thordata {call.endpoint} failed with {origin}{said}"

    if _creates_task(call) and effective in (500, 501):
        # Unlike a gateway's 502/503/504, these come from the service itself, which may have
        # created the task before failing: a retry could create and bill a duplicate.
        text, retryable = (
            f"{head}. The task may have been created: look for it in the task list before creating it again",
            False,
        )
    elif effective in _RETRYABLE_CODES or 500 <= effective <= 599:
        text, retryable = f"{head} (temporary)", True
    elif effective in _AUTH_CODES:
        text, retryable = f"{head}. {_credential_hint(call, effective)}", False
    elif effective in _VALIDATION_CODES:
        text, retryable = f"{head}. {_field_hint(call, message)}", False
    elif 300 <= effective <= 399:
        text, retryable = (
            f"{head}. Redirects are not followed (they could carry the credentials elsewhere): "
            f"check the base URLs of Airflow connection '{call.conn_id}'",
            False,
        )
    else:
        text, retryable = head, False
    return ThordataAPIError(
        text, endpoint=call.endpoint, code=code, http_status=http_status, retryable=retryable
    )


def _credential_hint(call: ApiCall, effective: int) -> str:
    # Thordata's naming is inconsistent: an older documentation revision calls the public pair
    # "sign" (10013) and "apiKey" (10014), while the task list calls the scraper token
    # "api_key". On the status, download and list calls only the public pair is sent, so it
    # is the one to fix. On the builder, 10013 ("sign error") points at the public pair and
    # 10014 ("apiKey error") at the scraper token; a bare 401/403 could be either.
    pair = f"'{form_label('public_token')}' and '{form_label('public_key')}' fields"
    where = f"of Airflow connection '{call.conn_id}'"
    if call.endpoint not in (BUILDER, VIDEO_BUILDER) or effective == 10013:
        return f"Check the {pair} {where}."
    if effective == 10014:
        return f"Check the '{form_label('password')}' (password) field {where}."
    return f"Check the '{form_label('password')}' (password) field, then the {pair} {where}."


def _field_hint(call: ApiCall, message: str) -> str:
    lowered = message.lower()
    named = [name for name in call.form if re.search(rf"\b{re.escape(name)}\b", lowered)]
    if named:
        return f"Check the {', '.join(named)} field{'s' if len(named) > 1 else ''} of the request."
    return f"Check the fields sent: {', '.join(call.form)}."


def _shape_error(call: ApiCall, what: str) -> ThordataAPIError:
    return ThordataAPIError(
        f"Thordata {call.endpoint} answered with an unexpected shape: {what}", endpoint=call.endpoint
    )


def parse_created_task_id(call: ApiCall, data: Any) -> str:
    """Return the id of the task a builder call created."""
    task_id = data.get("task_id") if isinstance(data, dict) else None
    if not isinstance(task_id, str) or not task_id.strip():
        raise _shape_error(call, "data.task_id is missing")
    return task_id.strip()


def parse_statuses(call: ApiCall, data: Any) -> dict[str, ObservedStatus]:
    """Return the statuses in a ``tasks-status`` answer, for the ids the call asked about.

    Ids the service does not know are simply absent, as they are from its answer.
    """
    if data is None:
        return {}
    if not isinstance(data, list):
        raise _shape_error(call, "data is not a list of {task_id, status}")
    wanted = set(call.task_ids)
    result: dict[str, ObservedStatus] = {}
    for item in data:
        task_id = item.get("task_id") if isinstance(item, dict) else None
        if not isinstance(task_id, str):
            raise _shape_error(call, "an item of data has no task_id")
        if task_id not in wanted:
            continue
        raw = item.get("status")
        raw_text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
        result[task_id] = ObservedStatus(status=normalize_status(raw_text), raw=raw_text)
    return result


def parse_download_url(call: ApiCall, data: Any) -> str:
    """Return the result file URL in a ``tasks-download`` answer."""
    url = data.get("download") if isinstance(data, dict) else None
    if not isinstance(url, str) or not url.strip():
        raise _shape_error(call, "data.download is missing")
    return url.strip()


def parse_task_list(call: ApiCall, data: Any) -> tuple[int, list[dict[str, Any]]]:
    """Return the total count and the raw (snake_case) items of a ``tasks-list`` answer."""
    if not isinstance(data, dict):
        raise _shape_error(call, "data is not an object with count and list")
    items = data.get("list") or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _shape_error(call, "data.list is not a list of objects")
    count = data.get("count")
    try:
        total = int(count) if count is not None else len(items)
    except (TypeError, ValueError):
        raise _shape_error(call, "data.count is not a number") from None
    return total, items


# -- the resource record ---------------------------------------------------------------------

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


def redact_token(token: object) -> str:
    """Return a token with all but a short prefix masked, like ``289f5c********************``.

    The prefix is at most 6 characters and never more than a quarter of the token; the mask
    has a fixed length, so it does not reveal the token's length either.
    """
    text = "" if token is None else str(token)
    if not text:
        return ""
    keep = min(6, len(text) // 4)
    return text[:keep] + "*" * 20


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


# -- plans: the multi-step operations, written once for both shells ---------------------------


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
