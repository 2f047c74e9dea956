"""Header names a header template cannot set: the webhook sender's own, and its HTTP client's.

One list for both sides: the template language warns about these names when a template is
built, and the webhook hook drops them from what a template rendered. The product token every
request of this provider names itself with is here too, built once from the package version.
"""

from __future__ import annotations

from airflow_provider_thordata import __version__

#: How this provider names itself: the webhook ``Request-Origin``, and the start of the
#: ``User-Agent`` of webhooks and of Web Scraper API calls.
PRODUCT_TOKEN = f"airflow-provider-thordata/{__version__}"

#: Set by the sender on every delivery: Thordata's reserved names, the Standard Webhooks
#: signature headers, and the User-Agent.
SENDER_HEADERS: tuple[str, ...] = (
    "Host",
    "Content-Type",
    "User-Agent",
    "Request-Origin",
    "Webhook",
    "Webhook-Dispatch-Id",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
)

#: Owned by the HTTP client: they describe the connection or the message framing, and a
#: template value (a wrong Content-Length, say) would corrupt the request.
CLIENT_HEADERS: tuple[str, ...] = (
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Keep-Alive",
    "TE",
    "Trailer",
    "Upgrade",
)
