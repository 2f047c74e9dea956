"""pytest fixtures for testing DAGs, hooks and templates that use this provider, offline.

The provider registers this module with pytest under the name ``thordata`` (entry point group
``pytest11``), so where the provider is installed the fixtures are available to every test,
as those of most plugins are. Nothing happens until a test asks for one: importing this
module imports neither Airflow nor an HTTP client, and no server starts, so a session that
does not use the fixtures pays nothing for them. Every fixture name starts with ``thordata_``,
to stay out of the way of other plugins' fixtures.

- ``thordata_api``: a started :class:`~airflow_provider_thordata.testing.ThordataAPIServer`.
- ``thordata_connection``: define a ``thordata`` connection aimed at it.
- ``thordata_receiver``: a started :class:`~airflow_provider_thordata.testing.WebhookReceiver`
  with a fresh signing secret.
- ``thordata_webhook_connection``: define a ``thordata_webhook`` connection aimed at it.
- ``thordata_clock``: a :class:`~airflow_provider_thordata.testing.FakeClock`.

To turn the plugin off, run ``pytest -p no:thordata``. Where plugin autoloading is disabled
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` or ``--disable-plugin-autoload``), turn it on with
``-p thordata`` or with ``pytest_plugins = ["thordata"]`` in the root ``conftest.py``. The
guide is ``docs/testing.md``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_thordata.testing.clock import FakeClock
    from airflow_provider_thordata.testing.thordata_api import ThordataAPIServer
    from airflow_provider_thordata.testing.webhook_receiver import WebhookReceiver

__all__ = ["ConnectionFactory"]


class ConnectionFactory(Protocol):
    """Define an Airflow connection for the duration of one test; return its id."""

    def __call__(self, conn_id: str = ..., **changes: Any) -> str:
        """Set ``AIRFLOW_CONN_<CONN_ID>`` and return ``conn_id``."""
        ...


@pytest.fixture
def thordata_clock() -> FakeClock:
    """Return a fake clock that follows real time and skips every sleep it is given.

    Pass it as ``clock=`` to the hooks and the trigger: back-off waits and poll intervals
    then take no time, and ``thordata_clock.sleeps`` lists them. The ``thordata_api`` server
    reads the same clock.
    """
    from airflow_provider_thordata.testing.clock import FakeClock

    return FakeClock()


@pytest.fixture
def thordata_api(thordata_clock: FakeClock) -> Iterator[ThordataAPIServer]:
    """Return a Thordata-compatible API on 127.0.0.1, started for this test and stopped after it.

    Script it (``script_lifecycle``, ``add_task``, ``set_status``), inject faults
    (``inject_fault``) and read what it received (``count``, ``requests``). It reads time from
    ``thordata_clock``. The test fails if the stand-in itself broke while answering.
    """
    from airflow_provider_thordata.testing.thordata_api import ThordataAPIServer

    with ThordataAPIServer(clock=thordata_clock) as server:
        yield server
    if server.errors:
        pytest.fail(
            "the local Thordata API failed while answering: " + "; ".join(server.errors), pytrace=False
        )


@pytest.fixture
def thordata_connection(
    thordata_api: ThordataAPIServer, monkeypatch: pytest.MonkeyPatch
) -> ConnectionFactory:
    """Return a function that defines a ``thordata`` connection aimed at ``thordata_api``.

    ``thordata_connection(conn_id="thordata_default", **changes)`` sets
    ``AIRFLOW_CONN_<CONN_ID>`` (JSON form) until the test ends and returns ``conn_id``. The
    connection carries the server's credentials; ``password=`` replaces the scraper token and
    any other keyword an extra (``public_key=``, ``user_id=``, ...); ``None`` removes the field.
    """

    def define(conn_id: str = "thordata_default", **changes: Any) -> str:
        connection = json.loads(thordata_api.connection_json())
        _apply(connection, changes, fields=("password",))
        return _set_connection(monkeypatch, conn_id, connection)

    return define


@pytest.fixture
def thordata_receiver() -> Iterator[WebhookReceiver]:
    """Return a webhook receiver on 127.0.0.1 with a fresh signing secret, stopped after the test.

    It records every delivery (``deliveries``, ``wait_for``) with its signature checked by the
    ``standardwebhooks`` library, and answers as scripted (``reply``, ``respond_with``).
    """
    from airflow_provider_thordata.testing.webhook_receiver import WebhookReceiver, new_webhook_secret

    with WebhookReceiver(secret=new_webhook_secret()) as receiver:
        yield receiver


@pytest.fixture
def thordata_webhook_connection(
    thordata_receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> ConnectionFactory:
    """Return a function that defines a ``thordata_webhook`` connection aimed at ``thordata_receiver``.

    ``thordata_webhook_connection(conn_id="thordata_webhook_default", **changes)`` sets
    ``AIRFLOW_CONN_<CONN_ID>`` (JSON form) until the test ends and returns ``conn_id``. The
    connection targets the receiver's URL, signs with its secret and lets ``127.0.0.1``
    through the request forgery guard (``allowed_targets``). ``host=`` replaces the target URL,
    ``password=`` the signing secret (``None``: deliveries go unsigned), any other keyword sets
    an extra (``timeout=``, ``max_attempts=``, ...); ``None`` removes the field.
    """

    def define(conn_id: str = "thordata_webhook_default", **changes: Any) -> str:
        connection = json.loads(thordata_receiver.connection_json())
        _apply(connection, changes, fields=("host", "password"))
        return _set_connection(monkeypatch, conn_id, connection)

    return define


def _apply(connection: dict[str, Any], changes: dict[str, Any], *, fields: tuple[str, ...]) -> None:
    """Apply keyword changes: named connection ``fields`` at the top, the rest to the extras."""
    for name, value in changes.items():
        target = connection if name in fields else connection.setdefault("extra", {})
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value


def _set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, connection: dict[str, Any]) -> str:
    if not isinstance(conn_id, str) or not conn_id.strip():
        raise ValueError(f"conn_id must be a non-empty string, got {conn_id!r}")
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    return conn_id
