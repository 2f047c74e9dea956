"""Validate a ``thordata_webhook`` connection once, with messages that name the field to fix.

The form itself is declared in ``get_provider_info.py``; the bounds here must match it
(``tests/hooks/test_webhook.py`` checks that they do). Nothing here imports Airflow: the hook
passes the connection's fields in and masks the secrets this module points out.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from standardwebhooks.webhooks import Webhook

from airflow_provider_thordata.exceptions import UnsafeWebhookTargetError
from airflow_provider_thordata.target_guard import AllowedTargets, parse_target_url

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

TIMEOUT_RANGE = (0.1, 300.0)
MAX_ATTEMPTS_RANGE = (1, 20)
DEFAULT_TIMEOUT = 30.0
KNOWN_EXTRAS = frozenset({"timeout", "max_attempts", "allowed_targets"})
KEY_PREFIX = "whsec_"
KEY_BYTES = (24, 64)


@dataclass(frozen=True)
class WebhookTarget:
    """A validated ``thordata_webhook`` connection.

    :param conn_id: the connection id, for messages.
    :param url: the target URL, parsed once (its query and user info are secrets).
    :param host: the target's host name (IDNA), the only part of the URL that logs and errors show.
    :param signer: the Standard Webhooks signer built from the secret, or ``None`` to send unsigned.
    :param timeout: seconds allowed for each attempt (connect, send, wait for the answer).
    :param max_attempts: attempts allowed, or ``None`` to use the back-off policy's.
    :param allowed: exemptions from the request forgery guard.
    :param ignored_extras: extras this connection type does not know (probably typos).
    :param secrets: values to mask in logs: the signing secret, the URL's password and query.
    """

    conn_id: str
    url: httpx.URL = field(repr=False)
    host: str
    signer: Webhook | None = field(repr=False)
    timeout: float
    max_attempts: int | None
    allowed: AllowedTargets
    ignored_extras: tuple[str, ...] = ()
    secrets: tuple[str, ...] = field(default=(), repr=False)


def webhook_target(
    conn_id: str, host: str | None, password: str | None, extra: Mapping[str, Any]
) -> WebhookTarget:
    """Validate the fields of a ``thordata_webhook`` connection.

    :raises ValueError: a field is invalid; the message names the field and never echoes a secret.
    :raises UnsafeWebhookTargetError: the target URL's scheme is not http or https.
    """
    where = f"Connection {conn_id!r} (type thordata_webhook)"
    if not host or not host.strip():
        raise ValueError(
            f"{where}: set the Target URL (host field) to the receiver's full URL, "
            "such as https://hooks.example.com/thordata"
        )
    try:
        url = parse_target_url(host)
    except UnsafeWebhookTargetError:
        raise
    except ValueError as exc:
        raise ValueError(f"{where}: fix the Target URL (host field): {exc}") from None
    try:
        allowed = AllowedTargets.parse(extra.get("allowed_targets"))
    except ValueError as exc:
        raise ValueError(f"{where}: fix the Allowed private targets field: {exc}") from None
    # The user name is not masked: it is rarely secret, and masking a common word would blank
    # it out of every log line. Logs of this provider never show any part of the user info.
    url_secrets = (url.password, url.query.decode("ascii", "replace"))
    return WebhookTarget(
        conn_id=conn_id,
        url=url,
        host=url.raw_host.decode("ascii"),
        signer=_signer(where, password),
        timeout=_timeout(where, extra),
        max_attempts=_max_attempts(where, extra),
        allowed=allowed,
        ignored_extras=tuple(sorted(set(extra) - KNOWN_EXTRAS)),
        secrets=tuple(secret for secret in (password, *url_secrets) if secret),
    )


def _signer(where: str, password: str | None) -> Webhook | None:
    if not password:
        return None
    problem = (
        f"{where}: the Signing secret (password field) must be a Standard Webhooks secret, "
        f"'{KEY_PREFIX}' followed by the base64 of {KEY_BYTES[0]} to {KEY_BYTES[1]} random bytes, "
        "or empty to send unsigned deliveries"
    )
    if not password.startswith(KEY_PREFIX):
        raise ValueError(f"{problem}; it does not start with '{KEY_PREFIX}'")
    encoded = password[len(KEY_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError(f"{problem}; the part after the prefix is not base64") from None
    if not KEY_BYTES[0] <= len(key) <= KEY_BYTES[1]:
        raise ValueError(f"{problem}; it decodes to {len(key)} bytes")
    return Webhook(key)


def _timeout(where: str, extra: Mapping[str, Any]) -> float:
    value = extra.get("timeout")
    if value is None or value == "":
        return DEFAULT_TIMEOUT
    low, high = TIMEOUT_RANGE
    try:
        seconds = float("nan") if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not low <= seconds <= high:
        raise ValueError(
            f"{where}: the Timeout (seconds) field (extra 'timeout') must be a number of seconds "
            f"from {low:g} to {high:g}, got {value!r}"
        )
    return seconds


def _max_attempts(where: str, extra: Mapping[str, Any]) -> int | None:
    value = extra.get("max_attempts")
    if value is None or value == "":
        return None
    low, high = MAX_ATTEMPTS_RANGE
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    if number is None or not low <= number <= high:
        raise ValueError(
            f"{where}: the Maximum attempts field (extra 'max_attempts') must be a whole number from "
            f"{low} to {high}, got {value!r}"
        )
    return number
