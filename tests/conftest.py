"""Shared test set-up: one Airflow home and metadata database for the whole session.

Airflow reads ``AIRFLOW_HOME`` and its configuration when it is first imported, so the
environment is set here, when pytest loads this file and before any test module imports
Airflow. Tests that need the metadata database ask for the ``airflow_db`` fixture; pure
tests never pay for importing Airflow.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="thordata-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "example_dags")
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")


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
