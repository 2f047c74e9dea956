"""A webhook receiver on loopback for tests: records every delivery, verifies signatures, answers as scripted.

Usage::

    with WebhookReceiver(secret=new_webhook_secret()) as receiver:
        receiver.reply(Reply(503, headers={"Retry-After": "2"}), Reply(204))
        monkeypatch.setenv("AIRFLOW_CONN_ORDERS_WEBHOOK", receiver.connection_json())
        ...  # run the code under test
        (delivery,) = receiver.wait_for(1)
        assert delivery.signature_valid and delivery.json()["eventType"] == "TEST"

Replies are taken from the queue filled by :meth:`WebhookReceiver.reply`, then from the
responder set with :meth:`WebhookReceiver.respond_with`, then the default reply (``200``).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

if TYPE_CHECKING:
    import socket
    import ssl
    from collections.abc import Callable, Mapping
    from types import TracebackType

    from typing_extensions import Self

HOST = "127.0.0.1"
_SOCKET_TIMEOUT = 10.0


def new_webhook_secret(nbytes: int = 32) -> str:
    """Return a fresh Standard Webhooks signing secret, ``whsec_`` and the base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


@dataclass(frozen=True)
class Reply:
    """How the receiver answers one request.

    :param status: the HTTP status to answer with.
    :param headers: response headers, such as ``Retry-After`` or ``Location``. A
        ``Content-Length`` here replaces the real one, to simulate an answer whose body never ends.
    :param body: the response body.
    :param delay: seconds to wait before answering (or before dropping the connection).
    :param drop: close the connection without answering at all.
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    drop: bool = False

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        """Answer with a redirect to ``location``."""
        return cls(status, headers={"Location": location})

    @classmethod
    def dropped(cls, delay: float = 0.0) -> Reply:
        """Close the connection without answering, after ``delay`` seconds."""
        return cls(0, delay=delay, drop=True)


@dataclass(frozen=True)
class ReceivedDelivery:
    """One request the receiver got.

    :param method: the HTTP method.
    :param path: the request target: path and query.
    :param headers: the request headers (case-insensitive).
    :param body: the exact body bytes.
    :param received_at: Unix time when the request was read.
    :param signature_valid: whether the ``webhook-*`` headers verify with the ``standardwebhooks``
        library; ``None`` when the receiver has no secret.
    :param signature_error: why verification failed, when it did.
    :param reply: how the receiver answered.
    """

    method: str
    path: str
    headers: httpx.Headers
    body: bytes
    received_at: float
    signature_valid: bool | None
    signature_error: str | None
    reply: Reply

    @property
    def dispatch_id(self) -> str | None:
        """Return the ``Webhook-Dispatch-Id`` header."""
        value: str | None = self.headers.get("webhook-dispatch-id")
        return value

    @property
    def integration(self) -> str | None:
        """Return the ``Webhook`` header: the integration's name."""
        value: str | None = self.headers.get("webhook")
        return value

    def json(self) -> Any:
        """Return the body decoded as JSON."""
        return json.loads(self.body)


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (a free port) that records webhook deliveries.

    :param secret: a ``whsec_`` signing secret; every delivery's signature is then verified with
        the ``standardwebhooks`` library. :func:`new_webhook_secret` makes one.
    :param path: the path of :attr:`url`.
    :param ssl_context: serve https with this server-side context instead of http.
    """

    def __init__(
        self, *, secret: str | None = None, path: str = "/webhook", ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.secret = secret
        self.path = path if path.startswith("/") else f"/{path}"
        self.default_reply = Reply()
        self._verifier = Webhook(secret) if secret else None
        self._ssl_context = ssl_context
        self._queue: deque[Reply] = deque()
        self._responder: Callable[[ReceivedDelivery], Reply] | None = None
        self._deliveries: list[ReceivedDelivery] = []
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving in a daemon thread; return the receiver."""
        if self._server is not None:
            raise RuntimeError("the webhook receiver is already running")
        self._stopping.clear()
        self._server = _Server(self, self._ssl_context)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"webhook-receiver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port; requests waiting on a delay are dropped."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """Return the port the receiver listens on."""
        if self._server is None:
            raise RuntimeError("start the webhook receiver first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """Return ``http(s)://127.0.0.1:<port>``."""
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """Return the URL of the receiver's :attr:`path`."""
        return self.url_for(self.path)

    def url_for(self, path: str) -> str:
        """Return the receiver's URL with another path (and query)."""
        return self.base_url + (path if path.startswith("/") else f"/{path}")

    def connection_json(self, path: str | None = None, **extra: Any) -> str:
        """Return an ``AIRFLOW_CONN_*`` value for a ``thordata_webhook`` connection to this receiver.

        The connection carries the receiver's secret and allows ``127.0.0.1`` through the
        request forgery guard; ``extra`` adds or overrides extras (``timeout``, ``max_attempts``).
        """
        connection: dict[str, Any] = {
            "conn_type": "thordata_webhook",
            "host": self.url if path is None else self.url_for(path),
            "extra": {"allowed_targets": HOST, **extra},
        }
        if self.secret:
            connection["password"] = self.secret
        return json.dumps(connection)

    # -- script --------------------------------------------------------------------------------

    def reply(self, *replies: Reply | int) -> None:
        """Queue replies for the next requests, in order; a bare int is a status code."""
        with self._changed:
            self._queue.extend(Reply(item) if isinstance(item, int) else item for item in replies)

    def respond_with(self, responder: Callable[[ReceivedDelivery], Reply] | None) -> None:
        """Decide replies with ``responder`` once the queue is empty (``None`` restores the default)."""
        with self._changed:
            self._responder = responder

    # -- what arrived --------------------------------------------------------------------------

    @property
    def deliveries(self) -> list[ReceivedDelivery]:
        """Return the requests received so far, oldest first."""
        with self._changed:
            return list(self._deliveries)

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[ReceivedDelivery]:
        """Wait until ``count`` requests have arrived and return the first ``count`` of them.

        :raises TimeoutError: fewer arrived within ``timeout`` seconds.
        """
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self._deliveries) >= count, timeout=timeout)
            if not arrived:
                received = len(self._deliveries)
                raise TimeoutError(
                    f"expected {count} webhook deliveries within {timeout} s, received {received}"
                )
            return self._deliveries[:count]

    def clear(self) -> None:
        """Forget the requests received and the queued replies."""
        with self._changed:
            self._deliveries.clear()
            self._queue.clear()

    def _receive(self, method: str, path: str, headers: httpx.Headers, body: bytes) -> ReceivedDelivery:
        valid, error = self._verify(headers, body)
        with self._changed:
            pending = ReceivedDelivery(
                method, path, headers, body, time.time(), valid, error, self.default_reply
            )
            if self._queue:
                chosen = self._queue.popleft()
            elif self._responder is not None:
                chosen = self._responder(pending)
            else:
                chosen = self.default_reply
            delivery = ReceivedDelivery(
                method, path, headers, body, pending.received_at, valid, error, chosen
            )
            self._deliveries.append(delivery)
            self._changed.notify_all()
        return delivery

    def _verify(self, headers: httpx.Headers, body: bytes) -> tuple[bool | None, str | None]:
        if self._verifier is None:
            return None, None
        try:
            self._verifier.verify(body, dict(headers), json_parse=False)
        except (WebhookVerificationError, ValueError) as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return True, None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = _SOCKET_TIMEOUT
    server: _Server

    def do_POST(self) -> None:
        self._handle()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read deliveries from the receiver, not from stderr."""

    def _handle(self) -> None:
        receiver = self.server.receiver
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit():
            self.send_error(411, "a Content-Length is required")
            return
        body = self.rfile.read(int(length))
        raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in self.headers.items()]
        delivery = receiver._receive(self.command, self.path, httpx.Headers(raw), body)
        reply = delivery.reply

        stopping = receiver._stopping.wait(reply.delay) if reply.delay else False
        if reply.drop or stopping:
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if not any(name.lower() == "content-length" for name in reply.headers):
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            # The client gave up (its timeout) before the delayed answer: nothing to answer.
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops connections when a test fans out many
    # concurrent deliveries, and the client then waits a second for a TCP retransmission.
    request_queue_size = 128

    def __init__(self, receiver: WebhookReceiver, ssl_context: ssl.SSLContext | None) -> None:
        self.receiver = receiver
        self.ssl_context = ssl_context
        super().__init__((HOST, 0), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        connection: socket.socket = request
        connection.settimeout(_SOCKET_TIMEOUT)
        if self.ssl_context is None:
            super().finish_request(connection, client_address)
            return
        try:
            # The TLS handshake runs here, in the request's thread, so a slow or failing client
            # never blocks the accept loop.
            tls = self.ssl_context.wrap_socket(connection, server_side=True)
        except OSError:
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore connections the client dropped; real failures show up as missing deliveries."""
