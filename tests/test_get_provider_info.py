"""The provider info must satisfy the installed Airflow, or ``import airflow`` breaks everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest

import airflow_provider_thordata
from airflow_provider_thordata.get_provider_info import get_provider_info

DISTRIBUTION = "airflow-provider-thordata"


def _airflow_schema(name: str) -> dict:
    import airflow

    return json.loads((Path(airflow.__file__).parent / name).read_text())


def test_provider_info_satisfies_the_runtime_schema():
    jsonschema.validate(get_provider_info(), _airflow_schema("provider_info.schema.json"))


def test_connection_types_satisfy_the_stricter_provider_yaml_schema():
    schema = _airflow_schema("provider.yaml.schema.json")
    connection_types_schema = {**schema["properties"]["connection-types"], "definitions": {}}

    jsonschema.validate(get_provider_info()["connection-types"], connection_types_schema)


def test_field_behaviours_satisfy_the_form_schema_airflow_checks_at_runtime():
    schema = _airflow_schema("customized_form_field_behaviours.schema.json")

    for connection in get_provider_info()["connection-types"]:
        behaviour = connection["ui-field-behaviour"]
        converted = {key.replace("-", "_"): value for key, value in behaviour.items()}
        jsonschema.validate(converted, schema)


def test_placeholders_name_only_standard_fields_or_declared_extras():
    standard = {"host", "schema", "login", "password", "port", "extra"}

    for connection in get_provider_info()["connection-types"]:
        declared = set(connection["conn-fields"]) | standard
        placeholders = set(connection["ui-field-behaviour"]["placeholders"])
        assert placeholders <= declared, connection["connection-type"]


def test_package_name_and_version_match_the_distribution():
    info = get_provider_info()

    assert info["package-name"] == DISTRIBUTION
    assert metadata.version(DISTRIBUTION) == airflow_provider_thordata.__version__


def test_entry_point_resolves_to_get_provider_info():
    (entry_point,) = metadata.entry_points(group="apache_airflow_provider", name="provider_info").select(
        module="airflow_provider_thordata.get_provider_info"
    )

    assert entry_point.load() is get_provider_info


def test_providers_manager_discovers_the_provider(airflow_home):
    from airflow.providers_manager import ProvidersManager

    provider = ProvidersManager().providers[DISTRIBUTION]

    assert provider.version == airflow_provider_thordata.__version__
    assert provider.data["name"] == "Thordata"


def test_providers_manager_registers_both_connection_forms(airflow_home):
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    manager.initialize_providers_hooks()
    widgets = manager.connection_form_widgets
    behaviours = manager.field_behaviours

    assert "extra__thordata__public_key" in widgets
    assert widgets["extra__thordata__public_key"].is_sensitive
    assert widgets["extra__thordata__public_token"].is_sensitive
    assert not widgets["extra__thordata__user_id"].is_sensitive
    assert "extra__thordata_webhook__allowed_targets" in widgets
    assert behaviours["thordata"]["hidden_fields"] == ["host", "port", "schema", "login"]
    assert behaviours["thordata_webhook"]["relabeling"]["host"] == "Target URL"


def _airflow_cli_json(*args: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=80,
        env=os.environ.copy(),
        check=True,
    )
    (table,) = [line for line in result.stdout.splitlines() if line.startswith("[")]
    return json.loads(table)


@pytest.mark.timeout(90)
def test_airflow_cli_lists_the_provider_with_its_version(airflow_home):
    listed = {item["package_name"]: item["version"] for item in _airflow_cli_json("providers", "list")}

    assert listed[DISTRIBUTION] == airflow_provider_thordata.__version__


@pytest.mark.timeout(90)
def test_airflow_cli_lists_both_hooks_with_their_connection_types(airflow_home):
    hooks = {
        item["connection_type"]: item
        for item in _airflow_cli_json("providers", "hooks")
        if item["package_name"] == DISTRIBUTION
    }

    assert hooks == {
        "thordata": {
            "connection_type": "thordata",
            "class": "airflow_provider_thordata.hooks.thordata.ThordataHook",
            "conn_id_attribute_name": "thordata_conn_id",
            "package_name": DISTRIBUTION,
            "hook_name": "Thordata",
        },
        "thordata_webhook": {
            "connection_type": "thordata_webhook",
            "class": "airflow_provider_thordata.hooks.webhook.ThordataWebhookHook",
            "conn_id_attribute_name": "webhook_conn_id",
            "package_name": DISTRIBUTION,
            "hook_name": "Thordata Webhook",
        },
    }


def test_importing_the_provider_info_imports_nothing_heavy():
    probe = (
        "import sys, airflow_provider_thordata.get_provider_info as m; m.get_provider_info();"
        "print(','.join(sorted(n for n in sys.modules if n.split('.')[0] in "
        "{'airflow', 'jinja2', 'httpx', 'tenacity', 'standardwebhooks', 'requests', 'aiohttp'})))"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=True
    )

    assert result.stdout.strip() == ""


@pytest.fixture(scope="module")
def hook_meta(airflow_db) -> dict[str, dict]:
    """Return what the real API server's UI endpoint serves to the connection form."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        with TestClient(create_app("core")) as client:
            response = client.get("/ui/connections/hook_meta")

    assert response.status_code == 200, response.text
    return {item["connection_type"]: item for item in response.json()}


def test_ui_form_for_thordata_connections(hook_meta):
    form = hook_meta["thordata"]

    assert form["hook_name"] == "Thordata"
    assert form["standard_fields"]["host"]["hidden"]
    assert form["standard_fields"]["login"]["hidden"]
    assert form["standard_fields"]["port"]["hidden"]
    assert form["standard_fields"]["password"] == {
        "hidden": False,
        "title": "Scraper token",
        "placeholder": "Scraper token (only to create tasks); public token and key: Extra Fields",
    }
    assert set(form["extra_fields"]) == {
        "public_token",
        "public_key",
        "user_id",
        "scraper_api_url",
        "web_scraper_api_url",
    }
    assert form["extra_fields"]["public_key"]["schema"]["format"] == "password"
    assert form["extra_fields"]["public_key"]["schema"]["title"] == "Public API key"


def test_ui_form_for_webhook_connections(hook_meta):
    form = hook_meta["thordata_webhook"]

    assert form["hook_name"] == "Thordata Webhook"
    assert form["standard_fields"]["host"]["title"] == "Target URL"
    assert form["standard_fields"]["password"]["title"] == "Signing secret"
    assert form["standard_fields"]["login"]["hidden"]
    assert form["extra_fields"]["timeout"]["value"] == 30
    assert form["extra_fields"]["max_attempts"]["value"] == 5
    assert form["extra_fields"]["allowed_targets"]["schema"]["title"] == "Allowed private targets"
