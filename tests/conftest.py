"""Shared test set-up: one Airflow home and metadata database for the whole session.

Airflow reads ``AIRFLOW_HOME`` and its configuration when it is first imported, so the
environment is set here, when pytest loads this file and before any test module imports
Airflow. Tests that need the metadata database ask for the ``airflow_db`` fixture; pure
tests never pay for importing Airflow.

The provider's own tests use the testing kit's fixtures (``thordata_api``, ``thordata_receiver``,
...) exactly as users do, from the pytest plugin ``thordata``; ``pytester`` runs user projects.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO_ROOT = Path(__file__).resolve().parent.parent

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="thordata-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "example_dags")
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")


def pytest_configure(config: pytest.Config) -> None:
    # Installed (as `make test` does), the provider's pytest11 entry point has already loaded the
    # plugin as "thordata". From a checkout on PYTHONPATH, or with plugin autoloading disabled, it
    # has not: register it here under the same name, so `-p no:thordata` means the same thing.
    if not config.pluginmanager.has_plugin("thordata") and not config.pluginmanager.is_blocked("thordata"):
        from airflow_provider_thordata.testing import pytest_plugin

        config.pluginmanager.register(pytest_plugin, "thordata")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    """Return the Airflow home of this test session."""
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """Create the session's SQLite metadata database once and hand out its folder."""
    from airflow.utils import db

    db.initdb()
    return airflow_home


@pytest.fixture(scope="session")
def dag_runner(airflow_db: Path):
    """Return a function that runs a DAG built in a test with ``dag.test()``.

    ``dag.test()`` refuses a DAG that was never serialized to the metadata database, and
    only DAG files in a bundle get serialized; so the DAG is written there first, as the
    DAG processor would.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db
    from airflow.serialization.serialized_objects import LazyDeserializedDAG
    from airflow.utils.session import create_session

    DagBundlesManager().sync_bundles_to_db()

    def run(dag, **kwargs):
        with create_session() as session:
            update_dag_parsing_results_in_db(
                "dags-folder", None, [LazyDeserializedDAG.from_dag(dag)], {}, None, set(), session=session
            )
        return dag.test(**kwargs)

    return run


@pytest.fixture
def thordata_server(thordata_api, thordata_connection):
    """The kit's Thordata-compatible API, behind the ``thordata_default`` connection."""
    thordata_connection()
    return thordata_api


@pytest.fixture
def receiver(thordata_receiver, thordata_webhook_connection):
    """The kit's receiver behind two connections, ``orders_webhook`` and ``audit_webhook``.

    One attempt per delivery, so a scripted failure fails the delivery without back-off.
    """
    for name in ("orders", "audit"):
        thordata_webhook_connection(
            f"{name}_webhook", host=thordata_receiver.url_for(f"/{name}"), max_attempts=1, timeout=5
        )
    return thordata_receiver


@pytest.fixture
def thordata_connection_reads(monkeypatch):
    """Record the connection ids every ThordataHook reads, while still reading them."""
    from airflow_provider_thordata.hooks.thordata import ThordataHook

    reads: list[str] = []
    read_connection = ThordataHook.get_connection
    monkeypatch.setattr(
        ThordataHook,
        "get_connection",
        classmethod(lambda cls, conn_id: reads.append(conn_id) or read_connection(conn_id)),
    )
    return reads
