"""``make demo``: its configuration (real and local), its checks, its process handling, end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from airflow_provider_thordata.testing import demo
from airflow_provider_thordata.testing.demo_output import (
    EXPECTED_EVENTS,
    delivery_header,
    ledger_line,
    print_tasks,
    problems,
)
from airflow_provider_thordata.testing.webhook_receiver import ReceivedDelivery, Reply

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL = {
    "THORDATA_SCRAPER_TOKEN": "scraper-token-0123456789",
    "THORDATA_PUBLIC_TOKEN": "public-token-0123456789",
    "THORDATA_PUBLIC_KEY": "public-key-0123456789",
    "THORDATA_WEBHOOK_URL": "https://hooks.example.com/thordata?channel=scrapes",
}


# -- the real-service configuration ----------------------------------------------------------


def test_without_credentials_the_demo_runs_locally():
    assert demo.real_target({"PATH": "/usr/bin"}) is None


def test_credentials_build_the_thordata_and_webhook_connections():
    target = demo.real_target(REAL)

    assert target is not None
    assert target.real is True
    thordata = json.loads(target.connections["AIRFLOW_CONN_THORDATA_DEFAULT"])
    assert thordata == {
        "conn_type": "thordata",
        "password": "scraper-token-0123456789",
        "extra": {"public_token": "public-token-0123456789", "public_key": "public-key-0123456789"},
    }
    for conn_id in ("THORDATA_WEBHOOK_DEFAULT", "DATA_TEAM_WEBHOOK"):
        webhook = json.loads(target.connections[f"AIRFLOW_CONN_{conn_id}"])
        assert webhook == {"conn_type": "thordata_webhook", "host": REAL["THORDATA_WEBHOOK_URL"], "extra": {}}
    assert target.poll_interval == "15"


def test_optional_variables_reach_the_connections():
    environ = {
        **REAL,
        "THORDATA_USER_ID": "3406",
        "THORDATA_SCRAPERAPI_BASE_URL": "https://scraperapi.example",
        "THORDATA_WEB_SCRAPER_API_BASE_URL": "https://openapi.example/api/web-scraper-api",
        "THORDATA_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "THORDATA_WEBHOOK_ALLOWED_TARGETS": "10.0.0.0/8",
        "THORDATA_EXAMPLE_POLL_INTERVAL": "60",
    }

    target = demo.real_target(environ)

    assert target is not None
    extra = json.loads(target.connections["AIRFLOW_CONN_THORDATA_DEFAULT"])["extra"]
    assert extra["user_id"] == "3406"
    assert extra["scraper_api_url"] == "https://scraperapi.example"
    assert extra["web_scraper_api_url"] == "https://openapi.example/api/web-scraper-api"
    webhook = json.loads(target.connections["AIRFLOW_CONN_DATA_TEAM_WEBHOOK"])
    assert webhook["password"] == "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert webhook["extra"] == {"allowed_targets": "10.0.0.0/8"}
    assert target.poll_interval == "60"
    assert "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" in target.secrets


def test_the_target_repr_holds_no_credential():
    target = demo.real_target(REAL)

    for name in ("THORDATA_SCRAPER_TOKEN", "THORDATA_PUBLIC_TOKEN", "THORDATA_PUBLIC_KEY"):
        assert REAL[name] not in repr(target)


def test_some_credentials_without_the_others_is_an_error_naming_the_missing_ones():
    environ = {"THORDATA_SCRAPER_TOKEN": "x", "THORDATA_PUBLIC_KEY": "y"}

    with pytest.raises(demo.DemoError, match=r"THORDATA_PUBLIC_TOKEN is not: set all three"):
        demo.real_target(environ)


def test_credentials_without_a_webhook_url_is_an_error():
    environ = {name: value for name, value in REAL.items() if name != "THORDATA_WEBHOOK_URL"}

    with pytest.raises(demo.DemoError, match="THORDATA_WEBHOOK_URL is not set"):
        demo.real_target(environ)


def test_the_airflow_environment_ignores_the_shells_airflow_settings(tmp_path):
    base = {
        "PATH": "/usr/bin",
        "AIRFLOW_HOME": "/srv/airflow",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://prod/airflow",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW_CONN_THORDATA_DEFAULT": "thordata://prod",
        "AIRFLOW_VAR_SECRET": "x",
    }
    target = demo.real_target(REAL)

    env = demo.airflow_environment(base, tmp_path / "airflow", tmp_path / "dags", target)

    assert env["PATH"] == "/usr/bin"
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow' / 'airflow.db'}"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "dags")
    assert "AIRFLOW__CORE__EXECUTOR" not in env
    assert "AIRFLOW_VAR_SECRET" not in env
    assert env["AIRFLOW_CONN_THORDATA_DEFAULT"] == target.connections["AIRFLOW_CONN_THORDATA_DEFAULT"]
    assert env["THORDATA_EXAMPLE_POLL_INTERVAL"] == "15"


def test_importing_the_demo_does_not_import_airflow():
    code = "import sys, airflow_provider_thordata.testing.demo; print('airflow' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )

    assert result.stdout.strip() == "False"


# -- the checks -------------------------------------------------------------------------------


def received(integration, event, *, valid=True):
    body = json.dumps({"eventType": event}).encode()
    headers = httpx.Headers({"webhook": integration, "webhook-dispatch-id": f"msg_{integration}_{event}"})
    return ReceivedDelivery("POST", "/", headers, body, 0.0, valid, None if valid else "bad", Reply(200))


def all_received():
    return [received(name, event) for name, events in EXPECTED_EVENTS.items() for event in events]


def report_for(deliveries, state="success", outcome="delivered"):
    records = [
        {
            "dispatch_id": d.dispatch_id,
            "integration": d.integration,
            "event_type": d.json()["eventType"],
            "status_code": 200,
            "attempts": 1,
            "outcome": outcome,
            "recorded_at": "2026-01-01T00:00:00+00:00",
        }
        for d in deliveries
    ]
    return {"run_id": "manual__1", "state": state, "tasks": [{"task_id": "t", "deliveries": records}]}


def test_a_complete_local_run_has_no_problems():
    deliveries = all_received()

    assert problems(report_for(deliveries), 0, deliveries) == []


def test_a_missing_delivery_is_a_problem():
    deliveries = all_received()[:-1]

    (problem,) = problems(report_for(deliveries), 0, deliveries)

    assert problem.startswith("data-team received ['SCRAPER.TASK.RUNNING'], expected")


def test_deliveries_out_of_order_are_a_problem():
    deliveries = all_received()
    deliveries[0], deliveries[1] = deliveries[1], deliveries[0]

    assert any("dashboard received" in problem for problem in problems(report_for(deliveries), 0, deliveries))


def test_a_signature_that_did_not_verify_is_a_problem():
    deliveries = [*all_received()[:-1], received("data-team", "SCRAPER.TASK.SUCCEEDED", valid=False)]

    (problem,) = problems(report_for(deliveries), 0, deliveries)

    assert "did not verify" in problem


def test_a_delivery_the_sender_did_not_record_is_a_problem():
    deliveries = all_received()

    (problem,) = problems(report_for(deliveries[:-1]), 0, deliveries)

    assert problem.endswith("arrived but the sender has no record of delivering it")


def test_a_failed_run_is_a_problem():
    deliveries = all_received()

    found = problems(report_for(deliveries, state="failed"), 1, deliveries)

    assert found == [
        "`airflow dags test example_thordata_scrape_and_notify` exited with 1",
        "the DAG run ended in state 'failed', not 'success'",
    ]


def test_against_the_real_service_the_senders_records_are_checked():
    deliveries = all_received()
    report = report_for(deliveries)
    report["tasks"][0]["deliveries"] = report["tasks"][0]["deliveries"][1:]

    assert problems(report, 0, None) == ["SCRAPER.TASK.CREATED to dashboard is missing"]
    assert problems(report_for(deliveries, outcome="unavailable"), 0, None)[0].endswith(
        "(unavailable, HTTP 200)"
    )


def test_against_the_real_service_each_recorded_delivery_prints_as_a_table_line():
    record = {
        "dispatch_id": "msg_abc",
        "integration": "dashboard",
        "event_type": "SCRAPER.TASK.CREATED",
        "status_code": 202,
        "attempts": 2,
        "outcome": "delivered",
        "recorded_at": "2026-01-01T10:20:30.123456+00:00",
    }

    line = ledger_line(record)

    assert line.split()[:5] == ["10:20:30.123", "dashboard", "SCRAPER.TASK.CREATED", "msg_abc", "202"]
    assert line.endswith("  delivered after 2 attempt(s)")
    assert line.index("msg_abc") == delivery_header().index("dispatch id")


def test_against_the_real_service_the_task_record_and_result_come_from_xcom(capsys):
    record = {"taskId": "t1", "spiderId": "amazon_product_by-url", "fileSize": 1765, "apiKey": "289f5c*****"}
    report = {
        "tasks": [
            {"task_id": "wait_for_scraper_task", "return_value": [record]},
            {
                "task_id": "fetch_result",
                "return_value": {"taskId": "t1", "rows": 1, "first": {"x": "y" * 500}},
            },
        ]
    }

    print_tasks(report, None)

    out = capsys.readouterr().out
    assert "task id      t1" in out
    assert "result file  1765 bytes, apiKey 289f5c*****" in out
    assert out.rstrip().endswith(" ...")
    assert max(len(line) for line in out.splitlines()) < 420


# -- the processes ----------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_command_over_its_timeout_is_ended_even_if_it_ignores_sigterm(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "_SHUTDOWN_GRACE", 0.5)
    pid_file = tmp_path / "pid"
    stubborn = (
        "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    )

    with pytest.raises(demo.DemoError, match=r"did not finish within 1 s"):
        demo.run_logged([sys.executable, "-c", stubborn], os.environ, tmp_path / "log", 1.0)

    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.timeout(30)
def test_a_command_is_ended_when_the_demo_is_interrupted(tmp_path):
    pid_file = tmp_path / "pid"
    child = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"

    def interrupt():
        if pid_file.exists() and pid_file.read_text():
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        demo.run_logged([sys.executable, "-c", child], os.environ, tmp_path / "log", 20.0, on_tick=interrupt)

    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


# -- end to end -------------------------------------------------------------------------------


def run_demo(home, *extra, timeout=240):
    """Run ``python -m airflow_provider_thordata.testing.demo`` as ``make demo`` does, locally."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("THORDATA_", "AIRFLOW"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "airflow_provider_thordata.testing.demo", "--home", str(home), *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=timeout,
        check=False,
    )


