"""ThordataScraperTaskTrigger: serialised exactly, run against the local Thordata API, events checked."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_thordata.testing import Fault, Lifecycle, ThordataAPIServer
from airflow_provider_thordata.triggers.scraper import ThordataScraperTaskTrigger, parse_payload

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow.triggers.base import TriggerEvent

pytestmark = pytest.mark.timeout(30)

CONN_ID = "thordata_trigger_test"
START = 1_749_278_594.0
INTERVAL = 30.0
FOREVER_RUNNING = Lifecycle(steps=(("Running", None),))


class FakeClock:
    """A frozen clock that moves only when slept on, recording each sleep without waiting.

    ``asleep`` still yields to the event loop once, so other coroutines keep running. (The
    interface of the testing kit's ``FakeClock(start=...)``, which is on its way.)
    """

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server() -> Iterator[ThordataAPIServer]:
    with ThordataAPIServer() as running:
        yield running
    assert running.errors == []


@pytest.fixture
def connect(server: ThordataAPIServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Define the trigger's connection as ``AIRFLOW_CONN_*`` JSON aimed at the server."""

    def define(**extra: Any) -> None:
        connection = json.loads(server.connection_json())
        connection["extra"].update(extra)
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))

    return define


def arguments(task_ids: Any, clock: FakeClock, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "task_ids": task_ids,
        "thordata_conn_id": CONN_ID,
        "poll_interval": INTERVAL,
        "deadline": START + 3600,
        "known_statuses": dict.fromkeys(task_ids, "running") if isinstance(task_ids, list) else None,
        "clock": clock,
    }
    values.update(overrides)
    return values


def make(task_ids: list[str], clock: FakeClock, **overrides: Any) -> ThordataScraperTaskTrigger:
    return ThordataScraperTaskTrigger(**arguments(task_ids, clock, **overrides))


def run(trigger: ThordataScraperTaskTrigger) -> dict[str, Any]:
    """Run the trigger to its end, as the triggerer does, and return its one event's payload."""

    async def collect() -> list[TriggerEvent]:
        return [event async for event in trigger.run()]

    (event,) = asyncio.run(asyncio.wait_for(collect(), timeout=10))
    return event.payload


# -- serialisation ---------------------------------------------------------------------------


def test_serialize_gives_the_class_path_and_exactly_the_plain_arguments():
    trigger = ThordataScraperTaskTrigger(
        task_ids=["t1", "t2"],
        thordata_conn_id="thordata_default",
        poll_interval=30,
        deadline=1_749_282_194,
        known_statuses={"t1": "running", "t2": None},
        clock=FakeClock(),
    )

    assert trigger.serialize() == (
        "airflow_provider_thordata.triggers.scraper.ThordataScraperTaskTrigger",
        {
            "task_ids": ["t1", "t2"],
            "thordata_conn_id": "thordata_default",
            "poll_interval": 30.0,
            "deadline": 1_749_282_194.0,
            "known_statuses": {"t1": "running", "t2": None},
        },
    )


def test_the_triggerer_rebuilds_an_equal_trigger_from_what_serialize_gives():
    from airflow.sdk.module_loading import import_string
    from airflow.serialization.serialized_objects import BaseSerialization

    classpath, kwargs = make(["t1", "t2"], FakeClock()).serialize()

    stored = BaseSerialization.deserialize(json.loads(json.dumps(BaseSerialization.serialize(kwargs))))
    rebuilt = import_string(classpath)(**stored)

    assert rebuilt.serialize() == (classpath, kwargs)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"task_ids": "t1"}, "task_ids must be a list of scraper task ids, got 't1'"),
        ({"task_ids": []}, "task_ids must hold at least one scraper task id"),
        ({"task_ids": ["t1", ""]}, "task_ids must hold at least one scraper task id, and only ids"),
        ({"task_ids": ["t1", 7]}, "and only ids"),
        ({"thordata_conn_id": ""}, "thordata_conn_id must name a connection"),
        ({"poll_interval": 0}, "poll_interval must be a positive number of seconds, got 0"),
        ({"poll_interval": -5}, "poll_interval must be a positive number of seconds"),
        ({"poll_interval": float("nan")}, "poll_interval must be a finite number of seconds, got nan"),
        ({"poll_interval": True}, "poll_interval must be a finite number of seconds, got True"),
        ({"deadline": "tomorrow"}, "deadline must be a finite number of seconds, got 'tomorrow'"),
        ({"known_statuses": {"t1": "Ready"}}, r"known_statuses must map task ids to a normalised status"),
    ],
)
def test_invalid_arguments_are_refused_before_the_trigger_ever_runs(overrides, message):
    with pytest.raises(ValueError, match=message):
        ThordataScraperTaskTrigger(**{**arguments(["t1"], FakeClock()), **overrides})


