"""A Thordata-compatible Web Scraper API on loopback, for tests, demos and your own DAG tests.

:class:`ThordataAPIServer` answers the calls :class:`~airflow_provider_thordata.hooks.thordata.
ThordataHook` makes, with the documented request and response shapes, from one HTTP server on
``127.0.0.1`` and a free port::

    from airflow_provider_thordata.testing import ThordataAPIServer

    with ThordataAPIServer() as server:
        monkeypatch.setenv(*server.connection_env().popitem())   # AIRFLOW_CONN_THORDATA_DEFAULT
        server.script_lifecycle(steps=[("Pending", 1), ("Running", 2), ("Ready", None)])
        ...                                                       # run the code under test
        assert server.count("tasks-status") == 4

What it serves (one server, two path prefixes, like the two real base URLs):

- ``POST /builder`` and ``POST /video_builder`` (:attr:`~ThordataAPIServer.scraper_api_url`):
  create a task. Needs ``Authorization: Bearer <scraper token>`` and the ``token`` and ``key``
  headers; form fields ``spider_id``, ``spider_name``, ``spider_parameters`` (a JSON list of
  objects), optional ``spider_errors`` (``true``/``false``), ``spider_universal`` (a JSON
  object), ``data_format`` (``json``/``csv``/``xlsx``) and ``file_name`` (``{{TasksID}}`` is
  expanded). Answers ``{"code": 200, "data": {"task_id": ...}}``.
- ``POST /api/web-scraper-api/tasks-status`` (:attr:`~ThordataAPIServer.web_scraper_api_url`):
  ``tasks_ids`` comma-separated, at most 100; unknown ids are left out of ``data``.
- ``POST /api/web-scraper-api/tasks-download``: ``tasks_id`` and ``type``; answers a URL on
  this server (``GET /files/<id>.<type>``) serving the result rows as JSON or CSV, or an empty
  file for an empty result.
- ``POST /api/web-scraper-api/tasks-list``: ``page`` and ``size``; newest first, the documented
  snake_case items, ``api_key`` included (the scraper token, as the real service sends it).

Wrong or missing credentials get the documented envelope codes: 10013 (sign error) for the
public token or key, 10014 (apiKey error) for the builder's Bearer token. Invalid form fields get
10000 with a message naming the field. Every answer is HTTP 200 with the envelope unless a fault
says otherwise, as the real service does.

Lifecycles: each created task follows a :class:`Lifecycle`, a list of ``(raw status,
duration)`` steps. By default a duration counts the status polls that included the task (so a
test is deterministic and never waits), or with ``advance="seconds"`` the seconds since the task
was created, read from the server's clock (inject a fake one). :meth:`~ThordataAPIServer.
set_status` overrides the script by hand.

Faults: :meth:`~ThordataAPIServer.inject_fault` queues a :class:`Fault` (envelope code 10011,
HTTP 5xx with an optional ``Retry-After``, malformed JSON, a slow answer, ids omitted from
``tasks-status``, a dropped connection) for the next requests to one endpoint.

Observation: :meth:`~ThordataAPIServer.count` and :meth:`~ThordataAPIServer.requests` give every
request received, with its form, headers, the task ids a status call carried, and the answer.

Run it on its own with ``python -m airflow_provider_thordata.testing.thordata_api``: it prints
the connection environment variable to use and serves until interrupted.

This module holds the server: its public methods, the meaning of each endpoint and the state
of its tasks. Routing, form reading, answer encoding and the :mod:`http.server` handler are in
:mod:`airflow_provider_thordata.testing._thordata_http`.

These are choices of the stand-in where Thordata documents nothing (the codes of
``tasks-download`` before a task succeeded, ``api_code`` values of the list items): tests must
not rely on them as facts about the real service.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import threading
import uuid
from dataclasses import dataclass, replace
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_thordata.backoff import SYSTEM_CLOCK
from airflow_provider_thordata.scraper_api import (
    DATA_FORMATS,
    DOWNLOAD_TYPES,
    STATUS_BATCH_SIZE,
    TaskStatus,
    normalize_status,
)
from airflow_provider_thordata.testing._thordata_http import (
    _FORM_TYPE,
    WEB_SCRAPER_API_PATH,
    _Answer,
    _csv_cell,
    _decode_form,
    _envelope,
    _fault_answer,
    _handler_for,
    _json_field,
    _positive,
    _required,
    _route,
    _same,
    _StandInError,
)
from airflow_provider_thordata.testing.thordata_script import (
    DEFAULT_STEPS,
    Fault,
    Lifecycle,
    RecordedRequest,
    Step,
    make_lifecycle,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from types import TracebackType

    from airflow_provider_thordata.backoff import Clock

__all__ = ["DEFAULT_STEPS", "ENDPOINTS", "Fault", "Lifecycle", "RecordedRequest", "ThordataAPIServer", "main"]

#: Endpoint names accepted by :meth:`ThordataAPIServer.count` and :meth:`~ThordataAPIServer.
#: inject_fault`; ``files`` is the download of result files, ``unknown`` any other path.
ENDPOINTS = ("builder", "video_builder", "tasks-status", "tasks-download", "tasks-list", "files", "unknown")

# Test credentials, not secrets: recognisable, so a test can search logs for them.
DEFAULT_SCRAPER_TOKEN = "scraper-token-for-tests-7f3a9c1e52b4"  # noqa: S105
DEFAULT_PUBLIC_TOKEN = "public-token-for-tests-0b8d41e6"  # noqa: S105
DEFAULT_PUBLIC_KEY = "public-key-for-tests-5c27b93a"
DEFAULT_USER_ID = "3406"


@dataclass
class _Task:
    task_id: str
    spider_id: str
    spider_name: str
    parameters: list[dict[str, Any]]
    file_name: str
    include_errors: bool
    universal: dict[str, Any] | None
    data_format: str
    video: bool
    product_id: int
    created_at: float
    script_started_at: float
    lifecycle: Lifecycle
    polls: int = 0
    forced: str | None = None
    finished_at: float | None = None


class ThordataAPIServer:
    """A Thordata-compatible Web Scraper API on ``127.0.0.1``; see the module docs.

    :param scraper_token: the Bearer token the builder accepts.
    :param public_token: the ``token`` header every call needs.
    :param public_key: the ``key`` header every call needs.
    :param user_id: the Thordata user id given in :meth:`connection_extra`.
    :param lifecycle: the default lifecycle of created tasks (:data:`DEFAULT_STEPS`: one poll
        ``Running``, then ``Ready``).
    :param clock: where task times are read (``created_time``, ``end_time``, lifecycles that
        advance by seconds); the system clock by default.
    :param max_ids_per_status_call: more ids in one ``tasks-status`` call get code 10000.
    :param host: the address to bind; keep the loopback default.
    :param port: the port to bind; 0 picks a free one.
    """

    def __init__(
        self,
        *,
        scraper_token: str = DEFAULT_SCRAPER_TOKEN,
        public_token: str = DEFAULT_PUBLIC_TOKEN,
        public_key: str = DEFAULT_PUBLIC_KEY,
        user_id: str = DEFAULT_USER_ID,
        lifecycle: Lifecycle | None = None,
        clock: Clock | None = None,
        max_ids_per_status_call: int = STATUS_BATCH_SIZE,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.scraper_token = scraper_token
        self.public_token = public_token
        self.public_key = public_key
        self.user_id = user_id
        self.max_ids_per_status_call = max_ids_per_status_call
        self._clock = clock or SYSTEM_CLOCK
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._default_lifecycle = lifecycle or Lifecycle()
        self._spider_lifecycles: dict[str, Lifecycle] = {}
        self._tasks: dict[str, _Task] = {}
        self._product_ids: dict[str, int] = {}
        self._faults: dict[str, list[tuple[Fault, int | None]]] = {}
        self._requests: list[RecordedRequest] = []
        self._errors: list[str] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._base_url: str | None = None
        self._thread: threading.Thread | None = None

    # -- running -----------------------------------------------------------------------------

    def start(self) -> ThordataAPIServer:
        """Bind the port and serve in a daemon thread; return the server itself."""
        if self._httpd is not None:
            raise RuntimeError("this ThordataAPIServer is already started")
        httpd = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        httpd.daemon_threads = True
        self._httpd = httpd
        host, port = httpd.server_address[:2]
        self._base_url = f"http://{host!s}:{port}"
        self._stopping.clear()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"thordata-api-{httpd.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; slow answers in progress are cut short."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ThordataAPIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:<port>`` (once started; it stays known after a stop)."""
        if self._base_url is None:
            raise RuntimeError("start the ThordataAPIServer before asking for its URL")
        return self._base_url

    @property
    def scraper_api_url(self) -> str:
        """Return the base URL to use for the builder (``scraper_api_url`` extra)."""
        return self.base_url

    @property
    def web_scraper_api_url(self) -> str:
        """Return the base URL of the status, download and list calls."""
        return self.base_url + WEB_SCRAPER_API_PATH

    # -- connections -------------------------------------------------------------------------

    def connection_extra(self) -> dict[str, str]:
        """Return the ``thordata`` connection extras that point at this server."""
        return {
            "public_token": self.public_token,
            "public_key": self.public_key,
            "user_id": self.user_id,
            "scraper_api_url": self.scraper_api_url,
            "web_scraper_api_url": self.web_scraper_api_url,
        }

    def connection_json(self) -> str:
        """Return the whole connection as the JSON an ``AIRFLOW_CONN_<ID>`` variable takes."""
        return json.dumps(
            {"conn_type": "thordata", "password": self.scraper_token, "extra": self.connection_extra()}
        )

    def connection_env(self, conn_id: str = "thordata_default") -> dict[str, str]:
        """Return ``{"AIRFLOW_CONN_<CONN_ID>": <connection JSON>}`` for this server."""
        return {f"AIRFLOW_CONN_{conn_id.upper()}": self.connection_json()}

    # -- lifecycles and tasks ----------------------------------------------------------------

    def script_lifecycle(
        self,
        *,
        spider_id: str | None = None,
        steps: Sequence[Step] = DEFAULT_STEPS,
        result_rows: Sequence[Mapping[str, Any]] | None = None,
        empty_result: bool = False,
        advance: Literal["polls", "seconds"] = "polls",
        error_message: str = "the scraper collected no data",
    ) -> Lifecycle:
        """Set the lifecycle of tasks created from now on, for one spider or (by default) all.

        A spider's own script wins over the default one.
        """
        lifecycle = make_lifecycle(steps, result_rows, empty_result, advance, error_message)
        with self._lock:
            if spider_id is None:
                self._default_lifecycle = lifecycle
            else:
                self._spider_lifecycles[spider_id] = lifecycle
        return lifecycle

    def script_task(
        self,
        task_id: str,
        *,
        steps: Sequence[Step] = DEFAULT_STEPS,
        result_rows: Sequence[Mapping[str, Any]] | None = None,
        empty_result: bool = False,
        advance: Literal["polls", "seconds"] = "polls",
        error_message: str = "the scraper collected no data",
    ) -> Lifecycle:
        """Give an existing task a new lifecycle, starting over from its first step."""
        lifecycle = make_lifecycle(steps, result_rows, empty_result, advance, error_message)
        with self._lock:
            task = self._task(task_id)
            task.lifecycle, task.polls, task.forced, task.finished_at = lifecycle, 0, None, None
            task.script_started_at = self._clock.time()
        return lifecycle

    def add_task(
        self,
        *,
        spider_id: str = "amazon_product_by-url",
        spider_name: str = "amazon.com",
        parameters: Sequence[Mapping[str, Any]] = ({"url": "https://www.amazon.com/dp/B0DPMHRZ1W"},),
        lifecycle: Lifecycle | None = None,
        video: bool = False,
    ) -> str:
        """Create a task without a builder call (for tests that only watch tasks); return its id."""
        return self._create(
            spider_id=spider_id,
            spider_name=spider_name,
            parameters=[dict(item) for item in parameters],
            file_name="{{TasksID}}",
            include_errors=True,
            universal=None,
            data_format="json",
            video=video,
            lifecycle=lifecycle,
        )

    def set_status(self, task_id: str, raw_status: str) -> None:
        """Report ``raw_status`` for the task from now on, whatever its script says."""
        with self._lock:
            task = self._task(task_id)
            task.forced = raw_status
            self._note_finish(task, raw_status)

    def status_of(self, task_id: str) -> str:
        """Return the raw status the task has now, without counting a poll."""
        with self._lock:
            return self._peek(self._task(task_id))

    @property
    def task_ids(self) -> list[str]:
        """Return the ids of every task, oldest first."""
        with self._lock:
            return list(self._tasks)

    def task_info(self, task_id: str) -> dict[str, Any]:
        """Return what the server knows of a task: the builder's fields, polls, status."""
        with self._lock:
            task = self._task(task_id)
            return {
                "task_id": task.task_id,
                "spider_id": task.spider_id,
                "spider_name": task.spider_name,
                "parameters": [dict(item) for item in task.parameters],
                "file_name": task.file_name,
                "include_errors": task.include_errors,
                "universal": task.universal,
                "data_format": task.data_format,
                "video": task.video,
                "polls": task.polls,
                "status": self._peek(task),
            }

    def result_rows(self, task_id: str) -> list[dict[str, Any]]:
        """Return the rows the task's result file holds once it succeeded."""
        with self._lock:
            return self._rows(self._task(task_id))

    # -- faults ------------------------------------------------------------------------------

    def inject_fault(self, endpoint: str, fault: Fault, *, times: int | None = 1) -> None:
        """Answer the next ``times`` requests to ``endpoint`` with ``fault`` (``None``: all).

        Faults queue up per endpoint and apply in the order they were injected.
        """
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)}, got {endpoint!r}")
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1 or None, got {times}")
        with self._lock:
            self._faults.setdefault(endpoint, []).append((fault, times))

    def faults_pending(self, endpoint: str | None = None) -> int:
        """Return how many injected faults are not used up, for ``endpoint`` or for all."""
        with self._lock:
            return sum(len(queue) for name, queue in self._faults.items() if endpoint in (None, name))

    def clear_faults(self) -> None:
        """Forget every fault not yet used."""
        with self._lock:
            self._faults.clear()

    # -- observation -------------------------------------------------------------------------

    def count(self, endpoint: str | None = None) -> int:
        """Return how many requests reached ``endpoint`` (every endpoint when ``None``)."""
        return len(self.requests(endpoint))

    def requests(self, endpoint: str | None = None) -> list[RecordedRequest]:
        """Return the requests received, oldest first, to ``endpoint`` or to any."""
        with self._lock:
            return [r for r in self._requests if endpoint is None or r.endpoint == endpoint]

    def reset_requests(self) -> None:
        """Forget the requests received so far (tasks, scripts and faults stay)."""
        with self._lock:
            self._requests.clear()

    @property
    def errors(self) -> list[str]:
        """Return the stand-in's own failures while answering (an empty list when healthy)."""
        with self._lock:
            return list(self._errors)

    # -- answering (called from the handler threads) -----------------------------------------

    def _answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> _Answer | None:
        endpoint = _route(method, path)
        form = _decode_form(headers, body) if method == "POST" else {}
        fault = self._take_fault(endpoint)
        arrival = self._record(endpoint, method, path, headers, form, fault)
        if fault is not None and fault.kind == "slow":
            self._stopping.wait(fault.delay)
        answer: _Answer | None
        if fault is not None and fault.kind == "drop_connection":
            answer = None
        elif fault is not None and fault.kind in ("envelope", "http", "malformed_json"):
            answer = _fault_answer(fault)
        else:
            omit: tuple[str, ...] | bool = ()
            if fault is not None and fault.kind == "omit_ids":
                omit = fault.task_ids or True
            try:
                answer = self._serve(endpoint, path, headers, form, body, omit)
            except _StandInError as exc:
                answer = _envelope(exc.code, exc.message)
            except Exception as exc:  # noqa: BLE001 (reported through .errors and a 500 answer)
                with self._lock:
                    self._errors.append(f"{endpoint}: {type(exc).__name__}: {exc}")
                answer = _envelope(500, f"stand-in failure: {exc}", http_status=500)
        answered = replace(
            arrival,
            http_status=answer.http_status if answer is not None else None,
            code=answer.code if answer is not None else None,
        )
        with self._lock:
            for position, request in enumerate(self._requests):
                if request is arrival:
                    self._requests[position] = answered
                    break
        return answer

    def _serve(
        self,
        endpoint: str,
        path: str,
        headers: Mapping[str, str],
        form: dict[str, str],
        body: bytes,
        omit: tuple[str, ...] | bool,
    ) -> _Answer:
        if endpoint == "files":
            return self._serve_file(path)
        if endpoint == "unknown":
            return _envelope(404, f"no such endpoint: {path}", http_status=404)
        if not headers.get("content-type", "").lower().startswith(_FORM_TYPE) and body:
            raise _StandInError(10000, f"the request body must be {_FORM_TYPE}")
        self._check_public_credentials(headers)
        if endpoint in ("builder", "video_builder"):
            self._check_scraper_token(headers)
            return self._serve_builder(form, video=endpoint == "video_builder")
        if endpoint == "tasks-status":
            return self._serve_status(form, omit)
        if endpoint == "tasks-download":
            return self._serve_download(form)
        return self._serve_list(form)

    def _check_public_credentials(self, headers: Mapping[str, str]) -> None:
        if not (
            _same(headers.get("token"), self.public_token) and _same(headers.get("key"), self.public_key)
        ):
            raise _StandInError(10013, "sign error: the token or key header is missing or wrong")

    def _check_scraper_token(self, headers: Mapping[str, str]) -> None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not _same(token.strip(), self.scraper_token):
            raise _StandInError(10014, "apiKey error: the Authorization Bearer token is missing or wrong")

    def _serve_builder(self, form: dict[str, str], *, video: bool) -> _Answer:
        spider_id = _required(form, "spider_id")
        spider_name = _required(form, "spider_name")
        parameters = _json_field(form, "spider_parameters", list, required=True)
        if not parameters or not all(isinstance(item, dict) for item in parameters):
            raise _StandInError(10000, "spider_parameters must be a JSON list of one or more objects")
        errors = form.get("spider_errors", "true")
        if errors not in ("true", "false"):
            raise _StandInError(10000, "spider_errors must be 'true' or 'false'")
        universal = _json_field(form, "spider_universal", dict, required=False)
        data_format = form.get("data_format", "json")
        if data_format not in DATA_FORMATS:
            raise _StandInError(10000, f"data_format must be one of {', '.join(DATA_FORMATS)}")
        task_id = self._create(
            spider_id=spider_id,
            spider_name=spider_name,
            parameters=parameters,
            file_name=form.get("file_name") or "{{TasksID}}",
            include_errors=errors == "true",
            universal=universal,
            data_format=data_format,
            video=video,
            lifecycle=None,
        )
        return _envelope(200, "success", data={"task_id": task_id})

    def _serve_status(self, form: dict[str, str], omit: tuple[str, ...] | bool) -> _Answer:
        ids = [item.strip() for item in form.get("tasks_ids", "").split(",") if item.strip()]
        if not ids:
            raise _StandInError(10000, "tasks_ids is required: one or more task ids, comma-separated")
        if len(ids) > self.max_ids_per_status_call:
            raise _StandInError(
                10000, f"tasks_ids holds {len(ids)} ids; at most {self.max_ids_per_status_call} per call"
            )
        data = []
        with self._lock:
            for task_id in ids:
                task = self._tasks.get(task_id)
                if task is None or omit is True or (isinstance(omit, tuple) and task_id in omit):
                    continue
                data.append({"task_id": task_id, "status": self._poll(task)})
        return _envelope(200, "ok", data=data)

    def _serve_download(self, form: dict[str, str]) -> _Answer:
        task_id = _required(form, "tasks_id")
        kind = _required(form, "type")
        if kind not in DOWNLOAD_TYPES:
            raise _StandInError(10000, f"type must be one of {', '.join(DOWNLOAD_TYPES)}")
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise _StandInError(10000, f"tasks_id {task_id} is not a task of this account")
            raw = self._peek(task)
        if normalize_status(raw) is not TaskStatus.SUCCEEDED:
            raise _StandInError(10000, f"tasks_id {task_id} has no result file yet (status {raw})")
        url = f"{self.base_url}/files/{task_id}.{kind}"
        return _envelope(200, "ok", data={"download": url, "tasks_ids": task_id})

    def _serve_list(self, form: dict[str, str]) -> _Answer:
        page = _positive(form, "page", 1)
        size = _positive(form, "size", 20)
        with self._lock:
            newest_first = list(reversed(self._tasks.values()))
            chosen = newest_first[(page - 1) * size : page * size]
            items = [self._list_item(task) for task in chosen]
        return _envelope(200, "ok", data={"count": len(newest_first), "list": items})

    def _serve_file(self, path: str) -> _Answer:
        name = path.rsplit("/", 1)[-1]
        task_id, _, kind = name.partition(".")
        with self._lock:
            task = self._tasks.get(task_id)
            ready = task is not None and normalize_status(self._peek(task)) is TaskStatus.SUCCEEDED
            content = self._file(task, kind) if task is not None and ready else None
        if content is None:
            return _Answer(http_status=404, body=b"no such file", content_type="text/plain")
        content_type = {"json": "application/json", "csv": "text/csv"}.get(kind, "application/octet-stream")
        return _Answer(body=content, content_type=content_type)

    # -- task state (call with the lock held) ------------------------------------------------

    def _create(
        self,
        *,
        spider_id: str,
        spider_name: str,
        parameters: list[dict[str, Any]],
        file_name: str,
        include_errors: bool,
        universal: dict[str, Any] | None,
        data_format: str,
        video: bool,
        lifecycle: Lifecycle | None,
    ) -> str:
        task_id = uuid.uuid4().hex
        now = self._clock.time()
        with self._lock:
            chosen = lifecycle or self._spider_lifecycles.get(spider_id, self._default_lifecycle)
            product_id = self._product_ids.setdefault(spider_id, len(self._product_ids) + 1)
            self._tasks[task_id] = _Task(
                task_id=task_id,
                spider_id=spider_id,
                spider_name=spider_name,
                parameters=parameters,
                file_name=file_name.replace("{{TasksID}}", task_id),
                include_errors=include_errors,
                universal=universal,
                data_format=data_format,
                video=video,
                product_id=product_id,
                created_at=now,
                script_started_at=now,
                lifecycle=chosen,
            )
        return task_id

    def _task(self, task_id: str) -> _Task:
        try:
            return self._tasks[task_id]
        except KeyError:
            raise KeyError(f"the stand-in has no task {task_id!r}") from None

    def _progress(self, task: _Task, polls: int) -> float:
        if task.lifecycle.advance == "seconds":
            return self._clock.time() - task.script_started_at
        return polls

    def _poll(self, task: _Task) -> str:
        raw = task.forced or task.lifecycle.status_at(self._progress(task, task.polls))
        task.polls += 1
        self._note_finish(task, raw)
        return raw

    def _peek(self, task: _Task) -> str:
        raw = task.forced or task.lifecycle.status_at(self._progress(task, max(task.polls - 1, 0)))
        self._note_finish(task, raw)
        return raw

    def _note_finish(self, task: _Task, raw: str) -> None:
        if task.finished_at is None and normalize_status(raw).is_terminal:
            task.finished_at = self._clock.time()

    def _rows(self, task: _Task) -> list[dict[str, Any]]:
        if task.lifecycle.empty_result:
            return []
        if task.lifecycle.result_rows is not None:
            return [dict(row) for row in task.lifecycle.result_rows]
        return [{"task_id": task.task_id, "input": dict(params)} for params in task.parameters]

    def _file(self, task: _Task, kind: str) -> bytes:
        rows = self._rows(task)
        if not rows:
            return b""
        if kind == "json":
            return json.dumps(rows, ensure_ascii=False).encode()
        if kind == "csv":
            columns = list(dict.fromkeys(key for row in rows for key in row))
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({key: _csv_cell(value) for key, value in row.items()})
            return out.getvalue().encode()
        return b""

    def _list_item(self, task: _Task) -> dict[str, Any]:
        status = normalize_status(self._peek(task))
        succeeded = status is TaskStatus.SUCCEEDED
        size = len(self._file(task, "json")) if succeeded else 0
        if succeeded:
            api_code = 200 if size else 300
        else:
            api_code = 400 if status in (TaskStatus.FAILED, TaskStatus.CANCELLED) else 0
        finished = task.finished_at
        return {
            "task_id": task.task_id,
            "created_time": int(task.created_at),
            "end_time": int(finished) if finished is not None else 0,
            "prodect_id": task.product_id,
            "url": json.dumps(
                {
                    "spider_errors": task.include_errors,
                    "spider_id": task.spider_id,
                    "spider_parameters": task.parameters,
                },
                separators=(",", ":"),
            ),
            "api_url": "",
            "api_code": api_code,
            "api_result": "",
            "api_error_msg": task.lifecycle.error_message if api_code == 400 else "",
            "api_response_time": int((finished - task.created_at) * 1000) if finished is not None else 0,
            "success_rate": 100 if api_code == 200 else 0,
            "file_size": size,
            "error_number": 1 if api_code == 400 else 0,
            "type": 1 if task.video else 0,
            "api_key": self.scraper_token,
        }

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(endpoint)
            if not queue:
                return None
            fault, times = queue[0]
            if times is not None:
                if times <= 1:
                    queue.pop(0)
                else:
                    queue[0] = (fault, times - 1)
            return fault

    def _record(
        self,
        endpoint: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        form: dict[str, str],
        fault: Fault | None,
    ) -> RecordedRequest:
        ids_text = form.get("tasks_ids", form.get("tasks_id", ""))
        record = RecordedRequest(
            endpoint=endpoint,
            method=method,
            path=path,
            headers=dict(headers),
            form=form,
            task_ids=tuple(item.strip() for item in ids_text.split(",") if item.strip()),
            at=self._clock.time(),
            fault=fault.kind if fault is not None else None,
            http_status=None,
            code=None,
        )
        with self._lock:
            self._requests.append(record)
        return record


def main(argv: Iterable[str] | None = None) -> None:
    """Serve until interrupted, after printing the connection variable that points here."""
    import argparse

    parser = argparse.ArgumentParser(description="A Thordata-compatible Web Scraper API on loopback.")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument("--conn-id", default="thordata_default", help="connection id to print")
    args = parser.parse_args(None if argv is None else list(argv))
    with ThordataAPIServer(port=args.port) as server:
        for name, value in server.connection_env(args.conn_id).items():
            print(f"export {name}='{value}'", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
