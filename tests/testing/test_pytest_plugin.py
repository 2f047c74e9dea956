"""The ``thordata`` pytest plugin: how projects get it, what it costs them, what each fixture does.

User projects run under ``pytester`` with the plugin published by its entry point
(``installed_plugin``), in process unless a clean interpreter matters. The fixtures' own
behaviour is tested directly too: this suite loads the plugin like any project.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from airflow_provider_thordata.testing import FakeClock, ThordataAPIServer, WebhookReceiver

if TYPE_CHECKING:
    from airflow_provider_thordata.testing.pytest_plugin import ConnectionFactory

pytestmark = pytest.mark.timeout(60)

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN_MODULE = "airflow_provider_thordata.testing.pytest_plugin"
FIXTURES = (
    "thordata_api",
    "thordata_clock",
    "thordata_connection",
    "thordata_receiver",
    "thordata_webhook_connection",
)
# Hypothesis's plugin imports (and pytest rewrites) about 200 modules at every session's end,
# seconds per pytester run that these projects do not need; pytest-asyncio warns without a scope.
QUIET = (
    "-p",
    "no:cacheprovider",
    "-p",
    "no:hypothesispytest",
    "-o",
    "asyncio_default_fixture_loop_scope=function",
)
HEAVY = {"airflow", "httpx", "aiohttp", "requests", "jinja2", "standardwebhooks", "tenacity"}

USES_EVERY_FIXTURE = """
import json
import os
import socket
from datetime import datetime, timezone

import httpx
from standardwebhooks.webhooks import Webhook

from airflow_provider_thordata.templating import PayloadTemplate
from airflow_provider_thordata.testing import (
    FakeClock, Fault, ThordataAPIServer, WebhookReceiver, event_variables
)

STOPPED = []


def test_the_connection_carries_what_the_api_asks_for(thordata_api, thordata_connection):
    conn_id = thordata_connection()
    extra = json.loads(os.environ["AIRFLOW_CONN_THORDATA_DEFAULT"])["extra"]
    thordata_api.inject_fault("tasks-list", Fault.envelope(10011))
    url = extra["web_scraper_api_url"] + "/tasks-list"
    headers = {"token": extra["public_token"], "key": extra["public_key"]}

    with httpx.Client(trust_env=False) as client:
        first = client.post(url, data={"page": "1"}, headers=headers).json()
        second = client.post(url, data={"page": "1"}, headers=headers).json()

    assert isinstance(thordata_api, ThordataAPIServer)
    assert conn_id == "thordata_default"
    assert (first["code"], second["code"]) == (10011, 200)
    assert thordata_api.count("tasks-list") == 2
    STOPPED.append(thordata_api.base_url)


def test_the_receiver_verifies_what_the_connections_secret_signs(
    thordata_receiver, thordata_webhook_connection
):
    conn_id = thordata_webhook_connection("orders_webhook")
    connection = json.loads(os.environ["AIRFLOW_CONN_ORDERS_WEBHOOK"])
    now = datetime.now(timezone.utc)
    signature = Webhook(connection["password"]).sign("msg_1", now, '{"n":1}')
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }

    with httpx.Client(trust_env=False) as client:
        client.post(connection["host"], content=b'{"n":1}', headers=headers)

    (delivery,) = thordata_receiver.wait_for(1)
    assert isinstance(thordata_receiver, WebhookReceiver)
    assert conn_id == "orders_webhook"
    assert (delivery.signature_valid, delivery.json()) == (True, {"n": 1})
    STOPPED.append(thordata_receiver.base_url)


def test_the_connections_of_earlier_tests_are_gone_and_their_servers_stopped():
    assert "AIRFLOW_CONN_THORDATA_DEFAULT" not in os.environ
    assert "AIRFLOW_CONN_ORDERS_WEBHOOK" not in os.environ
    assert len(STOPPED) == 2
    for url in STOPPED:
        port = int(url.rsplit(":", 1)[1])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except ConnectionRefusedError:
            continue
        raise AssertionError(f"{url} still accepts connections")


def test_the_api_reads_the_same_clock(thordata_api, thordata_clock):
    assert isinstance(thordata_clock, FakeClock)
    thordata_api.script_lifecycle(steps=[("Running", 60), ("Ready", None)], advance="seconds")
    task_id = thordata_api.add_task()

    before = thordata_api.status_of(task_id)
    thordata_clock.advance(60)

    assert (before, thordata_api.status_of(task_id)) == ("Running", "Ready")


