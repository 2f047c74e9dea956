"""What one call of the Web Scraper API is: its endpoint names and the :class:`ApiCall` value.

The request builders (``_requests``) make calls, the answer readers (``_answers``) read what
came back for them, and the plans (``_plans``) yield them to a shell to send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_provider_thordata.headers import PRODUCT_TOKEN

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

BUILDER = "builder"
VIDEO_BUILDER = "video_builder"
TASKS_STATUS = "tasks-status"
TASKS_DOWNLOAD = "tasks-download"
TASKS_LIST = "tasks-list"
#: The GET of a result file from the URL ``tasks-download`` answered (not one of Thordata's
#: endpoints: the file host, which gets no credential).
RESULT_FILE = "result-file"
USER_AGENT = PRODUCT_TOKEN


@dataclass(frozen=True)
class ApiCall:
    """One request, ready to send: the shells POST ``form`` to ``url`` with ``headers``.

    Its ``repr`` leaves out the headers, which hold credentials.

    :param endpoint: the operation, such as ``tasks-status`` (what logs and errors name).
    :param url: the full URL. An API call's never holds a credential; a result file's may
        carry the file host's signed query, so the ``repr`` leaves it out too.
    :param headers: the request headers, credentials included (``Authorization``, ``token``,
        ``key``).
    :param form: the form fields, sent ``application/x-www-form-urlencoded``.
    :param conn_id: the Airflow connection, named in error messages.
    :param task_ids: the task ids the call is about, for logs.
    :param method: ``POST`` for every call of the API; ``GET`` for a result file.
    :param max_bytes: the largest answer body to read (``None``: no limit); a longer one fails
        the call without being read to its end.
    :param envelope: the answer is the API's ``{code, msg, data}`` envelope; ``False`` for a
        result file, whose body is returned as it is (see :func:`interpret_file_response`).
    """

    endpoint: str
    url: str = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)
    form: Mapping[str, str]
    conn_id: str
    task_ids: tuple[str, ...] = ()
    method: str = "POST"
    max_bytes: int | None = None
    envelope: bool = True

    def describe(self) -> str:
        """Return the endpoint and its task ids in a short form fit for a log line."""
        if not self.task_ids:
            return self.endpoint
        return f"{self.endpoint} [{describe_ids(self.task_ids)}]"


def describe_ids(task_ids: Sequence[str]) -> str:
    """Return task ids for a log line: all of a few, the first three of many."""
    shown = ", ".join(task_ids[:3])
    return shown if len(task_ids) <= 3 else f"{shown} and {len(task_ids) - 3} more"
