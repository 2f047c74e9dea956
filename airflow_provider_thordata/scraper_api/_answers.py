"""Read the answers of the Web Scraper API: the envelope, result files and failures.

Every failure becomes a :class:`~airflow_provider_thordata.exceptions.ThordataAPIError` that
says whether to retry and what to fix; the ``parse_*`` functions read the ``data`` of each
endpoint's answer.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from airflow_provider_thordata.exceptions import ThordataAPIError
from airflow_provider_thordata.scraper_api._calls import BUILDER, VIDEO_BUILDER
from airflow_provider_thordata.scraper_api._config import form_label
from airflow_provider_thordata.scraper_api._statuses import ObservedStatus, normalize_status

if TYPE_CHECKING:
    from airflow_provider_thordata.scraper_api._calls import ApiCall


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
