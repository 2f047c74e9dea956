"""Shared status polling for every trigger in one triggerer process.

A triggerer runs many triggers in one event loop. Each :class:`ThordataScraperTaskTrigger`
subscribes its task ids to the :class:`StatusPoller` of its connection and asks it for
statuses younger than its poll interval. The poller answers from what it last fetched when
that is fresh enough; otherwise it refreshes every subscribed id at once, 100 per
``tasks-status`` call. So a thousand watched tasks cost ten calls per interval, not a
thousand, whether they are watched by one trigger or by a thousand.

Two rules keep the count down when triggers come and go:

- Triggers that start together share their first refresh: a refresh waits one turn of the
  event loop, so that every trigger started in the same turn has subscribed before the ids
  are read.
- A trigger that only lacks ids never fetched (it has just started, while the others' ids are
  fresh) fetches those ids alone; the next regular refresh takes them along with the rest.

Triggers of one connection with different poll intervals are served at the shortest one: a
refresh always takes every subscribed id along.

Pollers are kept per event loop: nothing here is bound to a loop other than the one it was
created in (``dag.test()`` runs each inline trigger in a fresh loop). A poller is dropped when
its last subscriber leaves, so the next one reads the connection afresh.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from airflow_provider_thordata.backoff import Clock
    from airflow_provider_thordata.scraper_api import ObservedStatus

log = logging.getLogger(__name__)


class StatusSource(Protocol):
    """What the poller needs from a hook: the statuses of many tasks, batched by the hook."""

    async def afetch_statuses(self, task_ids: Iterable[str]) -> dict[str, ObservedStatus]:
        """Return the status of each known task among ``task_ids``."""
        ...


@dataclass(frozen=True)
class Snapshot:
    """The statuses of some tasks as last fetched, and when.

    :param statuses: task id to observed status; ids the service did not return are absent.
    :param fetched_at: clock time of the oldest fetch the answer relies on.
    """

    statuses: dict[str, ObservedStatus]
    fetched_at: float


class StatusPoller:
    """Coalesces the status polls of every subscriber of one Thordata connection.

    :param source: the hook that performs the calls.
    :param clock: where "now" is read, for the age of cached answers.
    """

    def __init__(self, source: StatusSource, clock: Clock) -> None:
        self._source = source
        self._clock = clock
        self._subscribers: Counter[str] = Counter()
        self._cache: dict[str, tuple[float, ObservedStatus | None]] = {}
        self._lock = asyncio.Lock()
        self._failure: tuple[float, Exception] | None = None
        self.refreshes = 0

    def subscribe(self, task_ids: Iterable[str]) -> None:
        """Add ``task_ids`` to every refresh until they are unsubscribed."""
        self._subscribers.update(dict.fromkeys(task_ids, 1))

    def unsubscribe(self, task_ids: Iterable[str]) -> None:
        """Stop refreshing ``task_ids`` once no subscriber watches them any more."""
        self._subscribers.subtract(dict.fromkeys(task_ids, 1))
        for task_id in [task_id for task_id, count in self._subscribers.items() if count <= 0]:
            del self._subscribers[task_id]
            self._cache.pop(task_id, None)

    @property
    def subscribed(self) -> int:
        """Return how many distinct task ids are watched."""
        return len(self._subscribers)

    async def statuses(self, task_ids: Iterable[str], *, max_age: float) -> Snapshot:
        """Return the statuses of ``task_ids``, all fetched less than ``max_age`` seconds ago.

        :raises ThordataAPIError: the refresh failed. Subscribers asking within ``max_age`` of a
            failed refresh get the same error without another call, so an outage does not turn
            into one call per trigger.
        """
        wanted = list(dict.fromkeys(task_ids))
        snapshot = self._fresh(wanted, max_age)
        if snapshot is not None:
            return snapshot
        async with self._lock:
            # One turn of the loop, so that triggers started with this one subscribe first.
            await asyncio.sleep(0)
            # Another subscriber may have refreshed, or failed to, while this one waited.
            snapshot = self._fresh(wanted, max_age)
            if snapshot is None:
                self._raise_recent_failure(max_age)
                await self._refresh(self._due(wanted, max_age))
                snapshot = self._fresh(wanted, max_age=float("inf"))
        if snapshot is None:  # pragma: no cover - _refresh caches every id it polled
            raise RuntimeError("status refresh left ids uncached")
        return snapshot

    def _fresh(self, task_ids: list[str], max_age: float) -> Snapshot | None:
        now = self._clock.time()
        statuses: dict[str, ObservedStatus] = {}
        oldest = now
        for task_id in task_ids:
            cached = self._cache.get(task_id)
            if cached is None or now - cached[0] >= max_age:
                return None
            fetched_at, observed = cached
            oldest = min(oldest, fetched_at)
            if observed is not None:
                statuses[task_id] = observed
        return Snapshot(statuses, oldest)

    def _due(self, wanted: list[str], max_age: float) -> list[str]:
        """Return the ids to fetch: every subscribed one, or only those never fetched."""
        now = self._clock.time()
        stale = any(task_id in self._cache and now - self._cache[task_id][0] >= max_age for task_id in wanted)
        everyone = list(dict.fromkeys([*wanted, *self._subscribers]))
        if stale:
            return everyone
        return [task_id for task_id in everyone if task_id not in self._cache]

    def _raise_recent_failure(self, max_age: float) -> None:
        if self._failure is not None and self._clock.time() - self._failure[0] < max_age:
            raise self._failure[1]

    async def _refresh(self, ids: list[str]) -> None:
        fetched_at = self._clock.time()
        self.refreshes += 1
        try:
            observed = await self._source.afetch_statuses(ids)
        except Exception as error:
            self._failure = (fetched_at, error)
            raise
        self._failure = None
        for task_id in ids:
            self._cache[task_id] = (fetched_at, observed.get(task_id))
        log.debug("Refreshed the status of %d Thordata task(s) in one batch", len(ids))


# One poller per (event loop, connection id). Weak keys: a closed loop takes its pollers along.
_POLLERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, StatusPoller]] = (
    weakref.WeakKeyDictionary()
)


def shared_poller(conn_id: str, factory: Callable[[], StatusPoller]) -> StatusPoller:
    """Return the poller of ``conn_id`` in the running event loop, creating it with ``factory``."""
    loop = asyncio.get_running_loop()
    pollers = _POLLERS.setdefault(loop, {})
    poller = pollers.get(conn_id)
    if poller is None:
        poller = pollers[conn_id] = factory()
    return poller


class Subscription:
    """Context manager that keeps task ids subscribed to their connection's shared poller.

    Enter it inside the running event loop; on exit the ids are unsubscribed and, when that
    was the poller's last subscriber, the poller is dropped.

    :param conn_id: the Thordata connection the ids belong to.
    :param task_ids: the ids to keep refreshed.
    :param factory: builds the connection's poller when this loop has none yet.
    """

    def __init__(self, conn_id: str, task_ids: Iterable[str], factory: Callable[[], StatusPoller]) -> None:
        self.conn_id = conn_id
        self.task_ids = list(dict.fromkeys(task_ids))
        self._factory = factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: StatusPoller | None = None

    def __enter__(self) -> StatusPoller:
        self._loop = asyncio.get_running_loop()
        self._poller = shared_poller(self.conn_id, self._factory)
        self._poller.subscribe(self.task_ids)
        return self._poller

    def __exit__(self, *exc_info: object) -> None:
        poller, loop = self._poller, self._loop
        if poller is None or loop is None:
            return
        poller.unsubscribe(self.task_ids)
        pollers = _POLLERS.get(loop)
        if not poller.subscribed and pollers is not None and pollers.get(self.conn_id) is poller:
            del pollers[self.conn_id]
