"""The ``thordata`` connection's values, validated into a :class:`ClientConfig`.

It also reads the labels of the connection form (:func:`form_label`), which every error
message about a connection field quotes so that users know which box to fill in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_SCRAPER_API_URL = "https://scraperapi.thordata.com"
DEFAULT_WEB_SCRAPER_API_URL = "https://openapi.thordata.com/api/web-scraper-api"


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
