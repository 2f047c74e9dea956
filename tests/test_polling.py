"""Shared polling: triggers of one connection in one event loop share their tasks-status calls.

Every scenario runs real triggers against the local Thordata API in one event loop, on a clock
that parks each sleeping trigger until the test moves time on; after each step the test waits
until every trigger sleeps again (or has ended) and counts the calls the server received. No
count depends on real timing.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_thordata import polling
from airflow_provider_thordata.polling import StatusPoller, Subscription, shared_poller
from airflow_provider_thordata.testing import Fault, Lifecycle, ThordataAPIServer
from airflow_provider_thordata.triggers.scraper import ThordataScraperTaskTrigger

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from airflow_provider_thordata.scraper_api import ObservedStatus

pytestmark = pytest.mark.timeout(60)

CONN_ID = "thordata_polling_test"
START = 1_749_278_594.0
INTERVAL = 30.0
FOREVER_RUNNING = Lifecycle(steps=(("Running", None),))


class SteppingClock:
    """A frozen clock whose sleepers wait until the test advances time past their wake-up."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        raise AssertionError(f"a blocking sleep of {seconds} s in the event loop")

    async def asleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        entry = (self.now + seconds, asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        try:
            await entry[1]
        finally:
            self._sleepers.remove(entry)

    def parked(self) -> int:
        return sum(not future.done() for _, future in self._sleepers)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for due, future in self._sleepers:
            if due <= self.now and not future.done():
                future.set_result(None)


class Scenario:
    """Triggers running as tasks of the current event loop, on one stepping clock."""

    def __init__(self, clock: SteppingClock) -> None:
        self.clock = clock
        self.tasks: list[asyncio.Task[list[Any]]] = []

    def start(self, task_ids: list[str], **overrides: Any) -> asyncio.Task[list[Any]]:
        arguments: dict[str, Any] = {
            "task_ids": task_ids,
            "thordata_conn_id": CONN_ID,
            "poll_interval": INTERVAL,
            "deadline": START + 3600,
            "known_statuses": dict.fromkeys(task_ids, "running"),
            "clock": self.clock,
        }
        arguments.update(overrides)
        trigger = ThordataScraperTaskTrigger(**arguments)

        async def collect() -> list[Any]:
            return [event.payload async for event in trigger.run()]

        task = asyncio.create_task(collect())
        self.tasks.append(task)
        return task

    async def settle(self) -> None:
        """Wait until every trigger sleeps on the clock or has ended."""
        while self.clock.parked() != sum(not task.done() for task in self.tasks):
            await asyncio.sleep(0.001)

    async def step(self, seconds: float = INTERVAL) -> None:
        self.clock.advance(seconds)
        await self.settle()


def run(scenario: Callable[[Scenario], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(scenario(Scenario(SteppingClock())), timeout=30)

    return asyncio.run(main())


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThordataAPIServer]:
    with ThordataAPIServer() as running:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", running.connection_json())
        yield running
    assert running.errors == []


def add_tasks(server: ThordataAPIServer, count: int) -> list[str]:
    return [server.add_task(lifecycle=FOREVER_RUNNING) for _ in range(count)]


def calls_per_step(server: ThordataAPIServer, counts: list[int]) -> list[int]:
    return [after - before for before, after in zip([0, *counts], counts, strict=False)]


def ids_polled(server: ThordataAPIServer, first: int, last: int) -> list[str]:
    return [
        task_id for request in server.requests("tasks-status")[first:last] for task_id in request.task_ids
    ]


# -- a thousand tasks, ten calls per interval ------------------------------------------------


@pytest.mark.parametrize("per_trigger", [10, 1000], ids=["100-triggers-of-10", "1-trigger-of-1000"])
def test_a_thousand_watched_tasks_cost_ten_calls_per_interval_however_they_are_split(server, per_trigger):
    ids = add_tasks(server, 1000)

    async def scenario(s: Scenario) -> list[int]:
        for offset in range(0, 1000, per_trigger):
            s.start(ids[offset : offset + per_trigger])
        counts = []
        await s.settle()
        counts.append(server.count("tasks-status"))
        for _ in range(3):
            await s.step()
            counts.append(server.count("tasks-status"))
        return counts

    counts = run(scenario)

    assert calls_per_step(server, counts) == [10, 10, 10, 10]
    assert all(len(request.task_ids) <= 100 for request in server.requests("tasks-status"))
    for interval in range(4):
        assert sorted(ids_polled(server, 10 * interval, 10 * (interval + 1))) == sorted(ids)


def test_every_trigger_gets_its_own_tasks_statuses_from_the_shared_calls_and_then_leaves(server):
    ids = add_tasks(server, 1000)

    async def scenario(s: Scenario) -> tuple[list[list[Any]], dict[str, StatusPoller]]:
        tasks = [s.start(ids[offset : offset + 10]) for offset in range(0, 1000, 10)]
        await s.settle()
        for task_id in ids:
            server.set_status(task_id, "Ready")
        await s.step()
        results = await asyncio.gather(*tasks)
        return results, dict(polling._POLLERS.get(asyncio.get_running_loop(), {}))

    results, pollers_left = run(scenario)

    assert server.count("tasks-status") == 20
    for offset, payloads in zip(range(0, 1000, 10), results, strict=True):
        (payload,) = payloads
        assert payload["kind"] == "statuses"
        assert payload["task_ids"] == ids[offset : offset + 10]
        assert payload["statuses"] == {
            task_id: {"status": "succeeded", "raw": "Ready"} for task_id in payload["task_ids"]
        }
    assert pollers_left == {}


def test_triggers_that_start_later_fetch_only_their_new_ids_then_join_the_regular_refresh(server):
    first_ids = add_tasks(server, 100)
    late_ids = add_tasks(server, 5)

    async def scenario(s: Scenario) -> list[int]:
        for offset in range(0, 100, 10):
            s.start(first_ids[offset : offset + 10])
        await s.settle()
        counts = [server.count("tasks-status")]
        await s.step(INTERVAL / 2)
        s.start(late_ids)
        await s.settle()
        counts.append(server.count("tasks-status"))
        for _ in range(4):
            await s.step(INTERVAL / 2)
            counts.append(server.count("tasks-status"))
        return counts

    counts = run(scenario)

    assert calls_per_step(server, counts) == [1, 1, 2, 0, 2, 0]
    requests = server.requests("tasks-status")
    assert sorted(requests[1].task_ids) == sorted(late_ids)
    assert sorted(ids_polled(server, 2, 4)) == sorted(first_ids + late_ids)


def test_a_trigger_that_ends_takes_its_ids_out_of_the_next_refresh(server):
    kept, dropped = add_tasks(server, 100), add_tasks(server, 100)

    async def scenario(s: Scenario) -> list[int]:
        s.start(kept)
        leaving = s.start(dropped)
        await s.settle()
        counts = [server.count("tasks-status")]
        leaving.cancel()
        await s.step()
        counts.append(server.count("tasks-status"))
        return counts

    counts = run(scenario)

    assert calls_per_step(server, counts) == [2, 1]
    assert sorted(server.requests("tasks-status")[-1].task_ids) == sorted(kept)


# -- errors ----------------------------------------------------------------------------------


def test_a_transient_error_costs_one_call_per_interval_not_one_per_trigger(server):
    ids = add_tasks(server, 100)
    server.inject_fault("tasks-status", Fault.http(503), times=None)

    async def scenario(s: Scenario) -> tuple[list[int], list[bool]]:
        tasks = [s.start(ids[offset : offset + 2]) for offset in range(0, 100, 2)]
        await s.settle()
        counts = [server.count("tasks-status")]
        await s.step()
        counts.append(server.count("tasks-status"))
        server.clear_faults()
        await s.step()
        counts.append(server.count("tasks-status"))
        return counts, [task.done() for task in tasks]

    counts, done = run(scenario)

    assert calls_per_step(server, counts) == [1, 1, 1]
    assert [request.fault for request in server.requests("tasks-status")] == ["http", "http", None]
    assert not any(done)


def test_every_trigger_sleeps_a_full_interval_after_a_shared_failure(server):
    ids = add_tasks(server, 20)
    server.inject_fault("tasks-status", Fault.envelope(10011), times=1)

    async def scenario(s: Scenario) -> list[float]:
        for offset in range(0, 20, 2):
            s.start(ids[offset : offset + 2])
        await s.settle()
        return list(s.clock.sleeps)

    sleeps = run(scenario)

    assert sleeps == [INTERVAL] * 10
    assert server.count("tasks-status") == 1


def test_a_permanent_error_reaches_every_trigger_from_one_call(server, monkeypatch):
    ids = add_tasks(server, 20)
    wrong = json.loads(server.connection_json())
    wrong["extra"]["public_token"] = "wrong-token"
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(wrong))

    async def scenario(s: Scenario) -> list[list[Any]]:
        tasks = [s.start(ids[offset : offset + 2]) for offset in range(0, 20, 2)]
        return list(await asyncio.gather(*tasks))

    results = run(scenario)

    assert server.count("tasks-status") == 1
    assert [(payload["kind"], payload["error"]["code"]) for (payload,) in results] == [("error", 10013)] * 10


def test_once_every_trigger_left_the_next_one_reads_the_connection_afresh(server, monkeypatch):
    (task_id,) = add_tasks(server, 1)
    good = server.connection_json()
    wrong = json.loads(good)
    wrong["extra"]["public_token"] = "wrong-token"
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(wrong))

    async def scenario(s: Scenario) -> tuple[list[Any], list[Any]]:
        failed = await s.start([task_id])
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", good)
        fixed = await s.start([task_id], known_statuses={task_id: None})
        return failed, fixed

    (failed,), (fixed,) = run(scenario)

    assert failed["kind"] == "error"
    assert fixed["statuses"] == {task_id: {"status": "running", "raw": "Running"}}


