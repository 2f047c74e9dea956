"""The scripts of the Thordata-compatible API server: lifecycles, faults, recorded requests.

Plain values, no I/O: :class:`Lifecycle` says how a task's status evolves, :class:`Fault` how an
answer misbehaves, :class:`RecordedRequest` what the server received. The server itself is in
:mod:`airflow_provider_thordata.testing.thordata_api`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: One lifecycle step: the raw status the service reports, and for how long (``None``: forever).
Step = tuple[str, "float | None"]
DEFAULT_STEPS: tuple[Step, ...] = (("Running", 1), ("Ready", None))


@dataclass(frozen=True)
class Lifecycle:
    """How the status of a task evolves, and what it produces.

    :param steps: ``(raw status, duration)`` pairs in order. A duration counts status polls
        that included the task (``advance="polls"``) or seconds since the task was created
        (``advance="seconds"``); ``None`` means the status stays, and only the last step may
        have it. After the last step the task keeps the last status.
    :param result_rows: rows of the result file once the task succeeded; ``None`` gives one
        row per parameter object (``{"task_id": ..., "input": {...}}``).
    :param empty_result: the task succeeds with an empty result file (``file_size`` 0).
    :param advance: ``"polls"`` (deterministic) or ``"seconds"`` (read from the server's clock).
    :param error_message: ``api_error_msg`` of a task that failed or was cancelled.
    """

    steps: tuple[Step, ...] = DEFAULT_STEPS
    result_rows: tuple[dict[str, Any], ...] | None = None
    empty_result: bool = False
    advance: Literal["polls", "seconds"] = "polls"
    error_message: str = "the scraper collected no data"

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("a lifecycle needs at least one step")
        for position, step in enumerate(self.steps):
            if not isinstance(step, tuple) or len(step) != 2 or not isinstance(step[0], str):
                raise ValueError(f"step {position} must be a (raw status, duration) pair, got {step!r}")
            duration = step[1]
            if duration is None and position != len(self.steps) - 1:
                raise ValueError(f"only the last step may last forever (None), not step {position}")
            if duration is not None and not duration > 0:
                raise ValueError(f"step {position} must last more than 0, got {duration!r}")
        if self.advance not in ("polls", "seconds"):
            raise ValueError(f"advance must be 'polls' or 'seconds', got {self.advance!r}")

    def status_at(self, progress: float) -> str:
        """Return the raw status after ``progress`` polls or seconds."""
        start = 0.0
        for raw, duration in self.steps:
            if duration is None or progress < start + duration:
                return raw
            start += duration
        return self.steps[-1][0]


@dataclass(frozen=True)
class Fault:
    """A misbehaviour to inject into the answers of one endpoint; build it with a classmethod.

    :param kind: ``envelope``, ``http``, ``malformed_json``, ``slow``, ``omit_ids`` or
        ``drop_connection``.
    """

    kind: Literal["envelope", "http", "malformed_json", "slow", "omit_ids", "drop_connection"]
    code: int = 200
    message: str = ""
    http_status: int = 200
    retry_after: str | None = None
    body: bytes | None = None
    delay: float = 0.0
    task_ids: tuple[str, ...] = ()

    @classmethod
    def envelope(cls, code: int = 10011, message: str = "frequent operations, try again later") -> Fault:
        """Answer HTTP 200 with this envelope code (10011: the rate limit)."""
        return cls("envelope", code=code, message=message)

    @classmethod
    def http(cls, status: int = 503, *, retry_after: str | None = None, body: bytes | None = None) -> Fault:
        """Answer this HTTP status, with a plain-text body unless ``body`` is given."""
        return cls("http", http_status=status, retry_after=retry_after, body=body)

    @classmethod
    def malformed_json(cls) -> Fault:
        """Answer HTTP 200 with a truncated JSON body."""
        return cls("malformed_json")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Wait ``seconds`` before answering normally (to trigger client timeouts)."""
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, got {seconds}")
        return cls("slow", delay=seconds)

    @classmethod
    def omit_ids(cls, *task_ids: str) -> Fault:
        """Leave these ids (all when none are given) out of a ``tasks-status`` answer."""
        return cls("omit_ids", task_ids=tuple(task_ids))

    @classmethod
    def drop_connection(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop_connection")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received, and what it answered.

    :param endpoint: one of :data:`ENDPOINTS`.
    :param method: the HTTP method.
    :param path: the request path.
    :param headers: the request headers, names in lower case (credentials included).
    :param form: the decoded form fields (last value of each).
    :param task_ids: the ids the request named (``tasks_ids`` or ``tasks_id``).
    :param at: the server clock's time when it arrived.
    :param fault: the kind of fault injected into the answer, if any.
    :param http_status: the HTTP status answered; ``None`` when the connection was dropped or
        the answer is not sent yet (requests are recorded as they arrive).
    :param code: the envelope code answered, when the answer had one.
    """

    endpoint: str
    method: str
    path: str
    headers: Mapping[str, str]
    form: Mapping[str, str]
    task_ids: tuple[str, ...]
    at: float
    fault: str | None
    http_status: int | None
    code: int | None


def make_lifecycle(
    steps: Sequence[Step],
    result_rows: Sequence[Mapping[str, Any]] | None,
    empty_result: bool,
    advance: Literal["polls", "seconds"],
    error_message: str,
) -> Lifecycle:
    """Return a :class:`Lifecycle` from loosely typed arguments (lists for tuples)."""
    return Lifecycle(
        steps=tuple(tuple(step) for step in steps),  # type: ignore[misc]
        result_rows=None if result_rows is None else tuple(dict(row) for row in result_rows),
        empty_result=empty_result,
        advance=advance,
        error_message=error_message,
    )
