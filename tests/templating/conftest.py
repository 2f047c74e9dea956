"""Fixtures shared by the template language tests (all pure: nothing here imports Airflow)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_thordata.templating.samples import sample_variables


@pytest.fixture
def variables() -> dict[str, Any]:
    """Return a fresh copy of the sample event's variables."""
    return sample_variables()