# -- pollers per event loop ------------------------------------------------------------------


def test_triggers_in_two_event_loops_do_not_share_a_poller(server):
    ids = add_tasks(server, 10)
    pollers = []

    async def scenario(s: Scenario) -> None:
        s.start(ids)
        await s.settle()
        pollers.append(polling._POLLERS[asyncio.get_running_loop()][CONN_ID])

    run(scenario)
    run(scenario)

    assert server.count("tasks-status") == 2
    assert pollers[0] is not pollers[1]


class CountingSource:
    """A status source that records each batch it is asked for and answers ``running``."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def afetch_statuses(self, task_ids: Any) -> dict[str, ObservedStatus]:
        from airflow_provider_thordata.scraper_api import ObservedStatus, TaskStatus

        ids = list(task_ids)
        self.batches.append(ids)
        await asyncio.sleep(0)
        return {
            task_id: ObservedStatus(TaskStatus.RUNNING, "Running") for task_id in ids if task_id != "gone"
        }


def test_a_poller_answers_from_its_cache_while_younger_than_the_asked_age():
    source = CountingSource()
    clock = SteppingClock()

    async def scenario() -> list[Any]:
        poller = StatusPoller(source, clock)
        poller.subscribe(["a", "b", "gone"])
        first = await poller.statuses(["a", "gone"], max_age=INTERVAL)
        clock.now += INTERVAL - 1
        cached = await poller.statuses(["b", "a", "a"], max_age=INTERVAL)
        clock.now += 1
        refreshed = await poller.statuses(["a"], max_age=INTERVAL)
        return [first, cached, refreshed]

    first, cached, refreshed = asyncio.run(scenario())

    assert source.batches == [["a", "gone", "b"], ["a", "b", "gone"]]
    assert sorted(first.statuses) == ["a"]
    assert sorted(cached.statuses) == ["a", "b"]
    assert (first.fetched_at, cached.fetched_at, refreshed.fetched_at) == (START, START, START + INTERVAL)


def test_shared_pollers_are_kept_per_loop_and_dropped_with_their_last_subscription():
    def factory() -> StatusPoller:
        return StatusPoller(CountingSource(), SteppingClock())

    async def scenario() -> list[Any]:
        loop = asyncio.get_running_loop()
        one, two = Subscription(CONN_ID, ["a", "b"], factory), Subscription(CONN_ID, ["b", "c"], factory)
        with one as first, two as second:
            same = first is second is shared_poller(CONN_ID, factory)
            watched = first.subscribed
        return [same, watched, polling._POLLERS[loop]]

    same, watched, left = asyncio.run(scenario())

    assert same
    assert watched == 3
    assert left == {}
