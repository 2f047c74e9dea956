"""Retry timing shared by both hooks: one back-off policy, one clock, tenacity for the loops.

The sync and async paths of a hook build their retry loop from the same
:func:`tenacity_options`, so the decision of when and how long to wait is written once.
Time is read and slept through a :class:`Clock`, which tests replace with a fake one that
records the sleeps instead of waiting for them.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    import tenacity


class Clock(Protocol):
    """Where the provider reads the time and waits; tests inject a fake one."""

    def time(self) -> float:
        """Return the current Unix time in seconds."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend the current coroutine for ``seconds``."""
        ...


class SystemClock:
    """The real clock: ``time.time``, ``time.sleep`` and ``asyncio.sleep``."""

    def time(self) -> float:
        """Return the current Unix time in seconds."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """Suspend the current coroutine for ``seconds``."""
        await asyncio.sleep(seconds)


SYSTEM_CLOCK: Clock = SystemClock()


@dataclass(frozen=True)
class BackoffPolicy:
    """Bounded exponential back-off with jitter, honouring ``Retry-After`` up to a cap.

    :param max_attempts: attempts in all, the first one included (1 means no retry).
    :param initial_delay: seconds before the first retry.
    :param max_delay: no computed delay exceeds this.
    :param multiplier: growth of the delay from one retry to the next.
    :param jitter: spread as a fraction of the delay (0.1 gives +/- 10 %), so that many
        clients failing together do not retry together.
    :param retry_after_cap: the longest ``Retry-After`` honoured; a longer one waits this long.
    """

    max_attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.1
    retry_after_cap: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.initial_delay < 0 or self.max_delay < 0 or self.retry_after_cap < 0:
            raise ValueError("back-off delays must not be negative")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be a fraction in [0, 1), got {self.jitter}")

    def delay(
        self,
        retry_number: int,
        *,
        retry_after: float | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float:
        """Return the seconds to wait before retry number ``retry_number`` (1 for the first).

        A server's ``Retry-After`` wins over the computed delay, up to ``retry_after_cap``.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        exponent = max(retry_number - 1, 0)
        base = min(self.initial_delay * self.multiplier**exponent, self.max_delay)
        spread = base * self.jitter * (2 * rng() - 1)
        return max(0.0, min(base + spread, self.max_delay))


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Return the seconds a ``Retry-After`` header asks to wait, or ``None`` if it is unusable.

    The header holds either delay-seconds or an HTTP date (RFC 9110, section 10.2.3); a date
    in the past means "now".
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    seconds = when.timestamp() - now
    if math.isnan(seconds):
        return None
    return max(seconds, 0.0)


def tenacity_options(
    policy: BackoffPolicy,
    *,
    should_retry: Callable[[tenacity.RetryCallState], bool],
    retry_after: Callable[[tenacity.RetryCallState], float | None] = lambda _state: None,
    before_sleep: Callable[[tenacity.RetryCallState], None] | None = None,
) -> dict[str, Any]:
    """Return the keyword arguments that make a tenacity loop follow ``policy``.

    Give them to ``tenacity.Retrying`` with ``sleep=clock.sleep`` or to
    ``tenacity.AsyncRetrying`` with ``sleep=clock.asleep``: everything else is shared.

    :param should_retry: decides from the finished attempt whether another one may help.
    :param retry_after: extracts a server-requested delay from the finished attempt.
    :param before_sleep: called before each wait, to log the retry.
    """
    import tenacity

    def wait(state: tenacity.RetryCallState) -> float:
        return policy.delay(state.attempt_number, retry_after=retry_after(state))

    options: dict[str, Any] = {
        "stop": tenacity.stop_after_attempt(policy.max_attempts),
        "wait": wait,
        "retry": should_retry,
        "reraise": True,
    }
    if before_sleep is not None:
        options["before_sleep"] = before_sleep
    return options
