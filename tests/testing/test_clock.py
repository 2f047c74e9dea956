"""The testing kit's FakeClock: sleeps recorded, time moved on by them, the event loop kept alive."""

from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest
import tenacity

from airflow_provider_thordata.backoff import BackoffPolicy, tenacity_options
from airflow_provider_thordata.testing import FakeClock

pytestmark = pytest.mark.timeout(10)

START = 1_749_278_594.0


def test_sleeps_are_recorded_in_order_and_move_a_frozen_clock_forward_by_their_length() -> None:
    clock = FakeClock(start=START)

    clock.sleep(1.5)
    clock.sleep(0)
    clock.sleep(2)

    assert clock.sleeps == [1.5, 0, 2]
    assert clock.slept == 3.5
    assert clock.time() == START + 3.5


def test_a_frozen_clock_stands_still_between_sleeps() -> None:
    clock = FakeClock(start=START)

    first = clock.time()
    time.sleep(0.01)

    assert clock.time() == first == START


def test_by_default_the_clock_follows_real_time_shifted_by_what_was_slept() -> None:
    clock = FakeClock()
    before = time.time()

    clock.sleep(100)

    reading = clock.time()
    assert before + 100 <= reading <= time.time() + 100
    assert clock.sleeps == [100]


def test_sleeping_returns_at_once() -> None:
    clock = FakeClock()
    started = time.monotonic()

    clock.sleep(3600)

    assert time.monotonic() - started < 1


def test_advancing_moves_time_without_counting_as_a_sleep() -> None:
    clock = FakeClock(start=START)

    clock.advance(30)

    assert clock.time() == START + 30
    assert clock.sleeps == []
    assert clock.slept == 0


def test_the_list_of_sleeps_is_a_copy() -> None:
    clock = FakeClock()
    clock.sleep(1)

    clock.sleeps.append(99)

    assert clock.sleeps == [1]


@pytest.mark.parametrize(
    ("seconds", "error", "message"),
    [
        (-1, ValueError, "sleep length must be a finite, non-negative number of seconds, got -1"),
        (math.nan, ValueError, "got nan"),
        (math.inf, ValueError, "got inf"),
        ("1", TypeError, "sleep takes a number of seconds, got str"),
        (True, TypeError, "got bool"),
    ],
)
def test_a_sleep_that_time_sleep_would_refuse_is_refused(
    seconds: object, error: type[Exception], message: str
) -> None:
    clock = FakeClock(start=START)

    with pytest.raises(error, match=message):
        clock.sleep(seconds)  # type: ignore[arg-type]

    assert clock.sleeps == []
    assert clock.time() == START


def test_advancing_backwards_is_refused() -> None:
    with pytest.raises(ValueError, match="advance length must be a finite, non-negative number"):
        FakeClock().advance(-5)


def test_a_start_that_is_not_a_finite_time_is_refused() -> None:
    with pytest.raises(ValueError, match="start must be a finite Unix time, got inf"):
        FakeClock(start=math.inf)


def test_async_sleeps_are_recorded_like_sync_ones() -> None:
    clock = FakeClock(start=START)

    async def wait_twice() -> None:
        await clock.asleep(5)
        await clock.asleep(7)

    asyncio.run(wait_twice())

    assert clock.sleeps == [5, 7]
    assert clock.time() == START + 12


def test_an_async_sleep_lets_other_coroutines_run() -> None:
    clock = FakeClock()
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    async def sleeper() -> list[str]:
        task = asyncio.create_task(other())
        await clock.asleep(60)
        seen = list(ran)
        await task
        return seen

    seen_after_the_sleep = asyncio.run(sleeper())

    assert seen_after_the_sleep == ["other"]


def test_a_poll_loop_with_a_deadline_ends_after_the_sleeps_that_reach_it() -> None:
    clock = FakeClock(start=START)
    deadline = START + 95

    async def poll_until_deadline() -> int:
        polls = 0
        while clock.time() < deadline:
            polls += 1
            await clock.asleep(min(10, deadline - clock.time()))
        return polls

    polls = asyncio.run(asyncio.wait_for(poll_until_deadline(), timeout=5))

    assert polls == 10
    assert clock.sleeps == [10] * 9 + [5]


def test_it_drives_the_providers_retry_loops_sync_and_async() -> None:
    sync_clock, async_clock = FakeClock(start=START), FakeClock(start=START)
    options = tenacity_options(
        BackoffPolicy(max_attempts=4, jitter=0.0), should_retry=lambda state: state.outcome.failed
    )
    sync_attempts: list[float] = []
    async_attempts: list[float] = []

    def flaky() -> str:
        sync_attempts.append(sync_clock.time())
        if len(sync_attempts) < 4:
            raise ConnectionError("try again")
        return "done"

    async def aflaky() -> str:
        async_attempts.append(async_clock.time())
        if len(async_attempts) < 4:
            raise ConnectionError("try again")
        return "done"

    result = tenacity.Retrying(sleep=sync_clock.sleep, **options)(flaky)
    aresult = asyncio.run(tenacity.AsyncRetrying(sleep=async_clock.asleep, **options)(aflaky))

    assert (result, aresult) == ("done", "done")
    assert sync_clock.sleeps == async_clock.sleeps == [1.0, 2.0, 4.0]
    assert [at - START for at in sync_attempts] == [at - START for at in async_attempts] == [0, 1, 3, 7]


def test_sleeps_from_many_threads_are_all_counted() -> None:
    clock = FakeClock(start=START)

    def sleep_often() -> None:
        for _ in range(2000):
            clock.sleep(0.5)

    workers = [threading.Thread(target=sleep_often) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len(clock.sleeps) == 16_000
    assert clock.time() == START + 8000


def test_the_repr_says_how_the_clock_runs_and_what_it_slept() -> None:
    frozen = FakeClock(start=START)
    frozen.sleep(2)

    assert repr(frozen) == "FakeClock(start=1749278594.0, sleeps=1, slept=2 s)"
    assert repr(FakeClock()) == "FakeClock(real time, sleeps=0, slept=0 s)"
