"""Fixtures for running user projects against the pytest plugin, as an installed provider offers it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def declared_pytest_plugins() -> dict[str, str]:
    """Return the ``pytest11`` entry points that ``pyproject.toml`` declares."""
    # tomllib is in the standard library from Python 3.11; tomli is the same parser before.
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return dict(project["entry-points"]["pytest11"])


@pytest.fixture
def installed_plugin(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    declared_pytest_plugins: dict[str, str],
) -> Path:
    """Publish the provider's ``pytest11`` entry points as installing the package does.

    pytest finds plugins in installed distributions' metadata, which a checkout on PYTHONPATH
    does not have. This writes a distribution declaring the entry points of ``pyproject.toml``
    and puts it on ``sys.path`` (for in-process runs) and ``PYTHONPATH`` (for subprocess runs),
    with the checkout itself. Return the folder holding it.
    """
    site = tmp_path_factory.mktemp("site")
    dist_info = site / "airflow_provider_thordata_checkout-0.0.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: airflow-provider-thordata-checkout\nVersion: 0.0.0\n", encoding="utf-8"
    )
    lines = [f"{name} = {target}" for name, target in declared_pytest_plugins.items()]
    (dist_info / "entry_points.txt").write_text("[pytest11]\n" + "\n".join(lines) + "\n", encoding="utf-8")

    pytester.syspathinsert(site)
    inherited = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), str(REPO_ROOT), inherited])))
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    return site
