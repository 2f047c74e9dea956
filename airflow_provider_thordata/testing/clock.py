"""A clock for tests: sleeps are recorded and skipped, and time moves on by what was slept.

Give a :class:`FakeClock` to anything of this provider that takes a ``clock``
(:class:`~airflow_provider_thordata.hooks.thordata.ThordataHook`,
:class:`~airflow_provider_thordata.hooks.webhook.ThordataWebhookHook`, the scraper task
trigger, the local Thordata API server): back-off waits and poll intervals then cost nothing,
and a test asserts on :attr:`FakeClock.sleeps` instead of measuring time.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time

__all__ = ["FakeClock"]


class FakeClock:
    """A :class:`~airflow_provider_thordata.backoff.Clock` that records sleeps instead of waiting.

    Every :meth:`sleep` and :meth:`asleep` returns at once, appends its length to
    :attr:`sleeps` and moves :meth:`time` forward by that much, so deadlines and ``Retry-After``
    dates pass as they would in real time. :meth:`asleep` still yields to the event loop once,
    so other coroutines (a trigger's siblings, a test's own tasks) keep running.

    :param start: freeze the clock at this Unix time; it then moves only when slept or
        :meth:`advanced <advance>`. By default (``None``) it follows the real clock, shifted
        forward by everything slept and advanced: timestamps it produces stay close to now,
        which a webhook receiver that checks signature timestamps against its own clock needs.
    """

    def __init__(self, start: float | None = None) -> None:
        if start is not None and not math.isfinite(start):
            raise ValueError(f"start must be a finite Unix time, got {start!r}")
        self._start = start
        self._offset = 0.0
        self._sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        """Return the current Unix time in seconds: the start (or real time) plus the offset."""
        base = time.time() if self._start is None else self._start
        with self._lock:
            return base + self._offset

    def sleep(self, seconds: float) -> None:
        """Record a sleep of ``seconds`` and move time forward by it, without waiting."""
        self._record(seconds)

    async def asleep(self, seconds: float) -> None:
        """Record a sleep of ``seconds``, move time forward by it and let other coroutines run."""
        self._record(seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` without recording a sleep (time passing elsewhere)."""
        _check_duration(seconds, "advance")
        with self._lock:
            self._offset += seconds

    @property
    def sleeps(self) -> list[float]:
        """Return the length of every sleep so far, in order (a copy)."""
        with self._lock:
            return list(self._sleeps)

    @property
    def slept(self) -> float:
        """Return the total of every sleep so far, in seconds."""
        with self._lock:
            return sum(self._sleeps)

    def _record(self, seconds: float) -> None:
        _check_duration(seconds, "sleep")
        with self._lock:
            self._sleeps.append(seconds)
            self._offset += seconds

    def __repr__(self) -> str:
        mode = "real time" if self._start is None else f"start={self._start}"
        return f"FakeClock({mode}, sleeps={len(self.sleeps)}, slept={self.slept:g} s)"


def _check_duration(seconds: float, what: str) -> None:
    # time.sleep refuses negative lengths too; a NaN would poison every later reading.
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{what} takes a number of seconds, got {type(seconds).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{what} length must be a finite, non-negative number of seconds, got {seconds!r}")
