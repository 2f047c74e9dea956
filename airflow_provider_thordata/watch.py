"""What watching scraper tasks has seen so far, and which events a new observation brings.

Pure state, kept in Airflow's task state store between pokes, deferrals and retries, so the
sensor (and the operator's ``wait_for_completion``) emits every event of every watched task
once, in lifecycle order, whatever mode it runs in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_thordata.events import LifecycleEvent, event_for_status
from airflow_provider_thordata.scraper_api import TaskStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

STATE_KEY = "thordata.watch"


@dataclass
class TaskProgress:
    """What was seen of one scraper task: its last status and the events already emitted."""

    status: TaskStatus | None = None
    raw: str | None = None
    emitted: list[str] = field(default_factory=list)
    final_event: str | None = None

    def has_emitted(self, event: LifecycleEvent) -> bool:
        """Tell whether ``event`` was already emitted for this task."""
        return event.name in self.emitted


@dataclass(frozen=True)
class PlannedEvent:
    """An event to emit for one task; ``inferred`` marks a ``RUNNING`` never observed as such."""

    event: LifecycleEvent
    inferred: bool = False


@dataclass(frozen=True)
class Change:
    """A watched task whose status changed since it was last seen.

    :param task_id: the scraper task id.
    :param previous: the status seen before (``None`` on the first observation).
    :param status: the normalised status now.
    :param raw: the status exactly as Thordata reported it.
    """

    task_id: str
    previous: TaskStatus | None
    status: TaskStatus
    raw: str

    @property
    def is_terminal(self) -> bool:
        """Tell whether the task has ended."""
        return self.status.is_terminal


@dataclass
class WatchState:
    """The progress of every watched task, JSON-serialisable for the task state store."""

    tasks: dict[str, TaskProgress] = field(default_factory=dict)
    deadline: float | None = None
    deadline_try: int | None = None

    @classmethod
    def start(cls, task_ids: Iterable[str], stored: Mapping[str, Any] | None = None) -> WatchState:
        """Return the state for ``task_ids``, resuming from a stored one when there is one.

        The watched tasks are exactly ``task_ids``, in their order: the progress of a stored
        task that is no longer watched is dropped (it would otherwise keep the watch from
        finishing), a newly watched one starts unseen.
        """
        resumed = cls.from_json(stored) if stored else cls()
        tasks = {task_id: resumed.tasks.get(task_id) or TaskProgress() for task_id in task_ids}
        return cls(tasks=tasks, deadline=resumed.deadline, deadline_try=resumed.deadline_try)

    def to_json(self) -> dict[str, Any]:
        """Return the state as plain JSON values."""
        return {
            "deadline": self.deadline,
            "deadline_try": self.deadline_try,
            "tasks": {
                task_id: {
                    "status": None if progress.status is None else progress.status.value,
                    "raw": progress.raw,
                    "emitted": list(progress.emitted),
                    "final_event": progress.final_event,
                }
                for task_id, progress in self.tasks.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WatchState:
        """Rebuild a state written by :meth:`to_json`.

        :raises ValueError: ``data`` is not such a state (the message names the store key to
            delete to start the watch over).
        """
        try:
            tasks = {
                str(task_id): TaskProgress(
                    status=None if item.get("status") is None else TaskStatus(item["status"]),
                    raw=item.get("raw"),
                    emitted=[LifecycleEvent[name].name for name in item.get("emitted") or ()],
                    final_event=(
                        None if item.get("final_event") is None else LifecycleEvent[item["final_event"]].name
                    ),
                )
                for task_id, item in (data.get("tasks") or {}).items()
            }
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"The watch state in the task state store (key {STATE_KEY!r}) is not one this version "
                f"wrote ({type(error).__name__}: {error}); delete that key to watch the tasks afresh."
            ) from error
        return cls(tasks=tasks, deadline=data.get("deadline"), deadline_try=data.get("deadline_try"))

    def known_statuses(self) -> dict[str, str | None]:
        """Return task id to last seen normalised status, the trigger's starting point."""
        return {
            task_id: None if progress.status is None else progress.status.value
            for task_id, progress in self.tasks.items()
        }

    def changes(self, observed: Mapping[str, tuple[TaskStatus, str]]) -> list[Change]:
        """Return the watched tasks whose status differs from what was seen, or was never seen.

        A task that still has an event to emit (an earlier attempt crashed between observing
        and delivering) counts as changed too, so nothing is lost. A task whose final event was
        emitted has ended for good: whatever the service reports later is ignored.
        """
        changes = []
        for task_id, progress in self.tasks.items():
            if task_id not in observed or progress.final_event is not None:
                continue
            status, raw = observed[task_id]
            pending_final = status.is_terminal and progress.final_event is None
            if status is not progress.status or raw != progress.raw or pending_final:
                changes.append(Change(task_id, progress.status, status, raw))
        return changes

    def events_for(
        self,
        change: Change,
        *,
        resource: Mapping[str, Any] | None,
        empty_result_is_failure: bool,
    ) -> list[PlannedEvent]:
        """Return the events ``change`` brings, in lifecycle order, none twice.

        A task seen pending and then finished (succeeded or failed) still yields ``RUNNING``
        first, marked as inferred: it must have run to produce a result or an error. A task
        cancelled before it ran yields only ``TASK_FAILED``. Nothing follows a final event.
        """
        progress = self.tasks[change.task_id]
        if progress.final_event is not None:
            return []
        event = event_for_status(
            change.status, resource=resource, empty_result_is_failure=empty_result_is_failure
        )
        if event is None:
            return []
        planned = []
        ran = change.status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED)
        if event is not LifecycleEvent.RUNNING and ran and not progress.has_emitted(LifecycleEvent.RUNNING):
            planned.append(PlannedEvent(LifecycleEvent.RUNNING, inferred=True))
        if not progress.has_emitted(event):
            planned.append(PlannedEvent(event))
        return planned

    def mark(self, change: Change, emitted: Iterable[LifecycleEvent]) -> None:
        """Record that ``change`` was seen and its events emitted."""
        progress = self.tasks[change.task_id]
        progress.status = change.status
        progress.raw = change.raw
        for event in emitted:
            if event.name not in progress.emitted:
                progress.emitted.append(event.name)
            if event in (LifecycleEvent.TASK_SUCCEEDED, LifecycleEvent.TASK_FAILED):
                progress.final_event = event.name

    def finished(self) -> bool:
        """Tell whether every watched task reached its final event."""
        return all(progress.final_event is not None for progress in self.tasks.values())

    def failed_tasks(self) -> list[str]:
        """Return the watched tasks whose final event is ``TASK_FAILED``."""
        failed = LifecycleEvent.TASK_FAILED.name
        return [task_id for task_id, progress in self.tasks.items() if progress.final_event == failed]
