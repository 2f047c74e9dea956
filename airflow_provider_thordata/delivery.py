"""One webhook delivery, without I/O: what is sent, which headers carry it, what an answer means.

The webhook hook's sync and async paths both build their requests and judge the answers here,
so the wire format and the retry decision are written once:

* :class:`Delivery` holds what one delivery sends: the exact body bytes, the event type, the
  integration name, the dispatch id and the extra headers rendered from a header template.
* :func:`request_headers` builds the headers of one attempt. The reserved headers always win
  over template ones, compared case-insensitively.
* :func:`classify_status` and :class:`Outcome` say what an answer means and whether another
  attempt may help.
* :class:`DeliveryRecord` is the plain result callers return as XCom. It holds no URL, no
  header value and no secret.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypedDict

from airflow_provider_thordata.headers import CLIENT_HEADERS as CLIENT_HEADER_NAMES
from airflow_provider_thordata.headers import PRODUCT_TOKEN, SENDER_HEADERS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from standardwebhooks.webhooks import Webhook

TEST_EVENT_TYPE = "TEST"
REQUEST_ORIGIN = PRODUCT_TOKEN
USER_AGENT = f"{PRODUCT_TOKEN} (+https://github.com/thordata/airflow-provider-thordata)"

#: Headers this provider always sets itself (lower case); a header template cannot replace them.
RESERVED_HEADERS = frozenset(name.lower() for name in SENDER_HEADERS)
#: Headers the HTTP client owns (lower case); a template value would corrupt the request.
CLIENT_HEADERS = frozenset(name.lower() for name in CLIENT_HEADER_NAMES)

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]{1,256}$")


class Outcome(str, enum.Enum):
    """What one attempt, and so a whole delivery, came to; the value is what records carry."""

    DELIVERED = "delivered"
    """The receiver answered 2xx."""
    REDIRECTED = "redirected"
    """The receiver answered 3xx. Redirects are never followed: fix the target URL."""
    GONE = "gone"
    """The receiver answered 410: the endpoint no longer exists; nothing is retried."""
    REJECTED = "rejected"
    """The receiver refused the request with another 4xx; retrying would not help."""
    UNAVAILABLE = "unavailable"
    """The receiver asked to come back later or failed on its side (408, 425, 429, 5xx)."""
    TIMEOUT = "timeout"
    """No answer within the connection's timeout."""
    CONNECTION_ERROR = "connection_error"
    """The host did not resolve, the connection failed, or it closed without an answer."""
    REFUSED = "refused"
    """The request forgery guard refused the target; nothing was sent."""
    RENDER_FAILED = "render_failed"
    """The integration's template failed on the event's data; nothing was sent."""
    ERROR = "error"
    """Something else stopped the delivery before a request, e.g. a missing connection."""

    @property
    def retryable(self) -> bool:
        """Return whether another attempt may succeed."""
        return self in (Outcome.UNAVAILABLE, Outcome.TIMEOUT, Outcome.CONNECTION_ERROR)


class DeliveryRecord(TypedDict):
    """The result of one delivery: plain values, safe for XCom and logs.

    ``status_code`` is the last HTTP status received (``None`` when no answer arrived),
    ``attempts`` the number of requests tried, ``elapsed_ms`` the time from the first attempt
    to the end including the waits between attempts, and ``outcome`` an :class:`Outcome` value.
    """

    dispatch_id: str
    event_type: str
    integration: str
    status_code: int | None
    attempts: int
    elapsed_ms: int
    outcome: str


