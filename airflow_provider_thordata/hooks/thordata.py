"""The hook for Thordata's Web Scraper API: create scraper tasks, poll them, read their results.

Every request is built and every answer read by :mod:`airflow_provider_thordata.scraper_api`;
this module only sends (``httpx``, sync for operators and async for triggers), retries with the
shared back-off policy, reads the Airflow connection and logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import httpx
import tenacity
from airflow.sdk import BaseHook
from airflow.sdk.log import amask_secret, mask_secret

from airflow_provider_thordata import scraper_api as api
from airflow_provider_thordata.backoff import SYSTEM_CLOCK, BackoffPolicy, parse_retry_after, tenacity_options
from airflow_provider_thordata.exceptions import ThordataAPIError
from airflow_provider_thordata.scraper_api import ClientConfig, ObservedStatus, TaskPage, TaskStatus
from airflow_provider_thordata.tls import tls_context

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator, Iterable

    from airflow.sdk import Connection

    from airflow_provider_thordata.backoff import Clock
    from airflow_provider_thordata.scraper_api import ApiCall

_T = TypeVar("_T")

#: ``test_connection`` answers a click in the UI: one attempt, no back-off.
_SINGLE_ATTEMPT = BackoffPolicy(max_attempts=1)

#: Failures after which the request certainly never reached the service.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class ThordataHook(BaseHook):
    """Talk to Thordata's Web Scraper API with the credentials of a ``thordata`` connection.

    The connection's password is the scraper token (needed only to create tasks); its extras
    hold ``public_token`` and ``public_key`` (needed for every call), the optional ``user_id``,
    and optional ``scraper_api_url`` / ``web_scraper_api_url`` that replace the two base URLs.
    Rate limits (code 10011, HTTP 429), server errors and network failures are retried with
    ``policy``; credential and validation errors raise at once with a message naming the
    connection field or request field to fix. Every method has an ``a``-prefixed async twin.

    :param thordata_conn_id: the Airflow connection to use.
    :param timeout: seconds allowed for each HTTP request.
    :param policy: retry timing; five attempts with exponential back-off and jitter by default.
    :param clock: where retries sleep; tests inject a fake one.
    """

    conn_name_attr = "thordata_conn_id"
    default_conn_name = "thordata_default"
    conn_type = "thordata"
    hook_name = "Thordata"

    # Where status values this provider does not know were already reported, per process: a
    # poll loop would otherwise repeat the same warning on every poll.
    _unknown_statuses_reported: ClassVar[set[str]] = set()

    def __init__(
        self,
        thordata_conn_id: str = default_conn_name,
        *,
        timeout: float = 60.0,
        policy: BackoffPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.thordata_conn_id = thordata_conn_id
        self.timeout = timeout
        self.policy = policy or BackoffPolicy()
        self.clock = clock or SYSTEM_CLOCK
        self._config: ClientConfig | None = None

    # -- connection --------------------------------------------------------------------------

    def get_conn(self) -> ClientConfig:
        """Return the connection's validated values, reading the connection once.

        Every credential is registered with Airflow's secrets masker, ``public_key`` included
        (its name is not on Airflow's list of sensitive words).

        :raises ValueError: the public token or key is missing, or a base URL is malformed.
        """
        if self._config is None:
            conn = self.get_connection(self.thordata_conn_id)
            config = self._config_from(conn, conn.extra_dejson)
            for secret in config.secrets:
                mask_secret(secret)
            self._config = config
        return self._config

    async def aget_conn(self) -> ClientConfig:
        """Return the connection's validated values; the async twin of :meth:`get_conn`."""
        if self._config is None:
            conn = await self.aget_connection(self.thordata_conn_id)
            config = self._config_from(conn, await conn.aextra_dejson())
            for secret in config.secrets:
                await amask_secret(secret)
            self._config = config
        return self._config

    def _config_from(self, conn: Connection, extra: object) -> ClientConfig:
        if not isinstance(extra, dict):
            raise ValueError(
                f"The extra of Airflow connection '{self.thordata_conn_id}' must be a JSON object "
                "holding public_token and public_key"
            )
        return ClientConfig.from_connection(self.thordata_conn_id, password=conn.password, extra=extra)

    # -- operations --------------------------------------------------------------------------

    def create_task(
        self,
        spider_id: str,
        spider_name: str,
        parameters: Mapping[str, Any] | Iterable[Mapping[str, Any]],
        *,
        file_name: str | None = None,
        include_errors: bool = True,
        universal_settings: Mapping[str, Any] | None = None,
        data_format: str | None = None,
        video: bool = False,
    ) -> str:
        """Create a scraper task and return its id.

        A rate limit or an unavailable service is retried; an answer lost after the request
        was sent is not (the task may exist, and a second try would create and bill another).

        :param spider_id: the spider, e.g. ``amazon_product_by-url``.
        :param spider_name: the spider's site, e.g. ``amazon.com``.
        :param parameters: one parameter object or a list of them (one per input).
        :param file_name: the result file name; ``{{TasksID}}`` (the default) is the task id.
        :param include_errors: include failed inputs in the result.
        :param universal_settings: the builder's common settings (``spider_universal``).
        :param data_format: ``json``, ``csv`` or ``xlsx``.
        :param video: use the video builder.
        """
        plan = api.create_task_plan(
            self.get_conn(),
            spider_id=spider_id,
            spider_name=spider_name,
            parameters=parameters,
            file_name=file_name,
            include_errors=include_errors,
            universal_settings=universal_settings,
            data_format=data_format,
            video=video,
        )
        task_id = self._run(plan)
        self.log.info("Created Thordata task %s (spider %s, %s)", task_id, spider_id, spider_name)
        return task_id

    async def acreate_task(
        self,
        spider_id: str,
        spider_name: str,
        parameters: Mapping[str, Any] | Iterable[Mapping[str, Any]],
        *,
        file_name: str | None = None,
        include_errors: bool = True,
        universal_settings: Mapping[str, Any] | None = None,
        data_format: str | None = None,
        video: bool = False,
    ) -> str:
        """Create a scraper task and return its id; the async twin of :meth:`create_task`."""
        plan = api.create_task_plan(
            await self.aget_conn(),
            spider_id=spider_id,
            spider_name=spider_name,
            parameters=parameters,
            file_name=file_name,
            include_errors=include_errors,
            universal_settings=universal_settings,
            data_format=data_format,
            video=video,
        )
        task_id = await self._arun(plan)
        self.log.info("Created Thordata task %s (spider %s, %s)", task_id, spider_id, spider_name)
        return task_id

    def fetch_statuses(self, task_ids: Iterable[str] | str) -> dict[str, ObservedStatus]:
        """Return the status of each task the service knows, polling 100 ids per call.

        Ids the service does not know are absent from the result: the caller decides what
        that means. A status this provider does not know is ``unknown`` and logged once.
        """
        ids = api.validate_task_ids(task_ids)
        if not ids:
            return {}
        observed = self._run(api.fetch_statuses_plan(self.get_conn(), ids))
        return self._report_statuses(ids, observed)

    async def afetch_statuses(self, task_ids: Iterable[str] | str) -> dict[str, ObservedStatus]:
        """Return the status of each task the service knows; the twin of :meth:`fetch_statuses`."""
        ids = api.validate_task_ids(task_ids)
        if not ids:
            return {}
        observed = await self._arun(api.fetch_statuses_plan(await self.aget_conn(), ids))
        return self._report_statuses(ids, observed)

    def get_task_statuses(self, task_ids: Iterable[str] | str) -> dict[str, TaskStatus]:
        """Return the normalised status of each task the service knows."""
        return {task_id: seen.status for task_id, seen in self.fetch_statuses(task_ids).items()}

    async def aget_task_statuses(self, task_ids: Iterable[str] | str) -> dict[str, TaskStatus]:
        """Return the normalised status of each task the service knows (async)."""
        observed = await self.afetch_statuses(task_ids)
        return {task_id: seen.status for task_id, seen in observed.items()}

    def get_download_url(self, task_id: str, file_type: str = "json") -> str:
        """Return the URL of a task's result file (``json``, ``csv``, ``video``, ...)."""
        url = self._run(api.download_url_plan(self.get_conn(), task_id, file_type))
        self.log.info("Got the %s result URL of Thordata task %s", file_type, task_id)
        return url

    async def aget_download_url(self, task_id: str, file_type: str = "json") -> str:
        """Return the URL of a task's result file; the twin of :meth:`get_download_url`."""
        url = await self._arun(api.download_url_plan(await self.aget_conn(), task_id, file_type))
        self.log.info("Got the %s result URL of Thordata task %s", file_type, task_id)
        return url

    def download_result(
        self, task_id: str, file_type: str = "json", *, max_bytes: int = api.DEFAULT_MAX_RESULT_BYTES
    ) -> bytes:
        """Return the content of a succeeded task's result file (``json``, ``csv``, ...).

        Asks ``tasks-download`` for a fresh URL, then reads the file from it. The file host
        gets no credential (the URL alone grants access) and the URL is never logged.

        :param task_id: the scraper task.
        :param file_type: ``json``, ``csv``, ``video``, ``subtitle`` or ``audio``.
        :param max_bytes: the largest file to read into memory; a larger one raises
            :class:`~airflow_provider_thordata.exceptions.ThordataAPIError` without being read.
        """
        content = self._run(
            api.download_result_plan(self.get_conn(), task_id, file_type, max_bytes=max_bytes)
        )
        self.log.info(
            "Read the %s result file of Thordata task %s (%d bytes)", file_type, task_id, len(content)
        )
        return content

    async def adownload_result(
        self, task_id: str, file_type: str = "json", *, max_bytes: int = api.DEFAULT_MAX_RESULT_BYTES
    ) -> bytes:
        """Return the content of a result file; the async twin of :meth:`download_result`."""
        plan = api.download_result_plan(await self.aget_conn(), task_id, file_type, max_bytes=max_bytes)
        content = await self._arun(plan)
        self.log.info(
            "Read the %s result file of Thordata task %s (%d bytes)", file_type, task_id, len(content)
        )
        return content

    def list_tasks(self, page: int = 1, size: int = 20) -> TaskPage:
        """Return one page of the task list (newest first), as redacted ``resource`` records."""
        return self._run(api.list_tasks_plan(self.get_conn(), page, size))

    async def alist_tasks(self, page: int = 1, size: int = 20) -> TaskPage:
        """Return one page of the task list; the async twin of :meth:`list_tasks`."""
        return await self._arun(api.list_tasks_plan(await self.aget_conn(), page, size))

    def get_task(
        self,
        task_id: str,
        *,
        status: TaskStatus | None = None,
        max_pages: int = 10,
        reveal_api_key: bool = False,
    ) -> dict[str, Any]:
        """Return a task's record in the seed's ``resource`` shape, ``apiKey`` redacted.

        The record is found in the task list (at most ``max_pages`` pages of 100, newest
        first). ``jsonUrl`` and ``csvUrl`` are filled in when the task succeeded; pass the
        ``status`` you already polled to save the status call. ``reveal_api_key`` keeps the
        scraping token in clear, for an integration that opted in: never log the result.

        :raises ThordataAPIError: the task is not among the pages read, or a call failed.
        """
        plan = api.get_task_plan(
            self.get_conn(), task_id, status=status, max_pages=max_pages, reveal_api_key=reveal_api_key
        )
        return self._run(plan)

    async def aget_task(
        self,
        task_id: str,
        *,
        status: TaskStatus | None = None,
        max_pages: int = 10,
        reveal_api_key: bool = False,
    ) -> dict[str, Any]:
        """Return a task's record in the ``resource`` shape; the twin of :meth:`get_task`."""
        plan = api.get_task_plan(
            await self.aget_conn(), task_id, status=status, max_pages=max_pages, reveal_api_key=reveal_api_key
        )
        return await self._arun(plan)

    def get_tasks(
        self,
        statuses: Mapping[str, TaskStatus | None] | Iterable[str],
        *,
        max_pages: int = 10,
        reveal_api_key: bool = False,
    ) -> dict[str, dict[str, Any]]:
        """Return the records of many tasks, found in one scan of the task list.

        ``statuses`` maps task ids to the status already polled (or ``None``), or is just the
        ids. Tasks not among the ``max_pages`` newest pages are absent from the result.
        """
        plan = api.get_tasks_plan(
            self.get_conn(), _wanted(statuses), max_pages=max_pages, reveal_api_key=reveal_api_key
        )
        return self._run(plan)

    async def aget_tasks(
        self,
        statuses: Mapping[str, TaskStatus | None] | Iterable[str],
        *,
        max_pages: int = 10,
        reveal_api_key: bool = False,
    ) -> dict[str, dict[str, Any]]:
        """Return the records of many tasks; the twin of :meth:`get_tasks`."""
        plan = api.get_tasks_plan(
            await self.aget_conn(), _wanted(statuses), max_pages=max_pages, reveal_api_key=reveal_api_key
        )
        return await self._arun(plan)

    @property
    def user_id(self) -> str | None:
        """Return the connection's Thordata user id (``{{userId}}`` in webhook templates)."""
        return self.get_conn().user_id

    def test_connection(self) -> tuple[bool, str]:
        """Check the public token and key with a read-only call; report the scraper token.

        Reads one item of the task list, once, without retrying. The scraper token cannot be
        checked without creating (and paying for) a task, so only its presence is reported.
        """
        try:
            config = self.get_conn()
            page = self._run(api.list_tasks_plan(config, 1, 1), policy=_SINGLE_ATTEMPT)
        except (ThordataAPIError, ValueError) as exc:
            return False, str(exc)
        return True, _connection_report(config, page)

    async def atest_connection(self) -> tuple[bool, str]:
        """Check the public token and key; the async twin of :meth:`test_connection`."""
        try:
            config = await self.aget_conn()
            page = await self._arun(api.list_tasks_plan(config, 1, 1), policy=_SINGLE_ATTEMPT)
        except (ThordataAPIError, ValueError) as exc:
            return False, str(exc)
        return True, _connection_report(config, page)

    # -- the two shells ----------------------------------------------------------------------

    def _run(self, plan: Generator[ApiCall, Any, _T], *, policy: BackoffPolicy | None = None) -> _T:
        with httpx.Client(timeout=self.timeout, verify=tls_context()) as client:
            return _drive(plan, lambda call: self._send(client, call, policy or self.policy))

    async def _arun(self, plan: Generator[ApiCall, Any, _T], *, policy: BackoffPolicy | None = None) -> _T:
        async with httpx.AsyncClient(timeout=self.timeout, verify=tls_context()) as client:
            return await _adrive(plan, lambda call: self._asend(client, call, policy or self.policy))

    def _send(self, client: httpx.Client, call: ApiCall, policy: BackoffPolicy) -> Any:
        retry = _RetryState(self, call, policy)

        def attempt() -> Any:
            retry.server_delay = None
            try:
                with client.stream(call.method, call.url, **_request_options(call)) as response:
                    body = api.BodyReader(call, response.headers.get("Content-Length"))
                    for chunk in response.iter_bytes():
                        body.add(chunk)
            except httpx.TransportError as exc:
                raise api.transport_error(call, exc, request_sent=not isinstance(exc, _NOT_SENT)) from exc
            return retry.read(response, body.content)

        return retry.finish(lambda: tenacity.Retrying(sleep=self.clock.sleep, **retry.options())(attempt))

    async def _asend(self, client: httpx.AsyncClient, call: ApiCall, policy: BackoffPolicy) -> Any:
        retry = _RetryState(self, call, policy)

        async def attempt() -> Any:
            retry.server_delay = None
            try:
                async with client.stream(call.method, call.url, **_request_options(call)) as response:
                    body = api.BodyReader(call, response.headers.get("Content-Length"))
                    async for chunk in response.aiter_bytes():
                        body.add(chunk)
            except httpx.TransportError as exc:
                raise api.transport_error(call, exc, request_sent=not isinstance(exc, _NOT_SENT)) from exc
            return retry.read(response, body.content)

        retrying = tenacity.AsyncRetrying(sleep=self.clock.asleep, **retry.options())
        return await retry.afinish(lambda: retrying(attempt))

    def _report_statuses(
        self, ids: tuple[str, ...], observed: dict[str, ObservedStatus]
    ) -> dict[str, ObservedStatus]:
        for task_id, seen in observed.items():
            if seen.status is TaskStatus.UNKNOWN and seen.raw not in self._unknown_statuses_reported:
                self._unknown_statuses_reported.add(seen.raw)
                self.log.warning(
                    "Thordata reported status %r for task %s, which this provider does not know; "
                    "treating it as unknown (reported once per value)",
                    seen.raw,
                    task_id,
                )
        self.log.debug("Polled %d Thordata task(s); %d known to the service", len(ids), len(observed))
        return observed


class _RetryState:
    """What the retry loop of one call shares between its attempts and its callbacks."""

    def __init__(self, hook: ThordataHook, call: ApiCall, policy: BackoffPolicy) -> None:
        self.hook = hook
        self.call = call
        self.policy = policy
        self.server_delay: float | None = None
        self.attempts = 0

    def read(self, response: httpx.Response, body: bytes) -> Any:
        self.server_delay = parse_retry_after(response.headers.get("Retry-After"), now=self.hook.clock.time())
        if self.call.envelope:
            return api.interpret_response(self.call, response.status_code, body)
        return api.interpret_file_response(self.call, response.status_code, body)

    def options(self) -> dict[str, Any]:
        return tenacity_options(
            self.policy,
            should_retry=self._should_retry,
            retry_after=lambda _state: self.server_delay,
            before_sleep=self._before_sleep,
        )

    def _should_retry(self, state: tenacity.RetryCallState) -> bool:
        self.attempts = state.attempt_number
        error = state.outcome.exception() if state.outcome is not None else None
        return isinstance(error, ThordataAPIError) and error.retryable

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        self.hook.log.warning(
            "Thordata %s failed (attempt %d of %d): %s; retrying in %.2f s",
            self.call.describe(),
            state.attempt_number,
            self.policy.max_attempts,
            error.message if isinstance(error, ThordataAPIError) else error,
            delay,
        )

    def finish(self, run: Callable[[], Any]) -> Any:
        try:
            return run()
        except ThordataAPIError as exc:
            self._log_failure(exc)
            raise

    async def afinish(self, run: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await run()
        except ThordataAPIError as exc:
            self._log_failure(exc)
            raise

    def _log_failure(self, exc: ThordataAPIError) -> None:
        # A transient failure is the caller's to judge (a trigger polls again next interval);
        # only a permanent one is an error in itself.
        log = self.hook.log.warning if exc.retryable else self.hook.log.error
        log("Thordata %s failed after %d attempt(s): %s", self.call.describe(), self.attempts, exc.message)


def _request_options(call: ApiCall) -> dict[str, Any]:
    # A GET of a result file has no form: sending an empty one would add a Content-Type.
    return {"headers": dict(call.headers), "data": dict(call.form) if call.form else None}


def _drive(plan: Generator[ApiCall, Any, _T], send: Callable[[ApiCall], Any]) -> _T:
    try:
        call = next(plan)
        while True:
            call = plan.send(send(call))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        plan.close()


async def _adrive(plan: Generator[ApiCall, Any, _T], send: Callable[[ApiCall], Awaitable[Any]]) -> _T:
    try:
        call = next(plan)
        while True:
            call = plan.send(await send(call))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        plan.close()


def _connection_report(config: ClientConfig, page: TaskPage) -> str:
    token = (
        "The scraper token is set (it is checked when a task is created: checking it here would "
        "create a billed task)."
        if config.scraper_token
        else "The scraper token (password) is empty: creating tasks will fail until it is set."
    )
    return (
        f"Thordata accepted the public token and key of connection '{config.conn_id}' "
        f"({page.count} task(s) in the task list). {token}"
    )


def _wanted(statuses: Mapping[str, TaskStatus | None] | Iterable[str]) -> dict[str, TaskStatus | None]:
    if isinstance(statuses, Mapping):
        return dict(statuses)
    return dict.fromkeys(api.validate_task_ids(statuses))
