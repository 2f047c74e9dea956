"""Deliver webhooks to a ``thordata_webhook`` connection: signed, retried, guarded, never leaking secrets."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import httpx
import tenacity
from airflow.sdk import BaseHook
from airflow.sdk.log import amask_secret, mask_secret

from airflow_provider_thordata.backoff import SYSTEM_CLOCK, BackoffPolicy, parse_retry_after, tenacity_options
from airflow_provider_thordata.delivery import (
    TEST_EVENT_TYPE,
    AttemptResult,
    Delivery,
    DeliveryRecord,
    Outcome,
    classify_status,
    record,
    request_headers,
)
from airflow_provider_thordata.exceptions import (
    ThordataError,
    UnsafeWebhookTargetError,
    WebhookDeliveryError,
)
from airflow_provider_thordata.target_guard import CheckedTarget, Resolver, check_target
from airflow_provider_thordata.tls import tls_context
from airflow_provider_thordata.webhook_connection import WebhookTarget, webhook_target

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping

    from airflow_provider_thordata.backoff import Clock


class ThordataWebhookHook(BaseHook):
    """Deliver webhooks to the target of a ``thordata_webhook`` connection.

    Each delivery POSTs the given body bytes with the reserved headers (``Content-Type``,
    ``Host``, ``User-Agent``, ``Request-Origin``, ``Webhook``, ``Webhook-Dispatch-Id``, and with
    a signing secret the Standard Webhooks ``webhook-id``, ``webhook-timestamp`` and
    ``webhook-signature``), retries what may succeed later with the shared back-off policy, never
    follows redirects, and refuses targets that resolve to internal addresses unless the
    connection's ``allowed_targets`` lists them. Environment proxy settings are ignored on
    purpose (a proxy would connect to whatever the target resolves to on its side, bypassing
    the guard); ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` are honoured. User info in the target URL
    is sent as HTTP Basic authentication. The answer's status line and headers are read, its
    body never is. Logs and errors name the target's host only: a URL's path, query and user
    info may hold credentials.

    :param webhook_conn_id: the ``thordata_webhook`` connection to deliver to.
    :param clock: where time is read and waited; tests inject a fake one.
    :param resolver: resolves host names like ``socket.getaddrinfo(host, port)``; tests inject one.
    :param policy: the back-off timing; the connection's ``max_attempts``, when set, overrides
        the policy's number of attempts.
    """

    conn_name_attr = "webhook_conn_id"
    default_conn_name = "thordata_webhook_default"
    conn_type = "thordata_webhook"
    hook_name = "Thordata Webhook"

    def __init__(
        self,
        webhook_conn_id: str = default_conn_name,
        *,
        clock: Clock | None = None,
        resolver: Resolver | None = None,
        policy: BackoffPolicy | None = None,
    ) -> None:
        super().__init__()
        self.webhook_conn_id = webhook_conn_id
        self.clock = clock or SYSTEM_CLOCK
        self.resolver: Resolver = resolver or socket.getaddrinfo
        self.policy = policy or BackoffPolicy()
        self._target: WebhookTarget | None = None

    def get_conn(self) -> WebhookTarget:
        """Return the validated connection, fetching it on first use.

        Its secrets (the signing secret, the URL's password and query) are registered with
        Airflow's secrets masker.
        """
        if self._target is None:
            conn = self.get_connection(self.webhook_conn_id)
            target = webhook_target(conn.conn_id, conn.host, conn.password, conn.extra_dejson)
            for secret in target.secrets:
                mask_secret(secret)
            self._target = self._checked(target)
        return self._target

    async def aget_conn(self) -> WebhookTarget:
        """Return the validated connection; the async twin of :meth:`get_conn`.

        Uses the SDK's async connection and masking calls: their sync versions would wait on
        the supervisor from inside the event loop.
        """
        if self._target is None:
            conn = await self.aget_connection(self.webhook_conn_id)
            target = webhook_target(conn.conn_id, conn.host, conn.password, await conn.aextra_dejson())
            for secret in target.secrets:
                await amask_secret(secret)
            self._target = self._checked(target)
        return self._target

    def deliver(
        self,
        body: bytes,
        *,
        event_type: str,
        integration: str,
        dispatch_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> DeliveryRecord:
        """Deliver one webhook, retrying as the policy allows, and return its record.

        :param body: the exact bytes to POST (UTF-8 JSON); signed as they are.
        :param event_type: the event's wire value, for the record and logs.
        :param integration: the integration's name, sent as the ``Webhook`` header.
        :param dispatch_id: the deduplication key, the same on every attempt and every retry.
        :param headers: extra headers; reserved and framing names among them are ignored.
        :raises WebhookDeliveryError: the delivery failed; its ``record`` says how.
        :raises UnsafeWebhookTargetError: the guard refused the target before anything was sent;
            its ``record`` has the outcome ``refused``.
        :raises ValueError: the arguments or the connection are invalid (the message says which).
        """
        delivery = Delivery(body, event_type, integration, dispatch_id, headers or {})
        return self._deliver(delivery)

    async def adeliver(
        self,
        body: bytes,
        *,
        event_type: str,
        integration: str,
        dispatch_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> DeliveryRecord:
        """Deliver one webhook without blocking the event loop; see :meth:`deliver`."""
        delivery = Delivery(body, event_type, integration, dispatch_id, headers or {})
        return await self._adeliver(delivery)

    def test_connection(self) -> tuple[bool, str]:
        """Send a ``TEST`` event to the target and report the receiver's answer.

        This reaches the receiver: it POSTs a real (signed, when a secret is set) delivery with
        event type ``TEST``, integration ``airflow-connection-test`` and a small sample payload,
        in a single attempt. Receivers should acknowledge ``TEST`` events without acting on them.
        """
        now = datetime.fromtimestamp(self.clock.time(), tz=timezone.utc).isoformat()
        payload = {
            "userId": None,
            "createdAt": now,
            "eventType": TEST_EVENT_TYPE,
            "eventData": {"message": f"Test delivery from Airflow connection {self.webhook_conn_id!r}"},
            "resource": {},
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        delivery = Delivery(body, TEST_EVENT_TYPE, "airflow-connection-test", f"test_{uuid.uuid4().hex}")
        try:
            result = self._deliver(delivery, max_attempts=1)
        except WebhookDeliveryError as exc:
            return False, exc.message
        except (ThordataError, ValueError) as exc:
            return False, str(exc)
        return True, (
            f"The receiver at {self.get_conn().host} accepted a TEST event: "
            f"HTTP {result['status_code']} in {result['elapsed_ms']} ms."
        )

    # -- the two shells ----------------------------------------------------------------------

    def _deliver(self, delivery: Delivery, *, max_attempts: int | None = None) -> DeliveryRecord:
        started = self.clock.time()
        run: _DeliveryRun | None = None
        try:
            run = _DeliveryRun(self, delivery, self.get_conn(), max_attempts)
            with httpx.Client(**run.client_options(tls_context())) as client:
                retrying = tenacity.Retrying(sleep=self.clock.sleep, **run.retry_options())
                try:
                    result: AttemptResult = retrying(self._attempt, run, client)
                except tenacity.RetryError as exc:
                    result = exc.last_attempt.result()
        except UnsafeWebhookTargetError as exc:
            self._refused(exc, delivery, run, started)
            raise
        return run.finish(result)

    async def _adeliver(self, delivery: Delivery, *, max_attempts: int | None = None) -> DeliveryRecord:
        started = self.clock.time()
        run: _DeliveryRun | None = None
        try:
            run = _DeliveryRun(self, delivery, await self.aget_conn(), max_attempts)
            async with httpx.AsyncClient(**run.client_options(tls_context())) as client:
                retrying = tenacity.AsyncRetrying(sleep=self.clock.asleep, **run.retry_options())
                try:
                    result: AttemptResult = await retrying(self._aattempt, run, client)
                except tenacity.RetryError as exc:
                    result = exc.last_attempt.result()
        except UnsafeWebhookTargetError as exc:
            self._refused(exc, delivery, run, started)
            raise
        return run.finish(result)

    def _attempt(self, run: _DeliveryRun, client: httpx.Client) -> AttemptResult:
        run.begin_attempt()
        try:
            target = run.check(self.resolver)
            response = client.send(run.request(client, target), stream=True)
        except (httpx.TransportError, OSError) as exc:
            return run.no_answer(exc)
        response.close()
        return run.answered(response)

    async def _aattempt(self, run: _DeliveryRun, client: httpx.AsyncClient) -> AttemptResult:
        run.begin_attempt()
        try:
            target = await asyncio.to_thread(run.check, self.resolver)
            response = await client.send(run.request(client, target), stream=True)
        except (httpx.TransportError, OSError) as exc:
            return run.no_answer(exc)
        await response.aclose()
        return run.answered(response)

    # -- connection ----------------------------------------------------------------------------

    def _checked(self, target: WebhookTarget) -> WebhookTarget:
        if target.ignored_extras:
            self.log.warning(
                "Connection %r (type thordata_webhook): ignoring unknown extras %s",
                target.conn_id,
                ", ".join(map(repr, target.ignored_extras)),
            )
        return target

    def _refused(
        self, exc: UnsafeWebhookTargetError, delivery: Delivery, run: _DeliveryRun | None, started: float
    ) -> None:
        # DNS can change between attempts, so the guard may refuse a later attempt; the refused
        # attempt itself sent nothing and does not count.
        attempts = max(run.attempts - 1, 0) if run is not None else 0
        elapsed_ms = _elapsed_ms(self.clock, started)
        exc.record = dict(
            record(
                delivery, outcome=Outcome.REFUSED, status_code=None, attempts=attempts, elapsed_ms=elapsed_ms
            )
        )
        self.log.error(
            "Webhook dispatch %s (event %s, integration %s) refused after %d attempt(s): %s",
            delivery.dispatch_id,
            delivery.event_type,
            delivery.integration,
            attempts,
            exc.message,
        )


class _DeliveryRun:
    """The state of one delivery shared by its attempts: counting, timing, requests, logging."""

    def __init__(
        self, hook: ThordataWebhookHook, delivery: Delivery, target: WebhookTarget, max_attempts: int | None
    ) -> None:
        self.log = hook.log
        self.clock = hook.clock
        self.delivery = delivery
        self.target = target
        self.limit = max_attempts or target.max_attempts or hook.policy.max_attempts
        self.policy = dataclasses.replace(hook.policy, max_attempts=self.limit)
        self.started = self.clock.time()
        self.attempt_started = self.started
        self.attempts = 0

    @property
    def ids(self) -> tuple[str, str, str]:
        return self.delivery.dispatch_id, self.delivery.event_type, self.delivery.integration

    def client_options(self, tls: ssl.SSLContext) -> dict[str, Any]:
        # trust_env=False: HTTP(S)_PROXY would connect on the proxy's side to whatever the host
        # resolves to there, defeating the guard; certificate settings are read by tls_context().
        return {
            "verify": tls,
            "trust_env": False,
            "follow_redirects": False,
            "timeout": httpx.Timeout(self.target.timeout),
        }

    def retry_options(self) -> dict[str, Any]:
        return tenacity_options(
            self.policy,
            should_retry=_should_retry,
            retry_after=_retry_after,
            before_sleep=self._log_retry,
        )

    def begin_attempt(self) -> None:
        self.attempts += 1
        self.attempt_started = self.clock.time()

    def check(self, resolver: Resolver) -> CheckedTarget:
        return check_target(self.target.url, allowed=self.target.allowed, resolver=resolver)

    def request(self, client: httpx.Client | httpx.AsyncClient, target: CheckedTarget) -> httpx.Request:
        headers = request_headers(
            self.delivery,
            host=target.host_header,
            timestamp=int(self.clock.time()),
            signer=self.target.signer,
        )
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
        self.log.debug(
            "Webhook dispatch %s: attempt %d/%d connects to %s (checked address of %s)",
            self.delivery.dispatch_id,
            self.attempts,
            self.limit,
            target.address,
            target.host,
        )
        return client.build_request(
            "POST",
            target.url,
            content=self.delivery.body,
            headers=[(name.encode("ascii"), value.encode("utf-8")) for name, value in headers],
            extensions=extensions,
        )

    def answered(self, response: httpx.Response) -> AttemptResult:
        status = response.status_code
        outcome = classify_status(status)
        retry_after = None
        if outcome.retryable:
            retry_after = parse_retry_after(response.headers.get("retry-after"), now=self.clock.time())
        return AttemptResult(outcome, status, self._since(self.attempt_started), retry_after)

    def no_answer(self, exc: BaseException) -> AttemptResult:
        outcome = Outcome.TIMEOUT if isinstance(exc, httpx.TimeoutException) else Outcome.CONNECTION_ERROR
        return AttemptResult(outcome, None, self._since(self.attempt_started), error=type(exc).__name__)

    def finish(self, result: AttemptResult) -> DeliveryRecord:
        elapsed = self._since(self.started)
        rec = record(
            self.delivery,
            outcome=result.outcome,
            status_code=result.status_code,
            attempts=self.attempts,
            elapsed_ms=elapsed,
        )
        if result.outcome is Outcome.DELIVERED:
            self.log.info(
                "Webhook dispatch %s (event %s, integration %s) delivered to %s: HTTP %s on attempt %d/%d, "
                "%d ms in all",
                *self.ids,
                self.target.host,
                result.status_code,
                self.attempts,
                self.limit,
                elapsed,
            )
            return rec
        message = (
            f"Webhook dispatch {self.delivery.dispatch_id} (event {self.delivery.event_type}, integration "
            f"{self.delivery.integration}) to {self.target.host} failed: {result.describe()} on attempt "
            f"{self.attempts}/{self.limit}, {elapsed} ms in all. {_ADVICE[result.outcome]}"
        )
        self.log.error("%s", message)
        raise WebhookDeliveryError(message, record=rec)

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        outcome = state.outcome
        what = outcome.result().describe() if outcome is not None and not outcome.failed else "an error"
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        self.log.warning(
            "Webhook dispatch %s (event %s, integration %s): attempt %d/%d got %s; retrying in %.1f s",
            *self.ids,
            state.attempt_number,
            self.limit,
            what,
            wait,
        )

    def _since(self, started: float) -> int:
        return _elapsed_ms(self.clock, started)


_ADVICE = {
    Outcome.REDIRECTED: "Redirects are never followed: set the Target URL to the final address.",
    Outcome.GONE: "The receiver says the endpoint is gone (410); nothing more will be sent to it.",
    Outcome.REJECTED: (
        "The receiver rejected the request; retrying would not help. Check the Target URL's path, "
        "the signing secret and what the receiver expects."
    ),
    Outcome.UNAVAILABLE: "The receiver kept answering with errors until the attempts ran out.",
    Outcome.TIMEOUT: "The receiver did not answer in time; raise the connection's timeout if it is slow.",
    Outcome.CONNECTION_ERROR: "The target could not be reached; check the host name and the network.",
}


def _elapsed_ms(clock: Clock, started: float) -> int:
    return max(0, round((clock.time() - started) * 1000))


def _should_retry(state: tenacity.RetryCallState) -> bool:
    outcome = state.outcome
    return outcome is not None and not outcome.failed and outcome.result().outcome.retryable


def _retry_after(state: tenacity.RetryCallState) -> float | None:
    outcome = state.outcome
    if outcome is None or outcome.failed:
        return None
    result: AttemptResult = outcome.result()
    return result.retry_after
