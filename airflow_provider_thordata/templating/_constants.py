"""The fixed vocabulary of the template language: variables, reserved headers, the default payload."""

from __future__ import annotations

from airflow_provider_thordata.headers import CLIENT_HEADERS, SENDER_HEADERS

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

#: Headers that belong to the sender or its HTTP client; a header template that sets one (in
#: any letter case) gets a ReservedHeaderWarning when it is built, and the header is dropped
#: from what it renders. The list is shared with the webhook hook (``headers.py``).
RESERVED_HEADERS: frozenset[str] = frozenset(SENDER_HEADERS + CLIENT_HEADERS)

#: Thordata's default payload template, exactly as the dashboard documents it.
DEFAULT_PAYLOAD_TEMPLATE = """{
"userId": "{{userId}}",
"createdAt": "{{createdAt}}",
"eventType": "{{eventType}}",
"eventData": "{{eventData}}",
"resource": "{{resource}}"
}"""
