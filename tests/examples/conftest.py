"""Fixtures for running the example DAGs against the local stand-ins.

The examples read their poll interval from ``THORDATA_EXAMPLE_POLL_INTERVAL`` when they are
parsed, so :func:`example_dag` sets it before parsing the file. Their webhook connections
point at one signing receiver, one path per connection, so a delivery's path tells which
connection it went through.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_thordata.testing import ThordataAPIServer, WebhookReceiver

# Not imported from tests/conftest.py: importing it as a module would run its set-up again and
# point AIRFLOW_HOME at a second, empty folder.
REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "example_dags"
#: Webhook connection ids the examples use, and the receiver path each one posts to.
WEBHOOK_PATHS = {
    "thordata_webhook_default": "/dashboard",
    "data_team_webhook": "/data-team",
    "on_call_webhook": "/on-call",
}
#: What the stand-in's scraper tasks produce: one product row.
PRODUCT_ROW = {"title": "Kindle Paperwhite (16 GB)", "price": 159.99, "currency": "USD", "asin": "B0DPMHRZ1W"}


@dataclass
class StandIns:
    """The running stand-ins of one example run."""

    api: ThordataAPIServer
    webhooks: WebhookReceiver


@contextlib.contextmanager
def stand_ins() -> Iterator[StandIns]:
    """Start the Thordata API and a signing receiver, and point the examples' connections at them.

    Also sets a 0.05 s poll interval for the examples parsed inside the block.
    """
    from airflow_provider_thordata.testing import ThordataAPIServer, WebhookReceiver, new_webhook_secret

    with (
        ThordataAPIServer() as api,
        WebhookReceiver(secret=new_webhook_secret()) as webhooks,
        pytest.MonkeyPatch.context() as patch,
    ):
        for name, value in api.connection_env().items():
            patch.setenv(name, value)
        for conn_id, path in WEBHOOK_PATHS.items():
            patch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", webhooks.connection_json(path, max_attempts=1))
        patch.setenv("THORDATA_EXAMPLE_POLL_INTERVAL", "0.05")
        yield StandIns(api, webhooks)
        assert api.errors == []


def parse_example(dag_id: str) -> Any:
    """Return the DAG of one example file, parsed as the DAG processor would."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=EXAMPLES / f"{dag_id}.py")
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def deliveries_to(receiver: WebhookReceiver, conn_id: str) -> list:
    """Return the deliveries that went through one webhook connection, in arrival order."""
    return [delivery for delivery in receiver.deliveries if delivery.path == WEBHOOK_PATHS[conn_id]]