def test_watched_ids_lose_blanks_and_duplicates():
    trigger = make([" t1", "t2", "t1 "], FakeClock(), known_statuses=None)

    assert trigger.task_ids == ["t1", "t2"]
    assert trigger.known_statuses == {}


# -- statuses --------------------------------------------------------------------------------


def test_it_fires_when_a_watched_status_changes_with_every_latest_status(server, connect, clock):
    connect()
    steady = server.add_task(lifecycle=FOREVER_RUNNING)
    finishing = server.add_task(lifecycle=Lifecycle(steps=(("Running", 2), ("Ready", None))))

    payload = run(make([steady, finishing], clock))

    assert payload == {
        "kind": "statuses",
        "task_ids": [steady, finishing],
        "statuses": {
            steady: {"status": "running", "raw": "Running"},
            finishing: {"status": "succeeded", "raw": "Ready"},
        },
        "deadline": START + 3600,
        "error": None,
    }
    assert clock.sleeps == [INTERVAL, INTERVAL]
    assert [request.task_ids for request in server.requests("tasks-status")] == [(steady, finishing)] * 3


def test_a_task_never_seen_fires_at_its_first_observation(server, connect, clock):
    connect()
    task = server.add_task(lifecycle=FOREVER_RUNNING)

    payload = run(make([task], clock, known_statuses={task: None}))

    assert payload["statuses"] == {task: {"status": "running", "raw": "Running"}}
    assert clock.sleeps == []
    assert server.count("tasks-status") == 1


def test_a_new_spelling_of_a_known_status_does_not_fire(server, connect, clock):
    connect()
    task = server.add_task(lifecycle=Lifecycle(steps=(("Running", 1), ("collecting", 1), ("Ready", None))))

    payload = run(make([task], clock))

    assert payload["statuses"] == {task: {"status": "succeeded", "raw": "Ready"}}
    assert server.count("tasks-status") == 3


# -- the deadline ----------------------------------------------------------------------------


def test_it_fires_timeout_at_the_absolute_deadline_with_the_last_statuses(server, connect, clock):
    connect()
    task = server.add_task(lifecycle=FOREVER_RUNNING)
    unknown = "0" * 32
    server.inject_fault("tasks-status", Fault.omit_ids(unknown), times=None)

    payload = run(make([task, unknown], clock, deadline=START + 70))

    assert payload == {
        "kind": "timeout",
        "task_ids": [task, unknown],
        "statuses": {task: {"status": "running", "raw": "Running"}},
        "deadline": START + 70,
        "error": None,
    }
    assert clock.sleeps == [INTERVAL, INTERVAL, 10.0]
    assert clock.now == START + 70
    assert server.count("tasks-status") == 3


def test_a_deadline_already_past_fires_timeout_without_polling(server, connect, clock):
    connect()
    task = server.add_task(lifecycle=FOREVER_RUNNING)

    payload = run(make([task], clock, deadline=START - 1))

    assert (payload["kind"], payload["statuses"]) == ("timeout", {})
    assert server.count() == 0
    assert clock.sleeps == []


# -- errors ----------------------------------------------------------------------------------


def test_a_permanent_error_ends_the_watch_with_code_message_http_status_and_endpoint(server, connect, clock):
    connect(public_key="not-the-key")
    task = server.add_task(lifecycle=FOREVER_RUNNING)

    payload = run(make([task], clock))

    error = payload.pop("error")
    assert payload == {"kind": "error", "task_ids": [task], "statuses": {}, "deadline": START + 3600}
    assert (error["code"], error["http_status"], error["endpoint"]) == (10013, 200, "tasks-status")
    assert "'Public API key'" in error["message"]
    assert "not-the-key" not in json.dumps(error)
    assert server.count("tasks-status") == 1
    assert clock.sleeps == []


def test_log_lines_name_the_watched_tasks_briefly(server, connect, clock):
    import structlog.testing

    connect(public_key="not-the-key")
    ids = [server.add_task(lifecycle=FOREVER_RUNNING) for _ in range(5)]

    with structlog.testing.capture_logs() as events:
        run(make(ids, clock))

    lines = [str(e["event"]) % tuple(e.get("positional_args", ())) for e in events]
    (stopped,) = [line for line in lines if line.startswith("Stopped watching")]
    assert stopped.startswith(f"Stopped watching Thordata task(s) {ids[0]}, {ids[1]}, {ids[2]} and 2 more: ")
    assert "not-the-key" not in "\n".join(lines)


def test_a_connection_that_is_not_defined_fails_the_trigger_naming_it(clock):
    from airflow.sdk.exceptions import AirflowNotFoundException

    with pytest.raises(AirflowNotFoundException, match="The conn_id `thordata_missing` isn't defined"):
        run(make(["t1"], clock, thordata_conn_id="thordata_missing"))


