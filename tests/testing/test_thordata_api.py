"""The Thordata-compatible API server, spoken to with a plain HTTP client (no Airflow).

Most tests take the server from the testing kit's ``thordata_api`` fixture, as users do; the
ones about starting, stopping and exact clock readings build their own.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from airflow_provider_thordata.testing import FakeClock, Fault, Lifecycle, ThordataAPIServer
from airflow_provider_thordata.testing.thordata_api import (
    DEFAULT_PUBLIC_KEY,
    DEFAULT_PUBLIC_TOKEN,
    DEFAULT_SCRAPER_TOKEN,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {"token": DEFAULT_PUBLIC_TOKEN, "key": DEFAULT_PUBLIC_KEY}
BUILDER = {**PUBLIC, "Authorization": f"Bearer {DEFAULT_SCRAPER_TOKEN}"}
PARAMETERS = json.dumps([{"url": "https://www.amazon.com/dp/B0DPMHRZ1W"}])


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as http:
        yield http


def post(client: httpx.Client, url: str, form: dict[str, str], headers: dict[str, str] = PUBLIC) -> Any:
    response = client.post(url, data=form, headers=headers)
    assert response.status_code == 200
    return response.json()


def create(client: httpx.Client, server: ThordataAPIServer, **form: str) -> str:
    fields = {
        "spider_id": "amazon_product_by-url",
        "spider_name": "amazon.com",
        "spider_parameters": PARAMETERS,
    }
    answer = post(client, f"{server.scraper_api_url}/builder", {**fields, **form}, BUILDER)
    assert answer["code"] == 200, answer
    return str(answer["data"]["task_id"])


def poll(client: httpx.Client, server: ThordataAPIServer, *task_ids: str) -> dict[str, str]:
    answer = post(client, f"{server.web_scraper_api_url}/tasks-status", {"tasks_ids": ",".join(task_ids)})
    assert answer["code"] == 200, answer
    return {item["task_id"]: item["status"] for item in answer["data"]}


def listed(client: httpx.Client, server: ThordataAPIServer, page: int = 1, size: int = 20) -> Any:
    return post(client, f"{server.web_scraper_api_url}/tasks-list", {"page": str(page), "size": str(size)})


def download(client: httpx.Client, server: ThordataAPIServer, task_id: str, kind: str = "json") -> Any:
    return post(client, f"{server.web_scraper_api_url}/tasks-download", {"tasks_id": task_id, "type": kind})


# -- running ---------------------------------------------------------------------------------


def test_the_server_binds_a_free_loopback_port_and_releases_it_on_stop() -> None:
    server = ThordataAPIServer().start()
    host, port = server.base_url.removeprefix("http://").split(":")

    server.stop()

    assert host == "127.0.0.1"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", int(port)))


def test_the_two_base_urls_match_the_real_path_layout(thordata_api: ThordataAPIServer) -> None:
    assert thordata_api.web_scraper_api_url == thordata_api.scraper_api_url + "/api/web-scraper-api"


def test_asking_for_the_url_of_a_stopped_server_says_to_start_it() -> None:
    with pytest.raises(RuntimeError, match="start the ThordataAPIServer"):
        _ = ThordataAPIServer().base_url


def test_the_connection_json_points_an_airflow_connection_at_the_server(
    thordata_api: ThordataAPIServer,
) -> None:
    ((name, value),) = thordata_api.connection_env("my_thordata").items()

    assert name == "AIRFLOW_CONN_MY_THORDATA"
    assert json.loads(value) == {
        "conn_type": "thordata",
        "password": DEFAULT_SCRAPER_TOKEN,
        "extra": {
            "public_token": DEFAULT_PUBLIC_TOKEN,
            "public_key": DEFAULT_PUBLIC_KEY,
            "user_id": "3406",
            "scraper_api_url": thordata_api.scraper_api_url,
            "web_scraper_api_url": thordata_api.web_scraper_api_url,
        },
    }


@pytest.mark.timeout(20)
def test_the_module_runs_as_a_command_that_prints_the_connection_variable() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_thordata.testing.thordata_api", "--conn-id", "demo"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        name, _, quoted = line.removeprefix("export ").partition("=")
        extra = json.loads(quoted.strip().strip("'"))["extra"]
        answer = httpx.post(f"{extra['web_scraper_api_url']}/tasks-list", data={"page": "1"}, headers=PUBLIC)
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert name == "AIRFLOW_CONN_DEMO"
    assert answer.json() == {"code": 200, "msg": "ok", "data": {"count": 0, "list": []}}


# -- credentials and validation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({**BUILDER, "Authorization": "Bearer wrong"}, 10014),
        ({**PUBLIC}, 10014),
        ({**BUILDER, "key": "wrong"}, 10013),
        ({"Authorization": BUILDER["Authorization"]}, 10013),
    ],
)
def test_the_builder_checks_all_three_credentials(
    thordata_api: ThordataAPIServer, client: httpx.Client, headers: dict[str, str], code: int
) -> None:
    form = {"spider_id": "s", "spider_name": "n", "spider_parameters": PARAMETERS}

    answer = post(client, f"{thordata_api.scraper_api_url}/builder", form, headers)

    assert answer["code"] == code
    assert thordata_api.task_ids == []
    assert DEFAULT_SCRAPER_TOKEN not in answer["msg"]


@pytest.mark.parametrize("endpoint", ["tasks-status", "tasks-download", "tasks-list"])
def test_public_calls_check_the_token_and_key(
    thordata_api: ThordataAPIServer, client: httpx.Client, endpoint: str
) -> None:
    answer = post(
        client, f"{thordata_api.web_scraper_api_url}/{endpoint}", {"tasks_ids": "x"}, {"token": "wrong"}
    )

    assert answer["code"] == 10013


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"spider_id": ""}, "spider_id is required"),
        ({"spider_parameters": '{"url": "x"}'}, "spider_parameters must be a JSON list"),
        ({"spider_parameters": "[]"}, "spider_parameters must be a JSON list of one or more objects"),
        ({"spider_parameters": "[{"}, "spider_parameters is not valid JSON"),
        ({"spider_errors": "yes"}, "spider_errors must be 'true' or 'false'"),
        ({"spider_universal": "[1]"}, "spider_universal must be a JSON object"),
        ({"data_format": "xml"}, "data_format must be one of json, csv, xlsx"),
    ],
)
def test_the_builder_validates_the_documented_form_fields(
    thordata_api: ThordataAPIServer, client: httpx.Client, form: dict[str, str], message: str
) -> None:
    fields = {"spider_id": "s", "spider_name": "n", "spider_parameters": PARAMETERS, **form}

    answer = post(client, f"{thordata_api.scraper_api_url}/builder", fields, BUILDER)

    assert (answer["code"], answer["msg"]) == (10000, message)


def test_a_json_body_is_refused_because_the_api_takes_form_fields(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    response = client.post(
        f"{thordata_api.scraper_api_url}/builder",
        json={"spider_id": "s", "spider_name": "n", "spider_parameters": [{"url": "u"}]},
        headers=BUILDER,
    )

    assert response.json()["code"] == 10000
    assert "form-urlencoded" in response.json()["msg"]


def test_the_builder_records_the_task_with_its_file_name_expanded(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    task_id = create(client, thordata_api, file_name="run-{{TasksID}}", spider_universal='{"country": "us"}')

    info = thordata_api.task_info(task_id)

    assert info["file_name"] == f"run-{task_id}"
    assert info["universal"] == {"country": "us"}
    assert info["parameters"] == json.loads(PARAMETERS)
    assert len(task_id) == 32


def test_an_unknown_path_answers_404(thordata_api: ThordataAPIServer, client: httpx.Client) -> None:
    response = client.post(
        f"{thordata_api.base_url}/api/web-scraper-api/tasks-delete", data={}, headers=PUBLIC
    )

    assert response.status_code == 404
    assert thordata_api.count("unknown") == 1


# -- lifecycles ------------------------------------------------------------------------------


def test_by_default_a_task_runs_for_one_poll_then_is_ready(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    task_id = create(client, thordata_api)

    seen = [poll(client, thordata_api, task_id)[task_id] for _ in range(3)]

    assert seen == ["Running", "Ready", "Ready"]


def test_a_scripted_lifecycle_advances_one_step_per_status_poll(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    thordata_api.script_lifecycle(steps=[("pending", 1), ("running", 2), ("ready", None)])
    task_id = create(client, thordata_api)

    seen = [poll(client, thordata_api, task_id)[task_id] for _ in range(5)]

    assert seen == ["pending", "running", "running", "ready", "ready"]


def test_a_spiders_script_wins_over_the_default_and_leaves_other_spiders_alone(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    thordata_api.script_lifecycle(spider_id="slow_spider", steps=[("Running", 3), ("Failed", None)])
    slow = create(client, thordata_api, spider_id="slow_spider")
    other = create(client, thordata_api)

    seen = [poll(client, thordata_api, slow, other) for _ in range(4)]

    assert [entry[slow] for entry in seen] == ["Running", "Running", "Running", "Failed"]
    assert [entry[other] for entry in seen] == ["Running", "Ready", "Ready", "Ready"]


def test_only_the_tasks_named_in_a_poll_advance(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    first = create(client, thordata_api)
    second = create(client, thordata_api)

    poll(client, thordata_api, first)
    poll(client, thordata_api, first)

    assert poll(client, thordata_api, second)[second] == "Running"


def test_a_task_can_be_rescripted_and_set_by_hand(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    task_id = create(client, thordata_api)
    thordata_api.script_task(task_id, steps=[("Pending", 2), ("Ready", None)])

    first = poll(client, thordata_api, task_id)[task_id]
    thordata_api.set_status(task_id, "Failed")
    after = poll(client, thordata_api, task_id)[task_id]

    assert (first, after) == ("Pending", "Failed")
    assert thordata_api.status_of(task_id) == "Failed"


def test_a_lifecycle_can_advance_with_an_injected_clock(client: httpx.Client) -> None:
    clock = FakeClock(start=1_749_278_594.0)
    lifecycle = Lifecycle(steps=(("Running", 30), ("Ready", None)), advance="seconds")
    with ThordataAPIServer(clock=clock, lifecycle=lifecycle) as server:
        task_id = create(client, server)

        early = [poll(client, server, task_id)[task_id] for _ in range(3)]
        clock.advance(30)
        late = poll(client, server, task_id)[task_id]

    assert (early, late) == (["Running"] * 3, "Ready")


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "at least one step"),
        ([("Running", None), ("Ready", None)], "only the last step may last forever"),
        ([("Running", 0)], "must last more than 0"),
        ([("Running",)], "must be a \\(raw status, duration\\) pair"),
    ],
)
def test_invalid_scripts_are_refused(thordata_api: ThordataAPIServer, steps: list[Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        thordata_api.script_lifecycle(steps=steps)


def test_asking_about_a_task_the_server_does_not_have_names_it(thordata_api: ThordataAPIServer) -> None:
    with pytest.raises(KeyError, match="the stand-in has no task 'nope'"):
        thordata_api.set_status("nope", "Ready")


# -- status, download, list ------------------------------------------------------------------


def test_a_status_call_answers_for_known_ids_in_one_call_and_omits_unknown_ones(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    first, second = create(client, thordata_api), create(client, thordata_api)

    answer = poll(client, thordata_api, first, "not-a-task", second)

    assert answer == {first: "Running", second: "Running"}
    assert thordata_api.requests("tasks-status")[0].task_ids == (first, "not-a-task", second)


def test_a_status_call_with_too_many_or_no_ids_is_refused(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    url = f"{thordata_api.web_scraper_api_url}/tasks-status"

    too_many = post(client, url, {"tasks_ids": ",".join(f"t{n}" for n in range(101))})
    none = post(client, url, {"tasks_ids": " , "})

    assert (too_many["code"], none["code"]) == (10000, 10000)
    assert "at most 100 per call" in too_many["msg"]


def test_the_result_file_is_served_once_the_task_succeeded(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    thordata_api.script_lifecycle(
        result_rows=[{"title": "Kindle", "price": 99.5}, {"title": "Echo", "tags": ["a"]}]
    )
    task_id = create(client, thordata_api)
    early = download(client, thordata_api, task_id)
    poll(client, thordata_api, task_id)
    poll(client, thordata_api, task_id)

    json_answer = download(client, thordata_api, task_id)
    csv_answer = download(client, thordata_api, task_id, "csv")

    assert (early["code"], early["msg"]) == (
        10000,
        f"tasks_id {task_id} has no result file yet (status Running)",
    )
    assert json_answer["data"]["tasks_ids"] == task_id
    assert client.get(json_answer["data"]["download"]).json() == [
        {"title": "Kindle", "price": 99.5},
        {"title": "Echo", "tags": ["a"]},
    ]
    assert (
        client.get(csv_answer["data"]["download"]).text == 'title,price,tags\nKindle,99.5,\nEcho,,"[""a""]"\n'
    )


def test_an_empty_result_is_an_empty_file_of_size_zero(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    thordata_api.script_lifecycle(steps=[("Ready", None)], empty_result=True)
    task_id = create(client, thordata_api)
    poll(client, thordata_api, task_id)

    url = download(client, thordata_api, task_id)["data"]["download"]
    (item,) = listed(client, thordata_api)["data"]["list"]

    assert client.get(url).content == b""
    assert (item["file_size"], item["api_code"]) == (0, 300)


def test_downloading_an_unknown_task_or_type_is_a_validation_error(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    assert download(client, thordata_api, "nope")["code"] == 10000
    assert download(client, thordata_api, create(client, thordata_api), "pdf")["msg"].startswith(
        "type must be one of"
    )


def test_the_task_list_has_the_documented_snake_case_items_newest_first(client: httpx.Client) -> None:
    clock = FakeClock(start=1_749_278_594.0)
    with ThordataAPIServer(clock=clock) as timed:
        older = create(client, timed)
        clock.advance(5)
        newer = create(client, timed)
        poll(client, timed, older)
        clock.advance(2)
        poll(client, timed, older)

        answer = listed(client, timed)

    first, second = answer["data"]["list"]
    assert answer["data"]["count"] == 2
    assert (first["task_id"], second["task_id"]) == (newer, older)
    assert set(second) == {
        "task_id",
        "created_time",
        "end_time",
        "prodect_id",
        "url",
        "api_url",
        "api_code",
        "api_result",
        "api_error_msg",
        "api_response_time",
        "success_rate",
        "file_size",
        "error_number",
        "type",
        "api_key",
    }
    assert (first["end_time"], second["end_time"]) == (0, 1_749_278_601)
    assert second["created_time"] == 1_749_278_594
    assert second["api_response_time"] == 7000
    assert second["api_key"] == DEFAULT_SCRAPER_TOKEN
    assert json.loads(second["url"]) == {
        "spider_errors": True,
        "spider_id": "amazon_product_by-url",
        "spider_parameters": json.loads(PARAMETERS),
    }


def test_the_task_list_pages(thordata_api: ThordataAPIServer, client: httpx.Client) -> None:
    ids = [thordata_api.add_task() for _ in range(5)]

    pages = [
        [item["task_id"] for item in listed(client, thordata_api, page, 2)["data"]["list"]]
        for page in (1, 2, 3, 4)
    ]

    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]], []]


def test_a_failed_task_is_listed_with_its_error(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    task_id = thordata_api.add_task(
        lifecycle=Lifecycle(steps=(("Failed", None),), error_message="blocked by captcha")
    )
    poll(client, thordata_api, task_id)

    (item,) = listed(client, thordata_api)["data"]["list"]

    assert (item["api_code"], item["api_error_msg"], item["error_number"]) == (400, "blocked by captcha", 1)
    assert item["end_time"] > 0


# -- faults ----------------------------------------------------------------------------------


def test_an_injected_envelope_code_answers_the_given_number_of_requests(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    task_id = thordata_api.add_task()
    thordata_api.inject_fault("tasks-status", Fault.envelope(10011), times=2)

    codes = [
        post(client, f"{thordata_api.web_scraper_api_url}/tasks-status", {"tasks_ids": task_id})["code"]
        for _ in range(3)
    ]

    assert codes == [10011, 10011, 200]
    assert [request.fault for request in thordata_api.requests("tasks-status")] == [
        "envelope",
        "envelope",
        None,
    ]
    assert thordata_api.task_info(task_id)["polls"] == 1


def test_an_injected_http_error_carries_its_retry_after(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    thordata_api.inject_fault("tasks-list", Fault.http(503, retry_after="7"))

    response = client.post(f"{thordata_api.web_scraper_api_url}/tasks-list", data={}, headers=PUBLIC)

    assert (response.status_code, response.headers["Retry-After"]) == (503, "7")
    assert thordata_api.requests("tasks-list")[0].http_status == 503


def test_malformed_json_is_not_json(thordata_api: ThordataAPIServer, client: httpx.Client) -> None:
    thordata_api.inject_fault("tasks-list", Fault.malformed_json())

    response = client.post(f"{thordata_api.web_scraper_api_url}/tasks-list", data={}, headers=PUBLIC)

    with pytest.raises(json.JSONDecodeError, match="Expecting value"):
        response.json()


def test_a_dropped_connection_gives_no_answer(thordata_api: ThordataAPIServer, client: httpx.Client) -> None:
    thordata_api.inject_fault("builder", Fault.drop_connection())

    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        client.post(f"{thordata_api.scraper_api_url}/builder", data={}, headers=BUILDER)

    assert thordata_api.requests("builder")[0].http_status is None


def test_a_slow_answer_trips_a_client_timeout(thordata_api: ThordataAPIServer) -> None:
    thordata_api.inject_fault("tasks-list", Fault.slow(0.5))

    with httpx.Client(timeout=0.05) as impatient, pytest.raises(httpx.ReadTimeout, match="timed out"):
        impatient.post(f"{thordata_api.web_scraper_api_url}/tasks-list", data={}, headers=PUBLIC)


def test_ids_can_be_omitted_from_status_answers(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    first, second = thordata_api.add_task(), thordata_api.add_task()
    thordata_api.inject_fault("tasks-status", Fault.omit_ids(first))
    thordata_api.inject_fault("tasks-status", Fault.omit_ids())

    answers = [poll(client, thordata_api, first, second) for _ in range(3)]

    assert [sorted(answer) for answer in answers] == [[second], [], sorted([first, second])]


def test_faults_without_a_count_last_until_cleared(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    thordata_api.inject_fault("tasks-list", Fault.envelope(10001, "unknown error"), times=None)

    during = [listed(client, thordata_api)["code"] for _ in range(3)]
    thordata_api.clear_faults()
    after = listed(client, thordata_api)["code"]

    assert (during, after) == ([10001] * 3, 200)


def test_faults_are_checked_when_injected(thordata_api: ThordataAPIServer) -> None:
    with pytest.raises(ValueError, match="endpoint must be one of"):
        thordata_api.inject_fault("tasks_status", Fault.malformed_json())
    with pytest.raises(ValueError, match="times must be at least 1"):
        thordata_api.inject_fault("tasks-list", Fault.malformed_json(), times=0)


@pytest.mark.timeout(10)
def test_stopping_cuts_a_slow_answer_short() -> None:
    server = ThordataAPIServer().start()
    server.inject_fault("tasks-list", Fault.slow(60))
    url = f"{server.web_scraper_api_url}/tasks-list"
    answers: list[int] = []
    worker = threading.Thread(
        target=lambda: answers.append(httpx.post(url, headers=PUBLIC, timeout=30).status_code)
    )
    worker.start()
    while server.faults_pending("tasks-list"):
        threading.Event().wait(0.01)

    server.stop()
    worker.join(timeout=8)

    assert not worker.is_alive()
    assert answers == [200]


# -- observation -----------------------------------------------------------------------------


def test_requests_are_counted_per_endpoint_and_can_be_reset(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    task_id = create(client, thordata_api)
    poll(client, thordata_api, task_id)
    poll(client, thordata_api, task_id)
    listed(client, thordata_api)

    counts = {
        endpoint: thordata_api.count(endpoint)
        for endpoint in ("builder", "tasks-status", "tasks-list", "files")
    }
    thordata_api.reset_requests()

    assert counts == {"builder": 1, "tasks-status": 2, "tasks-list": 1, "files": 0}
    assert thordata_api.count() == 0


def test_each_recorded_request_keeps_its_headers_and_form(
    thordata_api: ThordataAPIServer, client: httpx.Client
) -> None:
    create(client, thordata_api)

    (request,) = thordata_api.requests("builder")

    assert request.headers["authorization"] == f"Bearer {DEFAULT_SCRAPER_TOKEN}"
    assert request.form["spider_name"] == "amazon.com"
    assert (request.method, request.path, request.code, request.http_status) == ("POST", "/builder", 200, 200)
