"""Fixtures for running the example DAGs against the local stand-ins.

The examples read their poll interval from ``THORDATA_EXAMPLE_POLL_INTERVAL`` when they are
parsed, so :func:`example_dag` sets it before parsing the file. Their webhook connections
point at one signing receiver, one path per connection, so a delivery's path tells which
connection it went through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_thordata.testing import WebhookReceiver

EXAMPLES = REPO_ROOT / "example_dags"
#: Webhook connection ids the examples use, and the receiver path each one posts to.
WEBHOOK_PATHS = {
    "thordata_webhook_default": "/dashboard",
    "data_team_webhook": "/data-team",
    "on_call_webhook": "/on-call",
}
#: What the stand-in's scraper tasks produce: one product row.
PRODUCT_ROW = {"title": "Kindle Paperwhite (16 GB)", "price": 159.99, "currency": "USD", "asin": "B0DPMHRZ1W"}


@pytest.fixture
def webhooks(receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> WebhookReceiver:
    """Point every webhook connection of the examples at the signing receiver."""
    for conn_id, path in WEBHOOK_PATHS.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", receiver.connection_json(path, max_attempts=1))
    return receiver


@pytest.fixture
def example_dag(monkeypatch: pytest.MonkeyPatch, airflow_db: object) -> Callable[[str], object]:
    """Return a function that parses one example file (with a fast poll interval) and returns its DAG."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("THORDATA_EXAMPLE_POLL_INTERVAL", "0.05")

    def parse(dag_id: str) -> object:
        bag = DagBag(dag_folder=EXAMPLES / f"{dag_id}.py")
        assert bag.import_errors == {}
        return bag.dags[dag_id]

    return parse


def deliveries_to(receiver: WebhookReceiver, conn_id: str) -> list:
    """Return the deliveries that went through one webhook connection, in arrival order."""
    return [delivery for delivery in receiver.deliveries if delivery.path == WEBHOOK_PATHS[conn_id]]
