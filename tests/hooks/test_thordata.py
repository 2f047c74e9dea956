"""ThordataHook against the real local Thordata-compatible server, sync and async paths both.

The server, the connection and the clock are the testing kit's fixtures (``thordata_api``,
``thordata_connection``, ``thordata_clock``); the server keeps the same test credentials in every
test, as Airflow's secrets masker recompiles its pattern for each new secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import pytest
import structlog.testing

from airflow_provider_thordata import __version__
from airflow_provider_thordata.backoff import BackoffPolicy
from airflow_provider_thordata.exceptions import ThordataAPIError
from airflow_provider_thordata.hooks.thordata import ThordataHook
from airflow_provider_thordata.scraper_api import ObservedStatus, TaskPage, TaskStatus
from airflow_provider_thordata.testing import Fault, Lifecycle, ThordataAPIServer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_thordata.testing import FakeClock
    from airflow_provider_thordata.testing.pytest_plugin import ConnectionFactory

POLICY = BackoffPolicy(max_attempts=4, initial_delay=1.0, multiplier=2.0, max_delay=60.0, jitter=0.1)
RESOURCE_KEYS = {
    "taskId",
    "userId",
    "createdAt",
    "finishedAt",
    "apiUrl",
    "apiCode",
    "apiResult",
    "apiErrorMsg",
    "apiResponseTime",
    "successRate",
    "fileSize",
    "errorNumber",
    "type",
    "prodect_id",
    "flow",
    "apiKey",
    "url",
    "spiderId",
    "spiderErrors",
    "spiderParameters",
    "jsonUrl",
    "csvUrl",
    "audioUrl",
    "videoUrl",
    "subtitleUrl",
}

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def hook(thordata_connection: ConnectionFactory, thordata_clock: FakeClock) -> ThordataHook:
    thordata_connection()
    return ThordataHook(policy=POLICY, clock=thordata_clock)


class CapturedLogs:
    """Log events of the hook (structlog, before Airflow's masking) and of libraries (stdlib)."""

    def __init__(self, events: list[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
        self.events = events
        self.caplog = caplog

    @property
    def lines(self) -> list[str]:
        return [str(event["event"]) % tuple(event.get("positional_args", ())) for event in self.events] + [
            record.getMessage() for record in self.caplog.records
        ]

    @property
    def everything(self) -> str:
        return "\n".join([*self.lines, *(repr(event) for event in self.events), self.caplog.text])


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[CapturedLogs]:
    with structlog.testing.capture_logs() as events, caplog.at_level(logging.DEBUG):
        yield CapturedLogs(events, caplog)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run(hook: ThordataHook, mode: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``method`` or its ``a``-prefixed async twin, as ``mode`` says."""
    if mode == "sync":
        return getattr(hook, method)(*args, **kwargs)
    return asyncio.run(getattr(hook, f"a{method}")(*args, **kwargs))


def secrets_of(server: ThordataAPIServer) -> list[str]:
    return [server.scraper_token, server.public_token, server.public_key]


def assert_within_jitter(sleeps: list[float], expected: list[float]) -> None:
    assert len(sleeps) == len(expected)
    for slept, base in zip(sleeps, expected, strict=True):
        assert base * 0.9 <= slept <= base * 1.1, (sleeps, expected)


# -- the hook's identity ---------------------------------------------------------------------


def test_the_hook_carries_the_four_connection_attributes_and_no_form_of_its_own() -> None:
    assert (ThordataHook.conn_name_attr, ThordataHook.default_conn_name) == (
        "thordata_conn_id",
        "thordata_default",
    )
    assert (ThordataHook.conn_type, ThordataHook.hook_name) == ("thordata", "Thordata")
    assert "get_ui_field_behaviour" not in vars(ThordataHook)
    assert "get_connection_form_widgets" not in vars(ThordataHook)


def test_airflow_builds_this_hook_for_a_thordata_connection(airflow_home: Any) -> None:
    from airflow.sdk import Connection
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    info = ProvidersManagerTaskRuntime().hooks["thordata"]
    hook = Connection(conn_id="thordata_from_ui", conn_type="thordata").get_hook()

    assert info is not None
    assert (info.hook_class_name, info.connection_id_attribute_name) == (
        "airflow_provider_thordata.hooks.thordata.ThordataHook",
        "thordata_conn_id",
    )
    assert isinstance(hook, ThordataHook)
    assert hook.thordata_conn_id == "thordata_from_ui"


def test_a_timeout_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds, got 0"):
        ThordataHook(timeout=0)


# -- operations ------------------------------------------------------------------------------


def test_creating_a_task_sends_the_documented_form_and_returns_the_new_id(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    task_id = run(
        hook,
        mode,
        "create_task",
        "amazon_product_by-url",
        "amazon.com",
        {"url": "https://www.amazon.com/dp/B0DPMHRZ1W"},
        universal_settings={"country": "us"},
        data_format="csv",
    )

    (request,) = thordata_api.requests("builder")
    assert task_id in thordata_api.task_ids
    assert request.form == {
        "spider_id": "amazon_product_by-url",
        "spider_name": "amazon.com",
        "spider_parameters": '[{"url":"https://www.amazon.com/dp/B0DPMHRZ1W"}]',
        "spider_errors": "true",
        "file_name": "{{TasksID}}",
        "spider_universal": '{"country":"us"}',
        "data_format": "csv",
    }
    assert request.headers["user-agent"] == f"airflow-provider-thordata/{__version__}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"


def test_a_video_task_goes_to_the_video_builder(hook: ThordataHook, thordata_api: ThordataAPIServer) -> None:
    task_id = hook.create_task(
        "youtube_video_by-url", "youtube.com", [{"url": "a"}, {"url": "b"}], video=True
    )

    assert thordata_api.count("video_builder") == 1
    assert thordata_api.task_info(task_id)["video"] is True


def test_statuses_follow_the_scripted_lifecycle_with_the_raw_value_kept(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    thordata_api.script_lifecycle(steps=[("Pending", 1), ("Running", 1), ("Ready", None)])
    task_id = run(hook, mode, "create_task", "s", "n", {"url": "u"})

    seen = [run(hook, mode, "fetch_statuses", [task_id])[task_id] for _ in range(3)]

    assert seen == [
        ObservedStatus(TaskStatus.PENDING, "Pending"),
        ObservedStatus(TaskStatus.RUNNING, "Running"),
        ObservedStatus(TaskStatus.SUCCEEDED, "Ready"),
    ]


def test_two_hundred_fifty_ids_are_polled_in_three_calls_and_unknown_ids_are_absent(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    known = [thordata_api.add_task() for _ in range(240)]
    unknown = [f"{n:032x}" for n in range(10)]
    ids = known[:120] + unknown + known[120:]

    statuses = run(hook, mode, "get_task_statuses", ids)

    assert [len(request.task_ids) for request in thordata_api.requests("tasks-status")] == [100, 100, 50]
    assert [
        task_id for request in thordata_api.requests("tasks-status") for task_id in request.task_ids
    ] == ids
    assert statuses == dict.fromkeys(known, TaskStatus.RUNNING)


def test_polling_no_ids_makes_no_call(hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str) -> None:
    assert run(hook, mode, "fetch_statuses", []) == {}
    assert thordata_api.count() == 0


def test_the_download_url_serves_the_result_file(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    task_id = thordata_api.add_task(
        lifecycle=Lifecycle(steps=(("Ready", None),), result_rows=({"title": "Kindle"},))
    )
    hook.fetch_statuses(task_id)

    url = run(hook, mode, "get_download_url", task_id)

    assert httpx.get(url).json() == [{"title": "Kindle"}]


def test_a_task_list_page_holds_redacted_resource_records(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    ids = [thordata_api.add_task() for _ in range(3)]

    page = run(hook, mode, "list_tasks", 1, 2)

    assert isinstance(page, TaskPage)
    assert page.count == 3
    assert [record["taskId"] for record in page.tasks] == [ids[2], ids[1]]
    assert set(page.tasks[0]) == RESOURCE_KEYS
    assert page.tasks[0]["apiKey"] == thordata_api.scraper_token[:6] + "*" * 20
    assert thordata_api.scraper_token not in json.dumps(page.tasks)


def test_a_succeeded_task_record_has_its_download_urls(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    task_id = thordata_api.add_task(lifecycle=Lifecycle(steps=(("Ready", None),)))
    for _ in range(3):
        thordata_api.add_task()

    record = run(hook, mode, "get_task", task_id)

    assert set(record) == RESOURCE_KEYS
    assert (record["taskId"], record["userId"], record["apiCode"]) == (task_id, "3406", 200)
    assert record["jsonUrl"] == f"{thordata_api.base_url}/files/{task_id}.json"
    assert record["csvUrl"] == f"{thordata_api.base_url}/files/{task_id}.csv"
    assert record["finishedAt"] is not None
    assert record["spiderParameters"] == [{"url": "https://www.amazon.com/dp/B0DPMHRZ1W"}]


def test_a_running_task_record_has_no_download_urls_and_no_finish_time(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    task_id = thordata_api.add_task()

    record = run(hook, mode, "get_task", task_id, status=TaskStatus.RUNNING)

    assert (record["jsonUrl"], record["csvUrl"], record["finishedAt"]) == ("", "", None)
    assert thordata_api.count("tasks-status") == 0
    assert thordata_api.count("tasks-download") == 0


def test_a_task_not_in_the_list_is_reported_after_a_bounded_scan(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    thordata_api.add_task()

    with pytest.raises(ThordataAPIError, match=r"task 0123abcd is not among the 1 newest tasks"):
        run(hook, mode, "get_task", "0123abcd")

    assert thordata_api.count("tasks-list") == 1


# -- retries ---------------------------------------------------------------------------------


def test_a_rate_limit_is_retried_with_jittered_exponential_back_off(
    hook: ThordataHook,
    thordata_api: ThordataAPIServer,
    thordata_clock: FakeClock,
    mode: str,
    logs: CapturedLogs,
) -> None:
    task_id = thordata_api.add_task()
    thordata_api.inject_fault("tasks-status", Fault.envelope(10011), times=2)

    statuses = run(hook, mode, "get_task_statuses", [task_id])

    assert statuses == {task_id: TaskStatus.RUNNING}
    assert thordata_api.count("tasks-status") == 3
    assert_within_jitter(thordata_clock.sleeps, [1.0, 2.0])
    retries = [line for line in logs.lines if "retrying in" in line]
    assert [line.split(": ")[0] for line in retries] == [
        f"Thordata tasks-status [{task_id}] failed (attempt 1 of 4)",
        f"Thordata tasks-status [{task_id}] failed (attempt 2 of 4)",
    ]
    assert retries[0].endswith(f"retrying in {thordata_clock.sleeps[0]:.2f} s")


def test_retries_stop_after_the_policys_attempts_with_the_last_error(
    hook: ThordataHook, thordata_api: ThordataAPIServer, thordata_clock: FakeClock, mode: str
) -> None:
    thordata_api.inject_fault("tasks-list", Fault.http(503), times=None)

    with pytest.raises(ThordataAPIError, match="tasks-list failed with HTTP 503") as info:
        run(hook, mode, "list_tasks")

    assert (info.value.http_status, info.value.retryable, info.value.endpoint) == (503, True, "tasks-list")
    assert thordata_api.count("tasks-list") == 4
    assert_within_jitter(thordata_clock.sleeps, [1.0, 2.0, 4.0])


def test_a_servers_retry_after_is_honoured(
    hook: ThordataHook, thordata_api: ThordataAPIServer, thordata_clock: FakeClock
) -> None:
    thordata_api.inject_fault("tasks-list", Fault.http(429, retry_after="7"))

    hook.list_tasks()

    assert thordata_clock.sleeps == [7.0]


@pytest.mark.parametrize("fault", [Fault.malformed_json(), Fault.drop_connection(), Fault.http(502)])
def test_transient_faults_on_read_calls_are_retried(
    hook: ThordataHook, thordata_api: ThordataAPIServer, thordata_clock: FakeClock, mode: str, fault: Fault
) -> None:
    task_id = thordata_api.add_task()
    thordata_api.inject_fault("tasks-status", fault)

    statuses = run(hook, mode, "get_task_statuses", task_id)

    assert statuses == {task_id: TaskStatus.RUNNING}
    assert len(thordata_clock.sleeps) == 1


def test_a_slow_answer_times_out_and_is_retried(
    thordata_connection: ConnectionFactory, thordata_api: ThordataAPIServer, thordata_clock: FakeClock
) -> None:
    thordata_connection()
    # The timeout leaves the retried (prompt) call ample time on a loaded machine; the slow
    # answer outlasts it by far, so only the first attempt times out.
    impatient = ThordataHook(timeout=0.5, policy=POLICY, clock=thordata_clock)
    thordata_api.inject_fault("tasks-list", Fault.slow(2.0))

    page = impatient.list_tasks()

    assert page.count == 0
    assert thordata_api.count("tasks-list") == 2
    assert len(thordata_clock.sleeps) == 1


@pytest.mark.parametrize("fault", [Fault.drop_connection(), Fault.http(500)])
def test_a_builder_answer_lost_after_sending_is_not_retried(
    hook: ThordataHook, thordata_api: ThordataAPIServer, thordata_clock: FakeClock, mode: str, fault: Fault
) -> None:
    thordata_api.inject_fault("builder", fault)

    with pytest.raises(ThordataAPIError, match="may have been created: look for it in the task list") as info:
        run(hook, mode, "create_task", "s", "n", {"url": "u"})

    assert not info.value.retryable
    assert thordata_api.count("builder") == 1
    assert thordata_clock.sleeps == []


def test_a_builder_rate_limit_is_retried(
    hook: ThordataHook, thordata_api: ThordataAPIServer, thordata_clock: FakeClock
) -> None:
    thordata_api.inject_fault("builder", Fault.envelope(10011))

    task_id = hook.create_task("s", "n", {"url": "u"})

    assert thordata_api.task_ids == [task_id]
    assert thordata_api.count("builder") == 2


def test_a_refused_connection_is_retried_then_reported(
    thordata_connection: ConnectionFactory, thordata_clock: FakeClock, mode: str
) -> None:
    with ThordataAPIServer() as gone:
        closed_url = gone.base_url
    thordata_connection(scraper_api_url=closed_url, web_scraper_api_url=closed_url)
    hook = ThordataHook(policy=POLICY, clock=thordata_clock)

    with pytest.raises(ThordataAPIError, match=r"tasks-status got no answer \(ConnectError") as info:
        run(hook, mode, "fetch_statuses", ["abc"])

    assert info.value.retryable
    assert len(thordata_clock.sleeps) == 3


# -- errors that are not retried -------------------------------------------------------------


def test_a_wrong_public_key_fails_at_once_naming_the_fields_to_fix(
    thordata_connection: ConnectionFactory,
    thordata_api: ThordataAPIServer,
    thordata_clock: FakeClock,
    mode: str,
) -> None:
    thordata_connection("thordata_wrong", public_key="not-the-right-key")
    hook = ThordataHook("thordata_wrong", policy=POLICY, clock=thordata_clock)

    with pytest.raises(ThordataAPIError, match="code 10013") as info:
        run(hook, mode, "list_tasks")

    assert info.value.message.endswith(
        "Check the 'Public API token' and 'Public API key' fields of Airflow connection 'thordata_wrong'."
    )
    assert (info.value.code, info.value.retryable, thordata_api.count(), thordata_clock.sleeps) == (
        10013,
        False,
        1,
        [],
    )
    assert "not-the-right-key" not in str(info.value)


def test_a_wrong_scraper_token_names_the_password_field(
    thordata_connection: ConnectionFactory,
    thordata_api: ThordataAPIServer,
    thordata_clock: FakeClock,
    mode: str,
) -> None:
    thordata_connection(password="not-the-scraper-token")
    hook = ThordataHook(policy=POLICY, clock=thordata_clock)

    with pytest.raises(ThordataAPIError, match=r"Check the 'Scraper token' \(password\) field") as info:
        run(hook, mode, "create_task", "s", "n", {"url": "u"})

    assert (info.value.code, thordata_api.count("builder"), thordata_clock.sleeps) == (10014, 1, [])


def test_a_validation_error_names_the_field_and_is_not_retried(
    hook: ThordataHook, thordata_api: ThordataAPIServer, thordata_clock: FakeClock
) -> None:
    thordata_api.inject_fault("builder", Fault.envelope(10000, "spider_id is not a known spider"))

    with pytest.raises(ThordataAPIError, match=r"Check the spider_id field of the request\.$"):
        hook.create_task("no_such_spider", "n", {"url": "u"})

    assert (thordata_api.count("builder"), thordata_clock.sleeps) == (1, [])


def test_a_missing_public_key_raises_before_any_call(
    thordata_connection: ConnectionFactory, thordata_api: ThordataAPIServer, mode: str
) -> None:
    thordata_connection("thordata_partial", public_key="")
    hook = ThordataHook("thordata_partial")

    with pytest.raises(
        ValueError, match="'Public API key' field of Airflow connection 'thordata_partial' is empty"
    ):
        run(hook, mode, "fetch_statuses", ["abc"])

    assert thordata_api.count() == 0


def test_creating_a_task_without_a_scraper_token_raises_before_any_call(
    thordata_connection: ConnectionFactory, thordata_api: ThordataAPIServer, mode: str
) -> None:
    thordata_connection(password=None)
    hook = ThordataHook()

    with pytest.raises(
        ValueError, match=r"'Scraper token' \(password\) field of Airflow connection 'thordata_default'"
    ):
        run(hook, mode, "create_task", "s", "n", {"url": "u"})

    assert thordata_api.count() == 0


def test_invalid_arguments_raise_before_any_call(hook: ThordataHook, thordata_api: ThordataAPIServer) -> None:
    with pytest.raises(ValueError, match="parameters must hold at least one parameter object"):
        hook.create_task("s", "n", [])
    with pytest.raises(ValueError, match="no comma or whitespace"):
        hook.fetch_statuses(["a,b"])

    assert thordata_api.count() == 0


def test_a_connection_in_uri_form_with_string_extras_works(
    thordata_api: ThordataAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "&".join(
        f"{key}={quote(value, safe='')}" for key, value in thordata_api.connection_extra().items()
    )
    monkeypatch.setenv("AIRFLOW_CONN_THORDATA_URI", f"thordata://:{thordata_api.scraper_token}@/?{query}")
    hook = ThordataHook("thordata_uri")

    task_id = hook.create_task("s", "n", {"url": "u"})

    assert hook.get_conn().user_id == "3406"
    assert thordata_api.task_ids == [task_id]


# -- test_connection -------------------------------------------------------------------------


def test_test_connection_checks_the_public_pair_without_creating_a_task(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    thordata_api.add_task()

    ok, message = run(hook, mode, "test_connection")

    assert ok
    assert message == (
        "Thordata accepted the public token and key of connection 'thordata_default' (1 task(s) in the "
        "task list). The scraper token is set (it is checked when a task is created: checking it here "
        "would create a billed task)."
    )
    assert thordata_api.count("builder") == 0
    assert [request.form for request in thordata_api.requests()] == [{"page": "1", "size": "1"}]


def test_test_connection_reports_an_empty_scraper_token(
    thordata_connection: ConnectionFactory, thordata_api: ThordataAPIServer
) -> None:
    thordata_connection(password="")

    ok, message = ThordataHook().test_connection()

    assert ok
    assert message.endswith(
        "The scraper token (password) is empty: creating tasks will fail until it is set."
    )


def test_test_connection_reports_rejected_credentials(
    thordata_connection: ConnectionFactory, thordata_api: ThordataAPIServer, mode: str
) -> None:
    thordata_connection(public_token="wrong-public-token")

    ok, message = run(ThordataHook(), mode, "test_connection")

    assert not ok
    assert "code 10013" in message
    assert "Check the 'Public API token' and 'Public API key' fields" in message
    assert "wrong-public-token" not in message


def test_test_connection_tries_once_without_back_off(
    hook: ThordataHook, thordata_api: ThordataAPIServer, thordata_clock: FakeClock
) -> None:
    thordata_api.inject_fault("tasks-list", Fault.envelope(10011))

    ok, message = hook.test_connection()

    assert (ok, thordata_api.count("tasks-list"), thordata_clock.sleeps) == (False, 1, [])
    assert "code 10011" in message


# -- secrets ---------------------------------------------------------------------------------


def test_reading_the_connection_masks_every_credential_including_the_public_key(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    from airflow.sdk._shared.secrets_masker import redact

    # Credentials no earlier test registered with the process-wide masker.
    unique = uuid.uuid4().hex[:12]
    fresh = ThordataAPIServer(
        scraper_token=f"scraper-{unique}", public_token=f"token-{unique}", public_key=f"key-{unique}"
    )
    with fresh:
        monkeypatch.setenv(*fresh.connection_env().popitem())
        before = redact(f"key={fresh.public_key}")
        run(ThordataHook(), mode, "get_conn")

    assert before == f"key={fresh.public_key}"
    for secret in secrets_of(fresh):
        assert redact(f"value={secret}") == "value=***"


def test_no_secret_reaches_a_log_line_or_an_error(
    thordata_connection: ConnectionFactory,
    thordata_api: ThordataAPIServer,
    thordata_clock: FakeClock,
    mode: str,
    logs: CapturedLogs,
) -> None:
    thordata_connection()
    hook = ThordataHook(policy=POLICY, clock=thordata_clock)
    thordata_api.inject_fault("tasks-status", Fault.envelope(10011, f"slow down {thordata_api.public_key}"))
    thordata_api.inject_fault(
        "builder", Fault.envelope(10014, f"apiKey {thordata_api.scraper_token} rejected")
    )
    task_id = thordata_api.add_task(lifecycle=Lifecycle(steps=(("Ready", None),)))

    run(hook, mode, "fetch_statuses", [task_id])
    run(hook, mode, "get_task", task_id)
    run(hook, mode, "test_connection")
    with pytest.raises(ThordataAPIError) as info:
        run(hook, mode, "create_task", "s", "n", {"url": "u"})

    assert any("failed (attempt 1 of 4)" in line for line in logs.lines)
    assert any(line.startswith("Thordata builder failed after 1 attempt(s)") for line in logs.lines)
    assert any(record.name.startswith("httpcore") for record in logs.caplog.records)
    for secret in secrets_of(thordata_api):
        assert secret not in logs.everything
        assert secret not in str(info.value)
        assert secret not in repr(info.value.to_dict())


def test_an_unknown_status_is_unknown_and_logged_once_per_value(
    hook: ThordataHook, thordata_api: ThordataAPIServer, monkeypatch: pytest.MonkeyPatch, logs: CapturedLogs
) -> None:
    monkeypatch.setattr(ThordataHook, "_unknown_statuses_reported", set())
    task_id = thordata_api.add_task()
    thordata_api.set_status(task_id, "Paused")

    seen = [hook.fetch_statuses(task_id)[task_id] for _ in range(3)]
    ThordataHook(policy=POLICY).fetch_statuses(task_id)

    assert seen == [ObservedStatus(TaskStatus.UNKNOWN, "Paused")] * 3
    warnings = [line for line in logs.lines if "status 'Paused'" in line]
    assert len(warnings) == 1
    assert task_id in warnings[0]


def test_collecting_counts_as_running(hook: ThordataHook, thordata_api: ThordataAPIServer) -> None:
    task_id = thordata_api.add_task(lifecycle=Lifecycle(steps=(("collecting", None),)))

    assert hook.get_task_statuses(task_id) == {task_id: TaskStatus.RUNNING}


# -- result files ----------------------------------------------------------------------------

ROWS = ({"title": "Kindle Paperwhite", "price": 149.99}, {"title": "Echo Dot", "price": 49.99})


def ready_task(thordata_api: ThordataAPIServer, **lifecycle: object) -> str:
    return thordata_api.add_task(lifecycle=Lifecycle(steps=(("Ready", None),), result_rows=ROWS, **lifecycle))


def test_the_json_result_file_is_read_in_one_download_call_and_one_get(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    task_id = ready_task(thordata_api)

    content = run(hook, mode, "download_result", task_id)

    assert json.loads(content) == list(ROWS)
    assert [request.endpoint for request in thordata_api.requests()] == ["tasks-download", "files"]


def test_the_csv_result_file_is_read_as_csv(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    task_id = ready_task(thordata_api)

    content = run(hook, mode, "download_result", task_id, "csv")

    assert content.decode().splitlines() == ["title,price", "Kindle Paperwhite,149.99", "Echo Dot,49.99"]


def test_the_file_host_gets_no_credential(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    task_id = ready_task(thordata_api)

    run(hook, mode, "download_result", task_id)

    (file_request,) = thordata_api.requests("files")
    assert file_request.method == "GET"
    assert {"authorization", "token", "key"}.isdisjoint(file_request.headers)
    for secret in secrets_of(thordata_api):
        assert secret not in json.dumps(dict(file_request.headers))


def test_a_file_larger_than_max_bytes_is_refused_naming_the_limit(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    task_id = ready_task(thordata_api)

    with pytest.raises(ThordataAPIError, match=r"larger than max_bytes \(20 bytes\)"):
        run(hook, mode, "download_result", task_id, max_bytes=20)

    assert thordata_api.count("files") == 1


def test_a_task_without_a_result_yet_fails_before_any_file_is_requested(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    task_id = thordata_api.add_task(lifecycle=Lifecycle(steps=(("Running", None),)))

    with pytest.raises(ThordataAPIError, match="tasks-download failed with code 10000"):
        run(hook, mode, "download_result", task_id)

    assert thordata_api.count("files") == 0


def test_a_file_host_fault_is_retried_with_back_off(
    hook: ThordataHook, thordata_api: ThordataAPIServer, thordata_clock: FakeClock, mode: str
) -> None:
    task_id = ready_task(thordata_api)
    thordata_api.inject_fault("files", Fault.http(503))

    content = run(hook, mode, "download_result", task_id)

    assert json.loads(content) == list(ROWS)
    assert thordata_api.count("files") == 2
    assert len(thordata_clock.sleeps) == 1


def test_an_expired_file_url_is_not_retried(
    hook: ThordataHook, thordata_api: ThordataAPIServer, mode: str
) -> None:
    task_id = ready_task(thordata_api)
    thordata_api.inject_fault("files", Fault.http(404))

    with pytest.raises(ThordataAPIError, match="expired or the file is gone") as info:
        run(hook, mode, "download_result", task_id)

    assert info.value.retryable is False
    assert thordata_api.count("files") == 1


def test_the_log_names_the_task_and_the_size_but_never_the_file_url(
    hook: ThordataHook, thordata_api: ThordataAPIServer, logs: CapturedLogs
) -> None:
    task_id = ready_task(thordata_api)

    content = hook.download_result(task_id)

    assert f"Read the json result file of Thordata task {task_id} ({len(content)} bytes)" in logs.lines
    assert "/files/" not in logs.everything