DELIVERY_LINE = re.compile(
    r"^  \d\d:\d\d:\d\d\.\d{3} (dashboard|data-team) +(SCRAPER\.TASK\.\w+) +"
    r"(msg_[a-z2-7]{32}) +200  verified$",
    re.MULTILINE,
)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    return tmp_path_factory.mktemp("demo")


def repo_demo_state():
    folder = REPO_ROOT / ".demo"
    return sorted((path, path.stat().st_mtime) for path in folder.rglob("*")) if folder.exists() else None


@pytest.mark.timeout(600)
def test_the_demo_runs_the_example_through_airflow_twice_in_the_same_home(demo_home):
    repo_state = repo_demo_state()

    first = run_demo(demo_home)
    second = run_demo(demo_home)

    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert "database      migrated (first run)" in first.stdout
    assert "database      ready (already migrated)" in second.stdout
    for result in (first, second):
        lines = DELIVERY_LINE.findall(result.stdout)
        assert [(integration, event) for integration, event, _ in lines] == [
            ("dashboard", "SCRAPER.TASK.CREATED"),
            ("dashboard", "SCRAPER.TASK.RUNNING"),
            ("data-team", "SCRAPER.TASK.RUNNING"),
            ("dashboard", "SCRAPER.TASK.SUCCEEDED"),
            ("data-team", "SCRAPER.TASK.SUCCEEDED"),
        ]
        assert len({dispatch for _, _, dispatch in lines}) == 5
        assert '"first": {"title": "Kindle Paperwhite (16 GB)"' in result.stdout
        assert re.search(
            r"Demo passed: DAG run manual__\S+ succeeded in [\d.]+ s; 5 webhooks delivered", result.stdout
        )
    assert (demo_home / "airflow" / "airflow.db").exists()
    assert repo_demo_state() == repo_state


@pytest.mark.timeout(300)
def test_a_failing_run_exits_non_zero_and_says_why(demo_home, tmp_path):
    broken = tmp_path / "dags"
    broken.mkdir()
    (broken / "example_thordata_scrape_and_notify.py").write_text(
        "from airflow.sdk import DAG, task\n"
        "with DAG('example_thordata_scrape_and_notify', schedule=None):\n"
        "    @task(retries=0)\n"
        "    def create_scraper_task():\n"
        "        raise RuntimeError('the scraper is down')\n"
        "    create_scraper_task()\n"
    )

    result = run_demo(demo_home, "--dags-folder", str(broken))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Demo FAILED after" in result.stdout
    assert "`airflow dags test example_thordata_scrape_and_notify` exited with 1" in result.stdout
    assert "dashboard received [], expected ['SCRAPER.TASK.CREATED'" in result.stdout
    assert "Airflow's output is in" in result.stdout