@pytest.mark.parametrize(
    "fault",
    [
        Fault.envelope(10011),
        Fault.http(503),
        Fault.http(429),
        Fault.malformed_json(),
        Fault.drop_connection(),
    ],
    ids=["rate-limit-10011", "http-503", "http-429", "malformed-json", "dropped-connection"],
)
def test_a_transient_error_is_polled_again_after_a_full_interval(server, connect, clock, fault):
    connect()
    task = server.add_task(lifecycle=Lifecycle(steps=(("Running", 1), ("Ready", None))))
    server.inject_fault("tasks-status", fault, times=2)

    payload = run(make([task], clock))

    assert (payload["kind"], payload["statuses"]) == (
        "statuses",
        {task: {"status": "succeeded", "raw": "Ready"}},
    )
    assert [request.fault for request in server.requests("tasks-status")] == [
        fault.kind,
        fault.kind,
        None,
        None,
    ]
    assert clock.sleeps == [INTERVAL, INTERVAL, INTERVAL]


def test_a_lasting_outage_sleeps_between_every_poll_until_the_deadline(server, connect, clock):
    connect()
    task = server.add_task(lifecycle=FOREVER_RUNNING)
    server.inject_fault("tasks-status", Fault.http(502), times=None)

    payload = run(make([task], clock, deadline=START + 100))

    assert (payload["kind"], payload["statuses"]) == ("timeout", {})
    assert clock.sleeps == [INTERVAL, INTERVAL, INTERVAL, 10.0]
    assert server.count("tasks-status") == 4


# -- the payload the task resumes with -------------------------------------------------------


def payloads_of_every_kind(server: ThordataAPIServer, connect: Any) -> list[dict[str, Any]]:
    connect()
    task = server.add_task(lifecycle=Lifecycle(steps=(("Running", 1), ("Ready", None))))
    statuses = run(make([task], FakeClock()))
    timeout = run(make([task], FakeClock(), deadline=START - 1))
    connect(public_token="wrong")
    error = run(make([task], FakeClock()))
    return [statuses, timeout, error]


def test_parse_payload_accepts_what_run_yields_even_after_a_json_round_trip(server, connect):
    payloads = payloads_of_every_kind(server, connect)

    assert [payload["kind"] for payload in payloads] == ["statuses", "timeout", "error"]
    for payload in payloads:
        assert parse_payload(payload) == payload
        assert parse_payload(json.loads(json.dumps(payload))) == payload


GOOD = {"kind": "statuses", "task_ids": ["t1"], "statuses": {"t1": {"status": "running", "raw": "Running"}}}
GOOD.update({"deadline": START, "error": None})
ERROR = {"message": "sign error", "endpoint": "tasks-status", "code": 10013, "http_status": 200}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (None, "Expected a dict from ThordataScraperTaskTrigger, got NoneType"),
        ("statuses", "Expected a dict from ThordataScraperTaskTrigger, got str"),
        ({"kind": "statuses"}, r"Trigger event lacks deadline, error, statuses, task_ids: it has \['kind'\]"),
        (
            {**GOOD, "kind": "finished"},
            "Unknown trigger event kind 'finished': expected one of statuses, timeout, error",
        ),
        ({**GOOD, "task_ids": "t1"}, "task_ids must be a list of task ids, got 't1'"),
        ({**GOOD, "deadline": "soon"}, "deadline must be Unix seconds, got 'soon'"),
        ({**GOOD, "deadline": True}, "deadline must be Unix seconds, got True"),
        ({**GOOD, "statuses": ["t1"]}, r"statuses must map task ids to \{status, raw\}"),
        (
            {**GOOD, "statuses": {"t9": {"status": "running", "raw": "x"}}},
            "reports task 't9', which it does not watch",
        ),
        ({**GOOD, "statuses": {"t1": {"status": "Ready", "raw": "Ready"}}}, "status of task 't1' must be"),
        ({**GOOD, "statuses": {"t1": {"status": "running"}}}, "status of task 't1' must be"),
        (
            {**GOOD, "kind": "error"},
            "An error trigger event must carry message, endpoint, code and http_status",
        ),
        (
            {**GOOD, "kind": "error", "error": {"message": "x"}},
            "must carry message, endpoint, code and http_status",
        ),
        ({**GOOD, "error": ERROR}, "A statuses trigger event carries no error"),
    ],
)
def test_parse_payload_refuses_a_malformed_payload_saying_what_is_wrong(payload, message):
    with pytest.raises(ValueError, match=message):
        parse_payload(payload)


def test_parse_payload_accepts_a_well_formed_error_event():
    payload = {**GOOD, "kind": "error", "statuses": {}, "error": ERROR}

    assert parse_payload(payload) == payload
