"""The HTTP side of the Thordata-compatible API server: routes, forms, answers, the handler.

:mod:`airflow_provider_thordata.testing.thordata_api` decides what each request means for its
tasks; this module maps a path to an endpoint name, reads and checks form fields (a bad one
raises :class:`_StandInError`, which becomes an envelope answer), encodes envelope and
injected-fault answers, and adapts the server to :mod:`http.server` with one handler class.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_thordata.testing.thordata_api import ThordataAPIServer
    from airflow_provider_thordata.testing.thordata_script import Fault

WEB_SCRAPER_API_PATH = "/api/web-scraper-api"

_FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass
class _Answer:
    http_status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    code: int | None = None


class _StandInError(Exception):
    """An invalid request; becomes an envelope answer."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _route(method: str, path: str) -> str:
    if method == "GET" and path.startswith("/files/"):
        return "files"
    if method != "POST":
        return "unknown"
    if path in ("/builder", "/video_builder"):
        return path[1:]
    prefix = WEB_SCRAPER_API_PATH + "/"
    if path.startswith(prefix) and path[len(prefix) :] in ("tasks-status", "tasks-download", "tasks-list"):
        return path[len(prefix) :]
    return "unknown"


def _decode_form(headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    if not headers.get("content-type", "").lower().startswith(_FORM_TYPE):
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return {key: values[-1] for key, values in parse_qs(text, keep_blank_values=True).items()}


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise _StandInError(10000, f"{name} is required")
    return value


def _json_field(form: Mapping[str, str], name: str, kind: type, *, required: bool) -> Any:
    text = form.get(name)
    if text is None or not text.strip():
        if required:
            raise _StandInError(10000, f"{name} is required")
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise _StandInError(10000, f"{name} is not valid JSON") from None
    if not isinstance(value, kind):
        raise _StandInError(10000, f"{name} must be a JSON {'list' if kind is list else 'object'}")
    return value


def _positive(form: Mapping[str, str], name: str, default: int) -> int:
    text = form.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise _StandInError(10000, f"{name} must be a positive integer")
    return int(text)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def _envelope(code: int, message: str, *, data: Any = None, http_status: int = 200) -> _Answer:
    body = json.dumps({"code": code, "msg": message, "data": data}, ensure_ascii=False).encode()
    return _Answer(http_status=http_status, body=body, code=code)


def _fault_answer(fault: Fault) -> _Answer:
    if fault.kind == "envelope":
        return _envelope(fault.code, fault.message)
    if fault.kind == "malformed_json":
        return _Answer(body=b'{"code": 200, "msg": "ok", "data": [{"task_id": ')
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    body = fault.body if fault.body is not None else f"HTTP {fault.http_status} (injected fault)".encode()
    content_type = "application/json" if body.lstrip().startswith(b"{") else "text/plain"
    return _Answer(http_status=fault.http_status, body=body, content_type=content_type, headers=headers)


def _handler_for(server: ThordataAPIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One write per answer, sent at once: without these, headers and body go out as two
        # segments and a keep-alive client waits for a delayed ACK (about 40 ms) on each call.
        disable_nagle_algorithm = True
        wbufsize = -1
        server_version = "ThordataAPIStandIn"
        timeout = 30

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = server._answer(method, urlsplit(self.path).path, headers, body)
            if answer is None:
                self.close_connection = True
                return
            self.send_response(answer.http_status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: tests read :meth:`ThordataAPIServer.requests` instead."""

    return Handler