@dataclass(frozen=True)
class Delivery:
    """What one webhook delivery sends, identical on every attempt.

    :param body: the exact bytes to POST: UTF-8 JSON, as rendered by a payload template.
    :param event_type: the event's wire value, such as ``SCRAPER.TASK.SUCCEEDED`` or ``TEST``.
    :param integration: the integration's name, sent as the ``Webhook`` header.
    :param dispatch_id: the receiver's deduplication key, sent as ``Webhook-Dispatch-Id`` and,
        when signing, as ``webhook-id``; visible ASCII, at most 256 characters.
    :param headers: extra headers rendered from a header template; reserved and framing
        headers among them are dropped when the request is built.
    """

    body: bytes
    event_type: str
    integration: str
    dispatch_id: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.body, bytes):
            raise TypeError(f"the webhook body must be bytes, got {type(self.body).__name__}")
        try:
            self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("the webhook body must be UTF-8 encoded JSON") from None
        _check_text("event type", self.event_type)
        _check_text("integration name", self.integration)
        if not isinstance(self.dispatch_id, str) or not _VISIBLE_ASCII.match(self.dispatch_id):
            raise ValueError(
                "the dispatch id must be 1 to 256 visible ASCII characters (no spaces), "
                f"got {self.dispatch_id!r}"
            )
        for name, value in self.headers.items():
            if not isinstance(name, str) or not _TOKEN.match(name):
                raise ValueError(f"header name {name!r} is not a valid HTTP header name")
            if not isinstance(value, str) or _CONTROL.search(value):
                raise ValueError(f"the value of header {name!r} must be text without line breaks")
        object.__setattr__(self, "headers", dict(self.headers))


@dataclass(frozen=True)
class AttemptResult:
    """How one attempt ended.

    :param outcome: what the answer (or its absence) means.
    :param status_code: the HTTP status, ``None`` when no answer arrived.
    :param retry_after: seconds the receiver asked to wait (``Retry-After``), if it did.
    :param elapsed_ms: how long the attempt took.
    :param error: the transport error's type name when no answer arrived, never its text.
    """

    outcome: Outcome
    status_code: int | None
    elapsed_ms: int
    retry_after: float | None = None
    error: str | None = None

    def describe(self) -> str:
        """Return a short, secret-free account of the attempt for logs and messages."""
        if self.status_code is not None:
            return f"HTTP {self.status_code} ({self.outcome.value}) in {self.elapsed_ms} ms"
        return f"{self.outcome.value} ({self.error}) after {self.elapsed_ms} ms"


def classify_status(status_code: int) -> Outcome:
    """Return what an HTTP status means for a webhook delivery."""
    if 200 <= status_code < 300:
        return Outcome.DELIVERED
    if 300 <= status_code < 400:
        return Outcome.REDIRECTED
    if status_code == 410:
        return Outcome.GONE
    if status_code in (408, 425, 429) or 500 <= status_code < 600:
        return Outcome.UNAVAILABLE
    return Outcome.REJECTED


def request_headers(
    delivery: Delivery, *, host: str, timestamp: int, signer: Webhook | None
) -> list[tuple[str, str]]:
    """Return the headers of one attempt: the reserved ones, then the template's others.

    :param host: the ``Host`` header value, naming the target as the user wrote it.
    :param timestamp: Unix seconds of this attempt, signed and sent as ``webhook-timestamp``.
    :param signer: the Standard Webhooks signer of the connection's secret, or ``None`` to send
        the delivery unsigned.
    """
    headers = [
        ("Host", host),
        ("Content-Type", "application/json"),
        ("User-Agent", USER_AGENT),
        ("Request-Origin", REQUEST_ORIGIN),
        ("Webhook", delivery.integration),
        ("Webhook-Dispatch-Id", delivery.dispatch_id),
    ]
    if signer is not None:
        headers += [
            ("webhook-id", delivery.dispatch_id),
            ("webhook-timestamp", str(timestamp)),
            ("webhook-signature", sign(signer, delivery.dispatch_id, timestamp, delivery.body)),
        ]
    owned = RESERVED_HEADERS | CLIENT_HEADERS
    headers += [(name, value) for name, value in delivery.headers.items() if name.lower() not in owned]
    return headers


def sign(signer: Webhook, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` value over ``<msg_id>.<timestamp>.<body>`` (scheme v1)."""
    when = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return signer.sign(msg_id, when, body.decode("utf-8"))


def record(
    delivery: Delivery, *, outcome: Outcome, status_code: int | None, attempts: int, elapsed_ms: int
) -> DeliveryRecord:
    """Return the XCom-safe record of a finished (or refused) delivery."""
    return DeliveryRecord(
        dispatch_id=delivery.dispatch_id,
        event_type=delivery.event_type,
        integration=delivery.integration,
        status_code=status_code,
        attempts=attempts,
        elapsed_ms=elapsed_ms,
        outcome=outcome.value,
    )


def _check_text(what: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"the {what} must be a non-empty string, got {value!r}")
    if _CONTROL.search(value) or len(value) > 256:
        raise ValueError(f"the {what} must be at most 256 characters without line breaks, got {value!r}")
