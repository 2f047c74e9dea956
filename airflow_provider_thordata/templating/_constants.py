"""The fixed vocabulary of the template language: variables, reserved headers, the default payload."""

from __future__ import annotations

#: The variable roots, in the seed's order, then the ``airflow`` root of this provider.
ALLOWED_VARIABLES_IN_ORDER = (
    "userId",
    "createdAt",
    "eventType",
    "eventData",
    "resource",
    "globals",
    "airflow",
)

#: Every root a placeholder may read; any other name is refused when a template is built.
ALLOWED_VARIABLES: frozenset[str] = frozenset(ALLOWED_VARIABLES_IN_ORDER)

#: Headers that belong to the sender; a header template that sets one (in any letter case) gets
#: a ReservedHeaderWarning when it is built, and the header is dropped from what it renders.
#: Thordata's reserved names and the Standard Webhooks ones come first; the sender also sets
#: User-Agent, and the HTTP client owns the framing headers (a template value would corrupt the
#: request), so the webhook hook drops those too: a template gets the same warning for them.
RESERVED_HEADERS: frozenset[str] = frozenset(
    {
        "Host",
        "Content-Type",
        "Webhook",
        "Webhook-Dispatch-Id",
        "Request-Origin",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "User-Agent",
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "Keep-Alive",
        "TE",
        "Trailer",
        "Upgrade",
    }
)

#: Thordata's default payload template, exactly as the dashboard documents it.
DEFAULT_PAYLOAD_TEMPLATE = """{
"userId": "{{userId}}",
"createdAt": "{{createdAt}}",
"eventType": "{{eventType}}",
"eventData": "{{eventData}}",
"resource": "{{resource}}"
}"""