def test_event_variables_render_a_users_template():
    template = PayloadTemplate('{"task": "{{ resource.taskId }}", "dag": "{{ airflow.dag_id }}"}')

    body = template.render(event_variables("TASK_FAILED", airflow={"dag_id": "orders"}))

    assert json.loads(body) == {"task": "2e9ddee0582a40a9b1f459831b1419e1", "dag": "orders"}
"""

USES_ONE_FIXTURE = """
def test_the_clock_fixture_is_there(thordata_clock):
    assert thordata_clock.sleeps == []
"""


def run_inline(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest in this process: only for projects that import nothing this process lacks.

    An in-process run drops from ``sys.modules`` every module it imported. What stays behind
    then refers to module instances that are gone: Airflow breaks, and httpx, whose first
    request imports the httpcore exceptions it translates, leaks raw httpcore errors. Projects
    that make HTTP requests or use Airflow run in a subprocess (:func:`run_apart`).
    """
    return pytester.runpytest(*QUIET, *args)


def run_apart(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest in a fresh interpreter."""
    return pytester.runpytest_subprocess(*QUIET, *args)


# -- how a project gets the plugin ---------------------------------------------------------------


def test_the_provider_registers_the_plugin_module_under_the_name_thordata(
    declared_pytest_plugins: dict[str, str],
) -> None:
    assert declared_pytest_plugins == {"thordata": PLUGIN_MODULE}
    assert importlib.import_module(declared_pytest_plugins["thordata"]).__name__ == PLUGIN_MODULE


def test_an_installed_provider_offers_every_fixture_to_a_project_with_no_set_up(
    pytester: pytest.Pytester, installed_plugin: Path
) -> None:
    pytester.makepyfile(test_user_project=USES_EVERY_FIXTURE)

    result = run_apart(pytester)

    result.assert_outcomes(passed=5)


def test_the_plugin_can_be_turned_off(pytester: pytest.Pytester, installed_plugin: Path) -> None:
    pytester.makepyfile(test_user_project=USES_ONE_FIXTURE)

    result = run_inline(pytester, "-p", "no:thordata")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'thordata_clock' not found*"])


@pytest.mark.parametrize(
    ("arguments", "conftest"),
    [(["-p", "thordata"], None), ([], 'pytest_plugins = ["thordata"]\n')],
    ids=["command-line", "conftest"],
)
def test_with_autoloading_disabled_the_plugin_is_loaded_by_its_name(
    pytester: pytest.Pytester,
    installed_plugin: Path,
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    conftest: str | None,
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_user_project=USES_ONE_FIXTURE)
    if conftest is not None:
        pytester.makeconftest(conftest)

    result = run_inline(pytester, *arguments)

    result.assert_outcomes(passed=1)


def test_with_autoloading_disabled_and_no_mention_the_fixtures_are_absent(
    pytester: pytest.Pytester, installed_plugin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_user_project=USES_ONE_FIXTURE)

    result = run_inline(pytester)

    result.assert_outcomes(errors=1)


def test_naming_the_plugin_in_a_conftest_is_harmless_when_it_is_also_autoloaded(
    pytester: pytest.Pytester, installed_plugin: Path
) -> None:
    pytester.makeconftest('pytest_plugins = ["thordata"]\n')
    pytester.makepyfile(test_user_project=USES_ONE_FIXTURE)

    result = run_inline(pytester)

    result.assert_outcomes(passed=1)


def test_naming_the_module_path_instead_while_autoloading_is_refused_by_pytest(
    pytester: pytest.Pytester, installed_plugin: Path
) -> None:
    pytester.makeconftest(f'pytest_plugins = ["{PLUGIN_MODULE}"]\n')
    pytester.makepyfile(test_user_project=USES_ONE_FIXTURE)

    result = run_inline(pytester)

    assert result.ret != 0
    assert "Plugin already registered under a different name" in str(result.stdout) + str(result.stderr)


def test_a_projects_own_fixture_wins_and_the_plugins_fixtures_use_it(
    pytester: pytest.Pytester, installed_plugin: Path
) -> None:
    pytester.makeconftest(
        """
import pytest
from airflow_provider_thordata.testing import FakeClock

@pytest.fixture
def thordata_clock():
    return FakeClock(start=1_749_277_994)
"""
    )
    pytester.makepyfile(
        test_user_project="""
def test_tasks_are_created_at_the_frozen_time(thordata_api, thordata_clock):
    task_id = thordata_api.add_task()
    assert thordata_clock.time() == 1_749_277_994
    assert thordata_api.task_info(task_id)["status"] == "Running"
    assert thordata_api._clock is thordata_clock
"""
    )

    result = run_inline(pytester)

    result.assert_outcomes(passed=1)


def test_a_failure_of_the_stand_in_itself_fails_the_test_that_met_it(
    pytester: pytest.Pytester, installed_plugin: Path
) -> None:
    pytester.makepyfile(
        test_user_project="""
import httpx

def test_meets_a_broken_stand_in(thordata_api, monkeypatch):
    def broken(self, form):
        raise RuntimeError("boom")

    monkeypatch.setattr(type(thordata_api), "_serve_list", broken)
    answer = httpx.post(
        f"{thordata_api.web_scraper_api_url}/tasks-list",
        data={"page": "1"},
        headers={"token": thordata_api.public_token, "key": thordata_api.public_key},
    )
    assert answer.status_code == 500
"""
    )

    result = run_apart(pytester)

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*the local Thordata API failed while answering: tasks-list: RuntimeError: boom*"]
    )


def test_every_fixture_is_listed_with_its_documentation(
    pytester: pytest.Pytester, installed_plugin: Path
) -> None:
    result = run_inline(pytester, "--fixtures")

    output = str(result.stdout)
    assert f"fixtures defined from {PLUGIN_MODULE}" in output
    for name in FIXTURES:
        assert name in output
    assert "Return a Thordata-compatible API on 127.0.0.1" in output


# -- what the plugin costs a project that does not use it ----------------------------------------


@pytest.mark.timeout(30)
def test_importing_the_plugin_adds_only_itself_and_its_two_packages_and_starts_no_thread() -> None:
    probe = (
        "import json, sys, threading, pytest\n"
        "before = set(sys.modules)\n"
        f"import {PLUGIN_MODULE}\n"
        "print(json.dumps({'added': sorted(set(sys.modules) - before), 'all': sorted(sys.modules),"
        " 'threads': threading.active_count()}))\n"
    )
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }

    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=environment
    )

    report = json.loads(completed.stdout)
    assert report["added"] == [
        "airflow_provider_thordata",
        "airflow_provider_thordata.testing",
        PLUGIN_MODULE,
    ]
    assert not {name.split(".")[0] for name in report["all"]} & HEAVY
    assert report["threads"] == 1


@pytest.mark.timeout(60)
def test_a_session_that_uses_no_fixture_imports_nothing_but_the_plugin(
    pytester: pytest.Pytester, installed_plugin: Path, tmp_path: Path
) -> None:
    pytester.makepyfile(
        test_unrelated="""
import json, os, sys, threading

def test_something_else():
    with open(os.environ["MODULES_REPORT"], "w") as report:
        json.dump({"modules": sorted(sys.modules), "threads": threading.active_count()}, report)
"""
    )
    reports = {}
    for label, arguments in (("with", []), ("without", ["-p", "no:thordata"])):
        path = tmp_path / f"{label}.json"
        os.environ["MODULES_REPORT"] = str(path)
        try:
            result = run_apart(pytester, *arguments)
        finally:
            del os.environ["MODULES_REPORT"]
        result.assert_outcomes(passed=1)
        reports[label] = json.loads(path.read_text())

    added = set(reports["with"]["modules"]) - set(reports["without"]["modules"])
    assert added == {"airflow_provider_thordata", "airflow_provider_thordata.testing", PLUGIN_MODULE}
    assert reports["with"]["threads"] == reports["without"]["threads"]


# -- the fixtures --------------------------------------------------------------------------------


def test_the_api_fixture_is_a_started_server_that_reads_the_clock_fixture(
    thordata_api: ThordataAPIServer, thordata_clock: FakeClock
) -> None:
    task_id = thordata_api.add_task()

    assert thordata_api.base_url.startswith("http://127.0.0.1:")
    assert thordata_api.task_info(task_id)["status"] == "Running"
    assert thordata_api._clock is thordata_clock


def test_the_clock_fixture_follows_real_time_and_starts_with_no_sleeps(thordata_clock: FakeClock) -> None:
    import time

    assert abs(thordata_clock.time() - time.time()) < 5
    assert thordata_clock.sleeps == []


def test_the_thordata_connection_points_at_the_api_with_its_credentials(
    thordata_api: ThordataAPIServer, thordata_connection: ConnectionFactory
) -> None:
    conn_id = thordata_connection()

    assert conn_id == "thordata_default"
    assert json.loads(os.environ["AIRFLOW_CONN_THORDATA_DEFAULT"]) == json.loads(
        thordata_api.connection_json()
    )


def test_the_thordata_connection_takes_a_conn_id_and_changes_to_fields_and_extras(
    thordata_api: ThordataAPIServer, thordata_connection: ConnectionFactory
) -> None:
    conn_id = thordata_connection("scraping", password="other-token", user_id="77", public_key=None, tier=2)

    connection = json.loads(os.environ["AIRFLOW_CONN_SCRAPING"])
    assert conn_id == "scraping"
    assert connection["password"] == "other-token"
    assert connection["extra"]["user_id"] == "77"
    assert connection["extra"]["tier"] == 2
    assert "public_key" not in connection["extra"]
    assert connection["extra"]["public_token"] == thordata_api.public_token


def test_the_thordata_connection_is_what_the_hook_reads(
    thordata_api: ThordataAPIServer, thordata_connection: ConnectionFactory
) -> None:
    from airflow_provider_thordata.hooks.thordata import ThordataHook

    thordata_connection("scraping", user_id="77")

    config = ThordataHook("scraping").get_conn()

    assert (config.user_id, config.scraper_token) == ("77", thordata_api.scraper_token)
    assert config.web_scraper_api_url == thordata_api.web_scraper_api_url


def test_the_receiver_fixture_is_started_with_a_fresh_secret(thordata_receiver: WebhookReceiver) -> None:
    other = WebhookReceiver()

    assert thordata_receiver.url.startswith("http://127.0.0.1:")
    assert thordata_receiver.secret is not None
    assert thordata_receiver.secret.startswith("whsec_")
    assert other.secret is None


def test_two_tests_get_two_different_secrets(pytester: pytest.Pytester, installed_plugin: Path) -> None:
    pytester.makepyfile(
        test_user_project="""
SECRETS = []

def test_one(thordata_receiver):
    SECRETS.append(thordata_receiver.secret)

def test_two(thordata_receiver):
    assert thordata_receiver.secret != SECRETS[0]
"""
    )

    run_inline(pytester).assert_outcomes(passed=2)


def test_the_webhook_connection_targets_the_receiver_signed_and_allowed_through_the_guard(
    thordata_receiver: WebhookReceiver, thordata_webhook_connection: ConnectionFactory
) -> None:
    conn_id = thordata_webhook_connection()

    assert conn_id == "thordata_webhook_default"
    assert json.loads(os.environ["AIRFLOW_CONN_THORDATA_WEBHOOK_DEFAULT"]) == {
        "conn_type": "thordata_webhook",
        "host": thordata_receiver.url,
        "password": thordata_receiver.secret,
        "extra": {"allowed_targets": "127.0.0.1"},
    }


def test_the_webhook_connection_changes_the_target_the_secret_and_extras(
    thordata_receiver: WebhookReceiver, thordata_webhook_connection: ConnectionFactory
) -> None:
    thordata_webhook_connection(
        "orders", host=thordata_receiver.url_for("/orders"), password=None, timeout=5, allowed_targets=None
    )

    assert json.loads(os.environ["AIRFLOW_CONN_ORDERS"]) == {
        "conn_type": "thordata_webhook",
        "host": thordata_receiver.url_for("/orders"),
        "extra": {"timeout": 5},
    }


@pytest.mark.parametrize("conn_id", ["", "  ", None])
def test_a_connection_needs_an_id(thordata_connection: ConnectionFactory, conn_id: object) -> None:
    with pytest.raises(ValueError, match="conn_id must be a non-empty string"):
        thordata_connection(conn_id)  # type: ignore[arg-type]


def test_a_clock_that_slept_past_the_receivers_tolerance_signs_timestamps_the_receiver_refuses(
    thordata_receiver: WebhookReceiver,
    thordata_webhook_connection: ConnectionFactory,
    thordata_clock: FakeClock,
) -> None:
    from airflow_provider_thordata.hooks.webhook import ThordataWebhookHook

    thordata_webhook_connection()
    thordata_clock.sleep(600)

    ThordataWebhookHook(clock=thordata_clock).deliver(
        b"{}", event_type="TEST", integration="orders", dispatch_id="msg_late"
    )

    (delivery,) = thordata_receiver.deliveries
    assert delivery.signature_valid is False
    assert delivery.signature_error == "WebhookVerificationError: Message timestamp too new"
