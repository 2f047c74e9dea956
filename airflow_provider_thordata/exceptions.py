"""Every exception this provider raises, in one small family.

Callers branch on types and attributes, never on message text. No message or attribute
ever holds a credential, a signing secret, a header value or a URL's query string.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class ThordataError(Exception):
    """Base class of every error raised by this provider."""


# -- templates -------------------------------------------------------------------------------


class TemplateError(ThordataError, ValueError):
    """A payload or header template is invalid, or could not be rendered with the given data.

    :param message: what is wrong and what to change.
    :param line: 1-based line of the template where the problem is, when it has a position.
    :param column: 1-based column of that position.
    """

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class TemplateSyntaxError(TemplateError):
    """A placeholder is malformed: unterminated, empty, a statement block, or not an expression."""


class TemplateJSONError(TemplateError):
    """Apart from its placeholders, the template is not valid JSON."""


class UnknownVariableError(TemplateError):
    """A placeholder uses a variable that is not one of the allowed roots.

    :param variable: the offending root name.
    """

    def __init__(
        self, message: str, *, variable: str, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(message, line=line, column=column)
        self.variable = variable


class HeaderTemplateError(TemplateError):
    """A header template breaks a header rule (name, value type, or a rendered value).

    :param header: the header name concerned, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        header: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message, line=line, column=column)
        self.header = header


class TemplateRenderError(TemplateError):
    """A valid template failed on the data it was rendered with."""


class ReservedHeaderWarning(UserWarning):
    """A header template sets a header that the sender always sets itself; the entry is dropped.

    :param message: names the header and its position.
    :param header: the header name as written in the template.
    :param line: 1-based line of the header name.
    :param column: 1-based column of the header name.
    """

    def __init__(self, message: str, *, header: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.header = header
        self.line = line
        self.column = column


# -- Thordata API ----------------------------------------------------------------------------


class ThordataAPIError(ThordataError):
    """A call to Thordata's API failed.

    :param message: what failed and, for credential and validation problems, what to fix.
    :param endpoint: the API operation, such as ``tasks-status`` (never a full URL).
    :param code: the envelope ``code`` when the answer had one, otherwise ``None``.
    :param http_status: the HTTP status, or ``None`` when no response arrived.
    :param retryable: whether trying again later can succeed (rate limit, 5xx, transport).
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        code: int | None = None,
        http_status: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.code = code
        self.http_status = http_status
        self.retryable = retryable

    def to_dict(self) -> dict[str, Any]:
        """Return the error as plain values, for trigger events and XCom."""
        return {
            "message": self.message,
            "endpoint": self.endpoint,
            "code": self.code,
            "http_status": self.http_status,
            "retryable": self.retryable,
        }


# -- webhook delivery ------------------------------------------------------------------------


class UnsafeWebhookTargetError(ThordataError, ValueError):
    """The request forgery guard refused a webhook target before anything was sent.

    :param message: names the host, the address class and the ``allowed_targets`` remedy.
    :param host: the target host name (never the full URL).
    :param address: the refused address, when the refusal is about a resolved address.
    :param address_class: ``loopback``, ``private``, ``link-local``, ``carrier-grade NAT``, ...
    :param record: the delivery record with outcome ``refused`` (no attempt made), so that callers
        that log failed deliveries instead of raising can keep one for this one too. The webhook
        hook always sets it when a delivery was refused; ``None`` when no delivery was involved.
    """

    def __init__(
        self,
        message: str,
        *,
        host: str,
        address: str | None = None,
        address_class: str | None = None,
        record: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.host = host
        self.address = address
        self.address_class = address_class
        self.record: dict[str, Any] | None = None if record is None else dict(record)


class WebhookDeliveryError(ThordataError):
    """A webhook could not be delivered after every attempt allowed.

    Raised by the webhook hook for one delivery, and by the lifecycle dispatch for an event
    whose deliveries to some integrations failed; then ``records`` holds the outcome of every
    integration the event went to, delivered ones included, so nothing is lost for the caller.

    :param message: what happened, with the dispatch id, never a header value or secret.
    :param record: the delivery record (dispatch id, event type, status code, attempts,
        elapsed milliseconds, outcome), the same plain dict a success returns; for an event
        with several failures, the first failure's.
    :param records: every delivery record of the event, in the order of its integrations;
        ``[record]`` when not given.
    """

    def __init__(
        self,
        message: str,
        *,
        record: Mapping[str, Any],
        records: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.record = dict(record)
        self.records = [self.record] if records is None else [dict(item) for item in records]
