"""Provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point.

Airflow loads this dict while ``airflow.configuration`` initialises, in every process, and
validates it against its own JSON schema: an invalid dict breaks ``import airflow`` for
everyone. Keep it a literal with no imports beyond the package version, and change it only
together with ``tests/test_get_provider_info.py``, which validates it against the installed
Airflow's schemas.

The connection forms are declared here, once: Airflow 3.3 builds the UI form from
``conn-fields`` and ``ui-field-behaviour`` alone and never asks the hook classes.
"""

from __future__ import annotations

from typing import Any

INTEGRATION = "Thordata Web Scraper API"
PACKAGE = "airflow_provider_thordata"


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow validates and registers."""
    return {
        "package-name": "airflow-provider-thordata",
        "name": "Thordata",
        "description": (
            "Create and watch `Thordata <https://www.thordata.com/>`__ Web Scraper API tasks and "
            "deliver signed, deduplicated lifecycle webhooks from Airflow."
        ),
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://doc.thordata.com/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [f"{PACKAGE}.hooks.thordata", f"{PACKAGE}.hooks.webhook"],
            }
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [f"{PACKAGE}.operators.scraper", f"{PACKAGE}.operators.webhook"],
            }
        ],
        "sensors": [
            {"integration-name": INTEGRATION, "python-modules": [f"{PACKAGE}.sensors.scraper"]},
        ],
        "triggers": [
            {"integration-name": INTEGRATION, "python-modules": [f"{PACKAGE}.triggers.scraper"]},
        ],
        "notifications": [f"{PACKAGE}.notifications.webhook.ThordataWebhookNotifier"],
        "connection-types": [_THORDATA_CONNECTION, _WEBHOOK_CONNECTION],
    }


_THORDATA_CONNECTION: dict[str, Any] = {
    "connection-type": "thordata",
    "hook-class-name": f"{PACKAGE}.hooks.thordata.ThordataHook",
    "hook-name": "Thordata",
    "ui-field-behaviour": {
        "hidden-fields": ["host", "port", "schema", "login"],
        "relabeling": {"password": "Scraper token"},
        "placeholders": {
            "password": "Scraper token (only to create tasks); public token and key: Extra Fields",
        },
    },
    "conn-fields": {
        "public_token": {
            "label": "Public API token",
            "description": "Public token from the dashboard's API settings, sent as the 'token' header.",
            "schema": {"type": ["string", "null"], "format": "password"},
        },
        "public_key": {
            "label": "Public API key",
            "description": "Public key paired with the public token, sent as the 'key' header.",
            "schema": {"type": ["string", "null"], "format": "password"},
        },
        "user_id": {
            "label": "User ID",
            "description": "Your Thordata user id, e.g. 3406; webhook templates see it as {{userId}}.",
            "schema": {"type": ["string", "null"]},
        },
        "scraper_api_url": {
            "label": "Scraper API base URL",
            "description": "Overrides https://scraperapi.thordata.com (the task builder); leave empty.",
            "schema": {"type": ["string", "null"], "format": "url"},
        },
        "web_scraper_api_url": {
            "label": "Web Scraper API base URL",
            "description": (
                "Overrides https://openapi.thordata.com/api/web-scraper-api (status, download, "
                "list); leave empty."
            ),
            "schema": {"type": ["string", "null"], "format": "url"},
        },
    },
}

_WEBHOOK_CONNECTION: dict[str, Any] = {
    "connection-type": "thordata_webhook",
    "hook-class-name": f"{PACKAGE}.hooks.webhook.ThordataWebhookHook",
    "hook-name": "Thordata Webhook",
    "ui-field-behaviour": {
        "hidden-fields": ["port", "schema", "login"],
        "relabeling": {"host": "Target URL", "password": "Signing secret"},
        "placeholders": {
            "host": "https://hooks.example.com/thordata",
            "password": "whsec_... (optional: signs deliveries per Standard Webhooks)",
        },
    },
    "conn-fields": {
        "timeout": {
            "label": "Timeout (seconds)",
            "description": "Time allowed for each delivery attempt (fractions allowed, e.g. 0.5).",
            "schema": {"type": ["number", "null"], "default": 30, "minimum": 0.1, "maximum": 300},
        },
        "max_attempts": {
            "label": "Maximum attempts",
            "description": "Delivery attempts before giving up, the first one included.",
            "schema": {"type": ["integer", "null"], "default": 5, "minimum": 1, "maximum": 20},
        },
        "allowed_targets": {
            "label": "Allowed private targets",
            "description": (
                "Comma-separated hosts or CIDR ranges that may resolve to private, loopback or "
                "link-local addresses (the request forgery guard refuses them otherwise), e.g. "
                "hooks.internal, 10.0.0.0/8."
            ),
            "schema": {"type": ["string", "null"]},
        },
    },
}
