"""Task statuses: the normalised :class:`TaskStatus` and how the service's spellings map to it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class TaskStatus(str, Enum):
    """The status of a scraper task, normalised from whatever spelling the service used."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminal(self) -> bool:
        """Return whether the task will not change any more (succeeded, failed or cancelled)."""
        return self in (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED)


# The documentation lists Running, Failed and Ready; Thordata's official SDK also accepts the
# other spellings. "collecting" is the SDK's word for a task that is gathering its data: it is
# neither finished nor waiting, so it counts as running (mapping it to unknown would hide the
# RUNNING lifecycle event and log a warning for a perfectly normal state).
_STATUS_SPELLINGS: dict[str, TaskStatus] = {
    "pending": TaskStatus.PENDING,
    "running": TaskStatus.RUNNING,
    "collecting": TaskStatus.RUNNING,
    "ready": TaskStatus.SUCCEEDED,
    "success": TaskStatus.SUCCEEDED,
    "succeeded": TaskStatus.SUCCEEDED,
    "finished": TaskStatus.SUCCEEDED,
    "failed": TaskStatus.FAILED,
    "error": TaskStatus.FAILED,
    "cancelled": TaskStatus.CANCELLED,
    "canceled": TaskStatus.CANCELLED,
}


def normalize_status(raw: object) -> TaskStatus:
    """Return the :class:`TaskStatus` for a status as the service spelled it (any case).

    Anything not recognised is :attr:`TaskStatus.UNKNOWN`; the caller logs it, once per value.
    """
    if not isinstance(raw, str):
        return TaskStatus.UNKNOWN
    return _STATUS_SPELLINGS.get(raw.strip().lower(), TaskStatus.UNKNOWN)


@dataclass(frozen=True)
class ObservedStatus:
    """One task's status as observed in a ``tasks-status`` answer.

    :param status: the normalised status.
    :param raw: the value exactly as the service sent it (``""`` when it sent none).
    """

    status: TaskStatus
    raw: str
