"""The pure core of the Thordata client: no network, no Airflow."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_thordata import scraper_api as api
from airflow_provider_thordata.exceptions import ThordataAPIError
from airflow_provider_thordata.scraper_api import ClientConfig, ObservedStatus, TaskStatus

SCRAPER_TOKEN = "scraper-secret-0123456789abcdef"
PUBLIC_TOKEN = "public-token-secret-4567"
PUBLIC_KEY = "public-key-secret-89ab"
REPO_ROOT = Path(__file__).resolve().parent.parent


def make_config(**overrides: Any) -> ClientConfig:
    extra = {"public_token": PUBLIC_TOKEN, "public_key": PUBLIC_KEY, "user_id": "3406"}
    password = overrides.pop("password", SCRAPER_TOKEN)
    extra.update(overrides)
    return ClientConfig.from_connection("thordata_test", password=password, extra=extra)


def envelope(code: int, msg: str = "", data: Any = None, **extra: Any) -> bytes:
    return json.dumps({"code": code, "msg": msg, "data": data, **extra}).encode()


def fail(call: api.ApiCall, http_status: int, body: bytes) -> ThordataAPIError:
    with pytest.raises(ThordataAPIError) as info:
        api.interpret_response(call, http_status, body)
    return info.value


def drive(plan: api.Plan[Any], answers: list[Any]) -> tuple[Any, list[api.ApiCall]]:
    """Run a plan the way the hook does, answering each call from ``answers`` in order."""
    calls = []
    pending = list(answers)
    try:
        call = next(plan)
        while True:
            calls.append(call)
            call = plan.send(pending.pop(0))
    except StopIteration as done:
        return done.value, calls


def test_importing_the_core_does_not_import_airflow_or_an_http_client() -> None:
    code = (
        "import sys, airflow_provider_thordata.scraper_api, airflow_provider_thordata.testing; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'airflow', 'httpx', 'tenacity'}))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )

    assert result.stdout.strip() == "[]"


def test_the_package_exports_every_public_name_its_private_modules_define() -> None:
    defined = {}
    for path in sorted(Path(api.__file__).parent.glob("_[a-z]*.py")):
        module = importlib.import_module(f"{api.__name__}.{path.stem}")
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [target.id for target in targets if isinstance(target, ast.Name)]
            else:
                continue
            defined.update({name: getattr(module, name) for name in names if not name.startswith("_")})

    exported = {name: getattr(api, name) for name in api.__all__}

    assert exported == defined
    assert {"ClientConfig", "ApiCall", "TaskStatus", "Plan", "redact_token", "get_tasks_plan"} <= set(
        exported
    )


# -- statuses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ready", TaskStatus.SUCCEEDED),
        ("READY", TaskStatus.SUCCEEDED),
        ("success", TaskStatus.SUCCEEDED),
        ("Finished", TaskStatus.SUCCEEDED),
        ("Failed", TaskStatus.FAILED),
        ("error", TaskStatus.FAILED),
        ("Cancelled", TaskStatus.CANCELLED),
        ("canceled", TaskStatus.CANCELLED),
        ("Pending", TaskStatus.PENDING),
        ("Running", TaskStatus.RUNNING),
        ("collecting", TaskStatus.RUNNING),
        (" running\n", TaskStatus.RUNNING),
        ("unknown", TaskStatus.UNKNOWN),
        ("Paused", TaskStatus.UNKNOWN),
        ("", TaskStatus.UNKNOWN),
        (None, TaskStatus.UNKNOWN),
        (3, TaskStatus.UNKNOWN),
    ],
)
def test_status_spellings_normalise_to_one_status(raw: object, expected: TaskStatus) -> None:
    assert api.normalize_status(raw) is expected


@given(
    st.sampled_from(["ready", "success", "finished", "failed", "error", "cancelled", "running"]), st.data()
)
def test_status_normalisation_ignores_case(word: str, data: st.DataObject) -> None:
    mixed = "".join(
        char.upper() if flip else char
        for char, flip in zip(
            word, data.draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word))), strict=True
        )
    )

    assert api.normalize_status(mixed) is api.normalize_status(word)


@given(st.text())
def test_any_status_text_normalises_without_error(raw: str) -> None:
    assert isinstance(api.normalize_status(raw), TaskStatus)


def test_only_succeeded_failed_and_cancelled_are_terminal() -> None:
    terminal = {status for status in TaskStatus if status.is_terminal}

    assert terminal == {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED}
    assert str(TaskStatus.SUCCEEDED) == "succeeded"
    assert f"{TaskStatus.RUNNING}" == "running"


# -- connection values -----------------------------------------------------------------------


def test_a_connection_with_string_extras_and_blanks_is_accepted() -> None:
    config = ClientConfig.from_connection(
        "thordata_uri",
        password=f" {SCRAPER_TOKEN} ",
        extra={
            "public_token": f" {PUBLIC_TOKEN}",
            "public_key": PUBLIC_KEY,
            "user_id": 3406,
            "scraper_api_url": "http://127.0.0.1:8080/",
            "web_scraper_api_url": "None",
        },
    )

    assert config.scraper_token == SCRAPER_TOKEN
    assert config.public_token == PUBLIC_TOKEN
    assert config.user_id == "3406"
    assert config.scraper_api_url == "http://127.0.0.1:8080"
    assert config.web_scraper_api_url == api.DEFAULT_WEB_SCRAPER_API_URL


def test_extras_saved_with_the_old_prefixed_names_are_read() -> None:
    config = ClientConfig.from_connection(
        "old",
        password=None,
        extra={"extra__thordata__public_token": PUBLIC_TOKEN, "extra__thordata__public_key": PUBLIC_KEY},
    )

    assert (config.public_token, config.public_key, config.scraper_token) == (PUBLIC_TOKEN, PUBLIC_KEY, None)


@pytest.mark.parametrize(
    ("missing", "label"), [("public_token", "Public API token"), ("public_key", "Public API key")]
)
def test_a_missing_public_credential_names_its_form_field_and_the_connection(
    missing: str, label: str
) -> None:
    extra = {"public_token": PUBLIC_TOKEN, "public_key": PUBLIC_KEY, missing: ""}

    with pytest.raises(ValueError, match=rf"'{label}' field of Airflow connection 'my_conn' is empty"):
        ClientConfig.from_connection("my_conn", password=SCRAPER_TOKEN, extra=extra)


@pytest.mark.parametrize("url", ["ftp://example.com", "example.com/api", "https://user:pw@example.com"])
def test_a_malformed_base_url_is_refused_naming_the_field(url: str) -> None:
    with pytest.raises(
        ValueError, match=r"'Scraper API base URL' field of Airflow connection 'thordata_test'"
    ):
        make_config(scraper_api_url=url)


def test_the_config_repr_and_call_repr_hold_no_credential() -> None:
    config = make_config()
    call = api.build_create_task(config, spider_id="s", spider_name="n", parameters={"url": "u"})

    for text in (repr(config), repr(call)):
        for secret in (SCRAPER_TOKEN, PUBLIC_TOKEN, PUBLIC_KEY):
            assert secret not in text
    assert set(config.secrets) == {SCRAPER_TOKEN, PUBLIC_TOKEN, PUBLIC_KEY}


def test_form_labels_come_from_the_declared_connection_form() -> None:
    assert api.form_label("password") == "Scraper token"
    assert api.form_label("public_key") == "Public API key"
    assert api.form_label("web_scraper_api_url") == "Web Scraper API base URL"


# -- requests --------------------------------------------------------------------------------


def test_the_builder_call_sends_all_three_credentials_and_the_documented_form() -> None:
    config = make_config()

    call = api.build_create_task(
        config,
        spider_id="amazon_product_by-url",
        spider_name="amazon.com",
        parameters={"url": "https://www.amazon.com/dp/B0DPMHRZ1W?th=1&psc=1"},
        universal_settings={"country": "us"},
        data_format="CSV",
    )

    assert (call.method, call.url, call.endpoint) == (
        "POST",
        f"{api.DEFAULT_SCRAPER_API_URL}/builder",
        "builder",
    )
    assert call.headers["Authorization"] == f"Bearer {SCRAPER_TOKEN}"
    assert (call.headers["token"], call.headers["key"]) == (PUBLIC_TOKEN, PUBLIC_KEY)
    assert call.headers["User-Agent"].startswith("airflow-provider-thordata/")
    assert call.form == {
        "spider_id": "amazon_product_by-url",
        "spider_name": "amazon.com",
        "spider_parameters": '[{"url":"https://www.amazon.com/dp/B0DPMHRZ1W?th=1&psc=1"}]',
        "spider_errors": "true",
        "file_name": "{{TasksID}}",
        "spider_universal": '{"country":"us"}',
        "data_format": "csv",
    }


def test_a_list_of_parameters_is_sent_as_it_is_and_video_tasks_use_the_video_builder() -> None:
    call = api.build_create_task(
        make_config(),
        spider_id="youtube_video_by-url",
        spider_name="youtube.com",
        parameters=[{"url": "a"}, {"url": "b"}],
        include_errors=False,
        file_name="run-{{TasksID}}",
        video=True,
    )

    assert call.url.endswith("/video_builder")
    assert json.loads(call.form["spider_parameters"]) == [{"url": "a"}, {"url": "b"}]
    assert call.form["spider_errors"] == "false"
    assert call.form["file_name"] == "run-{{TasksID}}"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"parameters": []}, "at least one parameter object"),
        ({"parameters": "https://x"}, "parameters must be a mapping"),
        ({"parameters": [{"url": "a"}, 3]}, r"parameters\[1\] must be a mapping"),
        ({"spider_id": " "}, "spider_id must be a non-empty string"),
        ({"data_format": "xml"}, "data_format must be one of json, csv, xlsx"),
        ({"universal_settings": ["x"]}, "universal_settings must be a mapping"),
        ({"parameters": {"when": object()}}, "JSON values only"),
    ],
)
def test_invalid_builder_arguments_are_refused_before_anything_is_sent(
    arguments: dict[str, Any], message: str
) -> None:
    values: dict[str, Any] = {"spider_id": "s", "spider_name": "n", "parameters": {"url": "u"}, **arguments}

    with pytest.raises(ValueError, match=message):
        api.build_create_task(make_config(), **values)


def test_creating_a_task_without_a_scraper_token_names_the_password_field() -> None:
    config = make_config(password="")

    with pytest.raises(
        ValueError, match=r"'Scraper token' \(password\) field of Airflow connection 'thordata_test'"
    ):
        api.build_create_task(config, spider_id="s", spider_name="n", parameters={"url": "u"})


def test_public_calls_send_only_the_public_pair() -> None:
    config = make_config(web_scraper_api_url="http://127.0.0.1:9/api/web-scraper-api")

    calls = [
        api.build_tasks_status(config, ["a", "b"]),
        api.build_tasks_download(config, "a", "CSV"),
        api.build_tasks_list(config, 2, 50),
    ]

    assert [call.url for call in calls] == [
        "http://127.0.0.1:9/api/web-scraper-api/tasks-status",
        "http://127.0.0.1:9/api/web-scraper-api/tasks-download",
        "http://127.0.0.1:9/api/web-scraper-api/tasks-list",
    ]
    assert [call.form for call in calls] == [
        {"tasks_ids": "a,b"},
        {"tasks_id": "a", "type": "csv"},
        {"page": "2", "size": "50"},
    ]
    for call in calls:
        assert "Authorization" not in call.headers
        assert (call.headers["token"], call.headers["key"]) == (PUBLIC_TOKEN, PUBLIC_KEY)


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (["a,b"], "no comma or whitespace"),
        (["a b"], "no comma or whitespace"),
        ([""], "non-empty string"),
        ([None], "non-empty string"),
    ],
)
def test_invalid_task_ids_are_refused(ids: list[Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        api.validate_task_ids(ids)


def test_a_single_string_is_one_task_id_and_duplicates_are_dropped() -> None:
    assert api.validate_task_ids("abc") == ("abc",)
    assert api.validate_task_ids([" b", "a", "b"]) == ("b", "a")


def test_two_hundred_fifty_ids_make_three_status_calls_of_at_most_one_hundred() -> None:
    ids = [f"task{n:03d}" for n in range(250)]

    chunks = api.chunk_task_ids(ids)

    assert [len(chunk) for chunk in chunks] == [100, 100, 50]
    assert [task_id for chunk in chunks for task_id in chunk] == ids


@given(st.lists(st.text(alphabet="abcdef0123456789", min_size=1, max_size=8), max_size=400))
def test_chunks_keep_every_distinct_id_once_in_order(ids: list[str]) -> None:
    chunks = api.chunk_task_ids(ids)

    assert all(1 <= len(chunk) <= api.STATUS_BATCH_SIZE for chunk in chunks)
    assert [task_id for chunk in chunks for task_id in chunk] == list(dict.fromkeys(ids))


def test_one_status_call_refuses_more_than_one_hundred_ids() -> None:
    with pytest.raises(ValueError, match="carries 1 to 100 ids, got 101"):
        api.build_tasks_status(make_config(), [str(n) for n in range(101)])


@pytest.mark.parametrize(("page", "size"), [(0, 20), (1, 0), (True, 20), ("1", 20)])
def test_task_list_pages_and_sizes_must_be_positive_integers(page: Any, size: Any) -> None:
    with pytest.raises(ValueError, match="must be a positive integer"):
        api.build_tasks_list(make_config(), page, size)


def test_download_types_are_checked() -> None:
    with pytest.raises(ValueError, match="file_type must be one of json, csv, video, subtitle, audio"):
        api.build_tasks_download(make_config(), "abc", "pdf")


def test_a_call_describes_itself_with_its_first_ids_only() -> None:
    call = api.build_tasks_status(make_config(), [f"t{n}" for n in range(5)])

    assert call.describe() == "tasks-status [t0, t1, t2 and 2 more]"


# -- answers ---------------------------------------------------------------------------------


@pytest.fixture
def status_call() -> api.ApiCall:
    return api.build_tasks_status(make_config(), ["t1"])


@pytest.fixture
def builder_call() -> api.ApiCall:
    return api.build_create_task(make_config(), spider_id="s", spider_name="n", parameters={"url": "u"})


def test_a_successful_envelope_gives_its_data(status_call: api.ApiCall) -> None:
    data = api.interpret_response(
        status_call, 200, envelope(200, "ok", [{"task_id": "t1", "status": "Ready"}])
    )

    assert api.parse_statuses(status_call, data) == {"t1": ObservedStatus(TaskStatus.SUCCEEDED, "Ready")}


def test_the_envelope_code_wins_over_an_http_success(status_call: api.ApiCall) -> None:
    error = fail(status_call, 200, envelope(10011, "frequent operations, try again later"))

    assert (error.code, error.http_status, error.retryable, error.endpoint) == (
        10011,
        200,
        True,
        "tasks-status",
    )
    assert "code 10011: frequent operations" in error.message


def test_the_http_status_counts_when_the_envelope_says_200(status_call: api.ApiCall) -> None:
    error = fail(status_call, 503, envelope(200, "ok"))

    assert (error.code, error.http_status, error.retryable) == (200, 503, True)
    assert "HTTP 503" in error.message


@pytest.mark.parametrize(
    ("http_status", "retryable"),
    [(429, True), (500, True), (502, True), (504, True), (402, False), (418, False)],
)
def test_http_statuses_without_an_envelope_are_classified(
    status_call: api.ApiCall, http_status: int, retryable: bool
) -> None:
    error = fail(status_call, http_status, b"<html>gateway says no</html>")

    assert (error.code, error.http_status, error.retryable) == (None, http_status, retryable)


@pytest.mark.parametrize("key", ["msg", "message", "error", "detail", "description"])
def test_the_service_message_is_read_from_any_documented_key(status_call: api.ApiCall, key: str) -> None:
    body = json.dumps({"code": 10001, key: "something broke"}).encode()

    assert (
        fail(status_call, 200, body).message
        == "Thordata tasks-status failed with code 10001: something broke"
    )


def test_a_nested_error_message_is_read(status_call: api.ApiCall) -> None:
    body = json.dumps({"error": {"message": "nested reason"}}).encode()

    assert "HTTP 400: nested reason" in fail(status_call, 400, body).message


@pytest.mark.parametrize("code", [10013, 10014, 401, 403])
def test_credential_errors_on_public_calls_point_at_the_public_pair(
    status_call: api.ApiCall, code: int
) -> None:
    http_status, body = (200, envelope(code, "sign error")) if code > 1000 else (code, b"")

    error = fail(status_call, http_status, body)

    assert not error.retryable
    assert (
        "Check the 'Public API token' and 'Public API key' fields of Airflow connection 'thordata_test'"
        in (error.message)
    )
    assert "Scraper token" not in error.message


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (10013, "Check the 'Public API token' and 'Public API key' fields"),
        (10014, "Check the 'Scraper token' (password) field of Airflow connection 'thordata_test'."),
        (401, "Check the 'Scraper token' (password) field, then the 'Public API token' and 'Public API key'"),
    ],
)
def test_credential_errors_on_the_builder_name_the_credential_to_fix(
    builder_call: api.ApiCall, code: int, hint: str
) -> None:
    http_status, body = (200, envelope(code, "rejected")) if code > 1000 else (code, b"")

    error = fail(builder_call, http_status, body)

    assert hint in error.message
    assert not error.retryable


def test_a_credential_echoed_by_the_service_is_scrubbed_from_the_message(builder_call: api.ApiCall) -> None:
    error = fail(builder_call, 200, envelope(10014, f"apiKey {SCRAPER_TOKEN} invalid, key {PUBLIC_KEY}"))

    assert SCRAPER_TOKEN not in error.message
    assert PUBLIC_KEY not in error.message
    assert "apiKey *** invalid, key ***" in error.message


def test_only_credentials_are_scrubbed_from_a_service_message(status_call: api.ApiCall) -> None:
    error = fail(status_call, 415, envelope(415, "expected application/json or a form"))

    assert error.message == "Thordata tasks-status failed with code 415: expected application/json or a form"


def test_a_validation_error_names_the_field_the_service_mentioned(builder_call: api.ApiCall) -> None:
    error = fail(builder_call, 200, envelope(10000, "spider_parameters is not a valid list"))

    assert error.message.endswith("Check the spider_parameters field of the request.")
    assert not error.retryable


def test_a_validation_error_without_a_field_lists_the_fields_sent(status_call: api.ApiCall) -> None:
    error = fail(status_call, 422, b"")

    assert error.message.endswith("Check the fields sent: tasks_ids.")


def test_a_body_that_is_not_json_is_a_retryable_fault(status_call: api.ApiCall) -> None:
    error = fail(status_call, 200, b'{"code": 200, "data": [')

    assert error.retryable
    assert "not JSON" in error.message


def test_json_without_an_envelope_is_not_retried(status_call: api.ApiCall) -> None:
    error = fail(status_call, 200, b"[1, 2]")

    assert not error.retryable
    assert "without the expected {code, msg, data} envelope" in error.message


def test_a_redirect_is_not_followed_and_says_why(status_call: api.ApiCall) -> None:
    error = fail(status_call, 302, b"")

    assert "Redirects are not followed" in error.message
    assert not error.retryable


def test_a_builder_500_is_not_retried_because_the_task_may_exist(builder_call: api.ApiCall) -> None:
    internal = fail(builder_call, 500, b"")
    gateway = fail(builder_call, 502, b"")

    assert not internal.retryable
    assert "may have been created" in internal.message
    assert gateway.retryable


def test_a_lost_builder_answer_is_not_retried_but_a_refused_connection_is(builder_call: api.ApiCall) -> None:
    lost = api.transport_error(builder_call, TimeoutError("timed out"), request_sent=True)
    refused = api.transport_error(builder_call, ConnectionRefusedError("refused"), request_sent=False)

    assert not lost.retryable
    assert "look for it in the task list" in lost.message
    assert refused.retryable


def test_transport_errors_on_read_calls_are_retryable(status_call: api.ApiCall) -> None:
    error = api.transport_error(status_call, TimeoutError())

    assert error.retryable
    assert error.message == "Thordata tasks-status got no answer (TimeoutError: TimeoutError)"
    assert error.http_status is None


@pytest.mark.parametrize(
    ("parse", "data", "what"),
    [
        (api.parse_created_task_id, {}, "data.task_id is missing"),
        (api.parse_download_url, {"download": ""}, "data.download is missing"),
        (api.parse_statuses, {"t1": "Ready"}, "data is not a list"),
        (api.parse_statuses, [{"status": "Ready"}], "an item of data has no task_id"),
        (api.parse_task_list, [], "data is not an object"),
        (api.parse_task_list, {"count": "many", "list": []}, "data.count is not a number"),
    ],
)
def test_unexpected_data_shapes_are_reported(
    status_call: api.ApiCall, parse: Any, data: Any, what: str
) -> None:
    with pytest.raises(ThordataAPIError, match=f"unexpected shape: {what}"):
        parse(status_call, data)


def test_statuses_of_ids_not_asked_for_are_ignored_and_a_missing_status_is_unknown() -> None:
    call = api.build_tasks_status(make_config(), ["t1", "t2"])

    observed = api.parse_statuses(
        call, [{"task_id": "t1", "status": None}, {"task_id": "other", "status": "Ready"}]
    )

    assert observed == {"t1": ObservedStatus(TaskStatus.UNKNOWN, "")}


# -- the resource record ---------------------------------------------------------------------

LIST_ITEM = {
    "task_id": "2e9ddee0582a40a9b1f459831b1419e1",
    "created_time": 1749278594,
    "end_time": 1749278624,
    "prodect_id": 3,
    "url": '{"spider_errors":true,"spider_id":"3","spider_parameters":[{"url":"https://www.amazon.com/dp/B0DPMHRZ1W?th=1\\u0026psc=1"}]}',
    "api_url": "",
    "api_code": 400,
    "api_result": "",
    "api_error_msg": "",
    "api_response_time": 28000,
    "success_rate": 0,
    "file_size": 1765,
    "error_number": 1,
    "type": 0,
    "api_key": "289f5c53e47d616a0b1c2d3e4f5a6b7c",
}


def test_a_task_list_item_becomes_the_seeds_resource_record() -> None:
    record = api.task_record(LIST_ITEM, json_url="https://files/x.json", user_id="3406")

    assert record == {
        "taskId": "2e9ddee0582a40a9b1f459831b1419e1",
        "userId": "3406",
        "createdAt": "2025-06-07T06:43:14+00:00",
        "finishedAt": "2025-06-07T06:43:44+00:00",
        "apiUrl": "",
        "apiCode": 400,
        "apiResult": "",
        "apiErrorMsg": "",
        "apiResponseTime": 28000,
        "successRate": 0,
        "fileSize": 1765,
        "errorNumber": 1,
        "type": 0,
        "prodect_id": 3,
        "flow": None,
        "apiKey": "289f5c********************",
        "url": LIST_ITEM["url"],
        "spiderId": "3",
        "spiderErrors": True,
        "spiderParameters": [{"url": "https://www.amazon.com/dp/B0DPMHRZ1W?th=1&psc=1"}],
        "jsonUrl": "https://files/x.json",
        "csvUrl": "",
        "audioUrl": "",
        "videoUrl": "",
        "subtitleUrl": "",
    }


def test_an_unfinished_task_has_no_finish_time_and_odd_values_are_tolerated() -> None:
    item = {**LIST_ITEM, "end_time": 0, "created_time": "1749278594", "url": "not json", "api_key": None}

    record = api.task_record(item)

    assert record["finishedAt"] is None
    assert record["createdAt"] == "2025-06-07T06:43:14+00:00"
    assert (record["spiderId"], record["spiderParameters"]) == (None, None)
    assert record["apiKey"] == ""


def test_keys_the_service_adds_later_are_carried_in_camel_case_with_secrets_redacted() -> None:
    item = {
        **LIST_ITEM,
        "run_seconds": 30,
        "user_name": "Thor8444",
        "access_token": "abcdefghijklmnopqrstuvwxyz",
    }

    record = api.task_record(item)

    assert record["runSeconds"] == 30
    assert record["userName"] == "Thor8444"
    assert record["accessToken"] == "abcdef********************"


@given(st.text(min_size=1, max_size=200))
def test_a_redacted_token_never_shows_the_whole_token(token: str) -> None:
    redacted = api.redact_token(token)

    assert redacted.endswith("*" * 20)
    assert len(redacted) <= 26
    assert len(redacted) - 20 <= len(token) // 4


@given(st.text(min_size=1, max_size=200))
def test_redacting_a_redacted_token_changes_nothing(token: str) -> None:
    redacted = api.redact_token(token)

    assert api.redact_token(redacted) == redacted


# -- plans -----------------------------------------------------------------------------------


def list_page(count: int, *task_ids: str) -> dict[str, Any]:
    return {"count": count, "list": [{**LIST_ITEM, "task_id": task_id} for task_id in task_ids]}


def test_get_task_reads_pages_until_it_finds_the_task_then_adds_download_urls() -> None:
    plan = api.get_task_plan(make_config(), "t3", page_size=2)

    record, calls = drive(
        plan,
        [
            list_page(4, "t1", "t2"),
            list_page(4, "t3", "t4"),
            [{"task_id": "t3", "status": "Ready"}],
            {"download": "https://files/t3.json"},
            {"download": "https://files/t3.csv"},
        ],
    )

    assert [(call.endpoint, dict(call.form)) for call in calls] == [
        ("tasks-list", {"page": "1", "size": "2"}),
        ("tasks-list", {"page": "2", "size": "2"}),
        ("tasks-status", {"tasks_ids": "t3"}),
        ("tasks-download", {"tasks_id": "t3", "type": "json"}),
        ("tasks-download", {"tasks_id": "t3", "type": "csv"}),
    ]
    assert (record["taskId"], record["jsonUrl"], record["csvUrl"]) == (
        "t3",
        "https://files/t3.json",
        "https://files/t3.csv",
    )


def test_get_task_with_a_known_status_skips_the_status_call_and_unfinished_tasks_get_no_urls() -> None:
    plan = api.get_task_plan(make_config(), "t1", status=TaskStatus.RUNNING)

    record, calls = drive(plan, [list_page(1, "t1")])

    assert [call.endpoint for call in calls] == ["tasks-list"]
    assert (record["jsonUrl"], record["csvUrl"]) == ("", "")


def test_get_task_accepts_a_status_given_as_text() -> None:
    plan = api.get_task_plan(make_config(), "t1", status="succeeded")  # type: ignore[arg-type]

    record, calls = drive(plan, [list_page(1, "t1"), {"download": "j"}, {"download": "c"}])

    assert [call.endpoint for call in calls] == ["tasks-list", "tasks-download", "tasks-download"]
    assert (record["jsonUrl"], record["csvUrl"]) == ("j", "c")


def test_get_task_stops_at_the_end_of_the_list_and_says_how_far_it_looked() -> None:
    plan = api.get_task_plan(make_config(), "missing", page_size=2, max_pages=5)

    with pytest.raises(ThordataAPIError, match=r"task missing is not among the 3 newest tasks"):
        drive(plan, [list_page(3, "t1", "t2"), list_page(3, "t3")])


def test_get_task_reads_no_more_than_max_pages() -> None:
    plan = api.get_task_plan(make_config(), "missing", page_size=1, max_pages=2)

    with pytest.raises(ThordataAPIError, match=r"2 page\(s\) of 1 read"):
        drive(plan, [list_page(10, "t1"), list_page(10, "t2")])


def test_polling_plans_send_one_call_per_chunk_and_merge_the_answers() -> None:
    ids = [f"t{n}" for n in range(150)]
    plan = api.fetch_statuses_plan(make_config(), ids)

    observed, calls = drive(
        plan,
        [[{"task_id": "t0", "status": "Running"}], [{"task_id": "t149", "status": "Failed"}]],
    )

    assert [len(call.task_ids) for call in calls] == [100, 50]
    assert observed == {
        "t0": ObservedStatus(TaskStatus.RUNNING, "Running"),
        "t149": ObservedStatus(TaskStatus.FAILED, "Failed"),
    }


def test_a_task_page_holds_redacted_records() -> None:
    page, _calls = drive(api.list_tasks_plan(make_config(), 1, 1), [list_page(7, "t1")])

    assert page.count == 7
    assert [record["taskId"] for record in page.tasks] == ["t1"]
    assert LIST_ITEM["api_key"] not in json.dumps(page.tasks)


# -- result files ----------------------------------------------------------------------------

FILE_URL = "https://files.example/scrapers/t1.json?sign=abc"


def test_the_plan_asks_for_the_url_then_gets_the_file_without_credentials() -> None:
    plan = api.download_result_plan(make_config(), "t1", "csv", max_bytes=1000)

    content, calls = drive(plan, [{"download": FILE_URL, "tasks_ids": "t1"}, b"a,b\n1,2\n"])

    assert content == b"a,b\n1,2\n"
    download, file_call = calls
    assert (download.endpoint, dict(download.form)) == ("tasks-download", {"tasks_id": "t1", "type": "csv"})
    assert (file_call.endpoint, file_call.method, file_call.url) == ("result-file", "GET", FILE_URL)
    assert (file_call.envelope, file_call.max_bytes, dict(file_call.form)) == (False, 1000, {})
    for secret in (SCRAPER_TOKEN, PUBLIC_TOKEN, PUBLIC_KEY):
        assert secret not in str(dict(file_call.headers))
    assert {name.lower() for name in file_call.headers} == {"user-agent", "accept"}


def test_the_file_call_repr_leaves_out_its_signed_url() -> None:
    _, calls = drive(api.download_result_plan(make_config(), "t1"), [{"download": FILE_URL}, b"[]"])

    assert "sign=abc" not in repr(calls[1])


@pytest.mark.parametrize("max_bytes", [0, -1, 1.5, True, "10"])
def test_max_bytes_must_be_a_positive_integer(max_bytes: object) -> None:
    with pytest.raises(ValueError, match="max_bytes must be a positive integer"):
        api.download_result_plan(make_config(), "t1", max_bytes=max_bytes)  # type: ignore[arg-type]


def test_the_file_type_is_checked_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="file_type must be one of json, csv"):
        api.download_result_plan(make_config(), "t1", "pdf")


@pytest.mark.parametrize("url", ["ftp://files.example/t1.json", "/files/t1.json", "file:///etc/passwd"])
def test_a_download_url_that_is_not_http_is_refused(url: str) -> None:
    plan = api.download_result_plan(make_config(), "t1")

    with pytest.raises(ThordataAPIError, match=r"data.download is not an http\(s\) URL"):
        drive(plan, [{"download": url}])


@pytest.mark.parametrize(
    ("status", "retryable", "words"),
    [
        (503, True, "temporary"),
        (429, True, "temporary"),
        (408, True, "temporary"),
        (404, False, "expired or the file is gone"),
        (403, False, "expired or the file is gone"),
        (302, False, "redirects are not followed"),
        (400, False, "HTTP 400"),
    ],
)
def test_a_file_answer_that_is_not_2xx_raises_retryable_or_not(
    status: int, retryable: bool, words: str
) -> None:
    _, calls = drive(api.download_result_plan(make_config(), "t1"), [{"download": FILE_URL}, b""])

    with pytest.raises(ThordataAPIError, match=words) as info:
        api.interpret_file_response(calls[1], status, b"<html>nope</html>")

    assert info.value.retryable is retryable
    assert info.value.http_status == status
    assert "task t1" in info.value.message


def test_a_2xx_file_answer_is_returned_as_it_is_even_when_it_is_not_json() -> None:
    _, calls = drive(api.download_result_plan(make_config(), "t1"), [{"download": FILE_URL}, b""])

    assert api.interpret_file_response(calls[1], 200, b"not json") == b"not json"


def test_the_body_reader_refuses_a_declared_length_over_the_limit_before_reading() -> None:
    call = api.build_result_file(api.build_tasks_download(make_config(), "t1"), FILE_URL, max_bytes=10)

    with pytest.raises(ThordataAPIError, match=r"larger than max_bytes \(10 bytes\)"):
        api.BodyReader(call, "11")


def test_the_body_reader_refuses_a_body_that_grows_over_the_limit() -> None:
    call = api.build_result_file(api.build_tasks_download(make_config(), "t1"), FILE_URL, max_bytes=10)
    reader = api.BodyReader(call, None)
    reader.add(b"12345")
    reader.add(b"67890")

    with pytest.raises(ThordataAPIError, match="larger than max_bytes") as info:
        reader.add(b"1")

    assert info.value.retryable is False
    assert reader.content == b"1234567890"


def test_the_body_reader_has_no_limit_for_api_calls() -> None:
    reader = api.BodyReader(api.build_tasks_download(make_config(), "t1"), str(10**12))

    reader.add(b"x" * 100_000)

    assert len(reader.content) == 100_000
