"""The webhook hook against a real receiver on loopback, through both the sync and async paths.

The receiver, the connection and the clock are the testing kit's fixtures (``thordata_receiver``,
``thordata_webhook_connection``, ``thordata_clock``); the connection is ``thordata_webhook_default``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import email.utils
import json
import ssl
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from standardwebhooks.webhooks import Webhook

from airflow_provider_thordata import __version__
from airflow_provider_thordata.backoff import BackoffPolicy
from airflow_provider_thordata.exceptions import UnsafeWebhookTargetError, WebhookDeliveryError
from airflow_provider_thordata.get_provider_info import get_provider_info
from airflow_provider_thordata.hooks.webhook import ThordataWebhookHook
from airflow_provider_thordata.testing import Reply, StaticResolver, WebhookReceiver, new_webhook_secret
from airflow_provider_thordata.webhook_connection import DEFAULT_TIMEOUT, MAX_ATTEMPTS_RANGE, TIMEOUT_RANGE

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_thordata.testing import FakeClock

pytestmark = pytest.mark.timeout(30)

CONN_ID = "thordata_webhook_default"
BODY = b'{"eventType":"SCRAPER.TASK.SUCCEEDED","eventData":{"taskId":"t-1"}}'
DISPATCH_ID = "dsp_3f9a1c"


@pytest.fixture(params=["sync", "async"])
def send(request):
    """Deliver through ``deliver`` or ``adeliver``: every behaviour holds on both paths."""

    def deliver(hook: ThordataWebhookHook, body: bytes = BODY, **overrides: Any):
        arguments = {
            "event_type": "SCRAPER.TASK.SUCCEEDED",
            "integration": "orders-sink",
            "dispatch_id": DISPATCH_ID,
        }
        arguments.update(overrides)
        if request.param == "sync":
            return hook.deliver(body, **arguments)
        return asyncio.run(hook.adeliver(body, **arguments))

    deliver.path = request.param  # type: ignore[attr-defined]
    return deliver


def make_hook(clock: FakeClock, **kwargs: Any) -> ThordataWebhookHook:
    kwargs.setdefault("policy", BackoffPolicy(jitter=0.0))
    return ThordataWebhookHook(clock=clock, **kwargs)


def hooks_test_url(receiver: WebhookReceiver, scheme: str = "http", name: str = "hooks.test") -> str:
    return f"{scheme}://{name}:{receiver.port}/webhook"


# -- identity --------------------------------------------------------------------------------


def test_the_hook_matches_the_connection_type_the_provider_declares():
    (declared,) = [
        connection
        for connection in get_provider_info()["connection-types"]
        if connection["connection-type"] == ThordataWebhookHook.conn_type
    ]

    assert declared["hook-class-name"] == "airflow_provider_thordata.hooks.webhook.ThordataWebhookHook"
    assert declared["hook-name"] == ThordataWebhookHook.hook_name == "Thordata Webhook"
    assert ThordataWebhookHook.conn_name_attr == "webhook_conn_id"
    assert ThordataWebhookHook.default_conn_name == "thordata_webhook_default"
    assert ThordataWebhookHook().webhook_conn_id == "thordata_webhook_default"


def test_the_hook_validates_extras_with_the_bounds_and_defaults_of_the_form():
    (declared,) = [
        connection
        for connection in get_provider_info()["connection-types"]
        if connection["connection-type"] == "thordata_webhook"
    ]
    timeout = declared["conn-fields"]["timeout"]["schema"]
    attempts = declared["conn-fields"]["max_attempts"]["schema"]

    assert (timeout["minimum"], timeout["maximum"]) == TIMEOUT_RANGE
    assert timeout["default"] == DEFAULT_TIMEOUT
    assert (attempts["minimum"], attempts["maximum"]) == MAX_ATTEMPTS_RANGE
    assert attempts["default"] == BackoffPolicy().max_attempts


# -- what is sent ----------------------------------------------------------------------------


def test_a_delivery_is_signed_so_that_the_reference_library_verifies_the_exact_bytes(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection()

    result = send(make_hook(thordata_clock))

    (delivery,) = thordata_receiver.deliveries
    assert result["outcome"] == "delivered"
    assert delivery.body == BODY
    assert delivery.signature_valid is True
    assert Webhook(thordata_receiver.secret).verify(delivery.body, dict(delivery.headers)) == json.loads(BODY)


def test_the_reserved_headers_are_sent_and_win_over_template_headers(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection()
    template_headers = {
        "webhook": "forged",
        "CONTENT-TYPE": "text/plain",
        "Webhook-Signature": "v1,forged",
        "Host": "evil.example",
        "X-Team": "scraping",
    }

    send(make_hook(thordata_clock), headers=template_headers)

    headers = thordata_receiver.deliveries[0].headers
    assert headers["host"] == f"127.0.0.1:{thordata_receiver.port}"
    assert headers["content-type"] == "application/json"
    assert headers["webhook"] == "orders-sink"
    assert headers["webhook-dispatch-id"] == DISPATCH_ID
    assert headers["webhook-id"] == DISPATCH_ID
    assert headers["request-origin"] == f"airflow-provider-thordata/{__version__}"
    assert headers["user-agent"].startswith(f"airflow-provider-thordata/{__version__} ")
    assert headers["x-team"] == "scraping"
    assert "forged" not in str(headers.raw)
    assert thordata_receiver.deliveries[0].signature_valid is True


def test_without_a_secret_the_delivery_is_sent_unsigned(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection(password=None)

    send(make_hook(thordata_clock))

    headers = thordata_receiver.deliveries[0].headers
    assert "webhook-signature" not in headers
    assert "webhook-id" not in headers
    assert headers["webhook-dispatch-id"] == DISPATCH_ID


def test_every_attempt_sends_the_same_body_and_id_with_a_fresh_timestamp_and_signature(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection()
    thordata_receiver.reply(503, 500)

    result = send(make_hook(thordata_clock))

    deliveries = thordata_receiver.deliveries
    assert result["attempts"] == 3
    assert {delivery.body for delivery in deliveries} == {BODY}
    assert {delivery.headers["webhook-id"] for delivery in deliveries} == {DISPATCH_ID}
    assert {delivery.dispatch_id for delivery in deliveries} == {DISPATCH_ID}
    timestamps = [int(delivery.headers["webhook-timestamp"]) for delivery in deliveries]
    assert timestamps == sorted(timestamps)
    assert timestamps[2] - timestamps[0] >= 3
    assert len({delivery.headers["webhook-signature"] for delivery in deliveries}) == 3
    assert all(delivery.signature_valid for delivery in deliveries)


# -- what an answer means ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_a_2xx_answer_is_delivered_on_the_first_attempt(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send, status
):
    thordata_webhook_connection()
    thordata_receiver.reply(status)

    result = send(make_hook(thordata_clock))

    assert result == {
        "dispatch_id": DISPATCH_ID,
        "event_type": "SCRAPER.TASK.SUCCEEDED",
        "integration": "orders-sink",
        "status_code": status,
        "attempts": 1,
        "elapsed_ms": result["elapsed_ms"],
        "outcome": "delivered",
    }
    assert thordata_clock.sleeps == []


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_a_failure_and_is_never_followed(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send, status
):
    thordata_webhook_connection()
    thordata_receiver.reply(Reply.redirect(thordata_receiver.url_for("/moved"), status=status))

    with pytest.raises(WebhookDeliveryError, match=rf"HTTP {status} \(redirected\).*never followed") as info:
        send(make_hook(thordata_clock))

    assert info.value.record["outcome"] == "redirected"
    assert info.value.record["attempts"] == 1
    assert [delivery.path for delivery in thordata_receiver.deliveries] == ["/webhook"]


@pytest.mark.parametrize(
    ("status", "outcome"), [(400, "rejected"), (401, "rejected"), (404, "rejected"), (410, "gone")]
)
def test_a_permanent_client_error_stops_at_once(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send, status, outcome
):
    thordata_webhook_connection()
    thordata_receiver.reply(status)

    with pytest.raises(
        WebhookDeliveryError, match=rf"failed: HTTP {status} \({outcome}\) in \d+ ms on attempt 1/5"
    ):
        send(make_hook(thordata_clock))

    assert len(thordata_receiver.deliveries) == 1
    assert thordata_clock.sleeps == []


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_a_transient_status_is_retried_with_exponential_back_off_until_the_attempts_run_out(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send, status
):
    thordata_webhook_connection(max_attempts=3)
    thordata_receiver.respond_with(lambda _delivery: Reply(status))

    with pytest.raises(WebhookDeliveryError, match=r"attempt 3/3.*kept answering with errors") as info:
        send(make_hook(thordata_clock))

    assert info.value.record["outcome"] == "unavailable"
    assert info.value.record["status_code"] == status
    assert info.value.record["attempts"] == 3
    assert thordata_clock.sleeps == [1.0, 2.0]
    assert len(thordata_receiver.deliveries) == 3


def test_a_transient_failure_followed_by_success_is_delivered(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection()
    thordata_receiver.reply(503, 502, 200)

    result = send(make_hook(thordata_clock))

    assert (result["outcome"], result["status_code"], result["attempts"]) == ("delivered", 200, 3)
    assert thordata_clock.sleeps == [1.0, 2.0]
    assert result["elapsed_ms"] >= 3000


def test_retry_after_in_seconds_sets_the_wait(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection()
    thordata_receiver.reply(
        Reply(429, headers={"Retry-After": "7"}), Reply(503, headers={"Retry-After": "1"})
    )

    send(make_hook(thordata_clock))

    assert thordata_clock.sleeps == [7.0, 1.0]


def test_retry_after_as_an_http_date_sets_the_wait(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection()
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    thordata_receiver.reply(Reply(503, headers={"Retry-After": when}))

    send(make_hook(thordata_clock))

    (wait,) = thordata_clock.sleeps
    assert 28.0 <= wait <= 30.0


def test_retry_after_is_honoured_only_up_to_the_policy_cap(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection()
    thordata_receiver.reply(Reply(429, headers={"Retry-After": "86400"}))

    send(make_hook(thordata_clock, policy=BackoffPolicy(jitter=0.0, retry_after_cap=20.0)))

    assert thordata_clock.sleeps == [20.0]


def test_a_slow_answer_times_out_and_is_retried(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection(timeout=0.2, max_attempts=2)
    thordata_receiver.reply(Reply(200, delay=2.0), Reply(200, delay=2.0))

    with pytest.raises(WebhookDeliveryError, match=r"timeout \(ReadTimeout\).*attempt 2/2") as info:
        send(make_hook(thordata_clock))

    assert info.value.record["outcome"] == "timeout"
    assert info.value.record["status_code"] is None
    assert thordata_clock.sleeps == [1.0]
    assert len(thordata_receiver.deliveries) == 2


def test_the_response_body_is_never_waited_for(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection(timeout=0.2)
    thordata_receiver.reply(Reply(200, headers={"Content-Length": "50000000"}, body=b"{"))

    result = send(make_hook(thordata_clock))

    assert result["outcome"] == "delivered"


def test_a_dropped_connection_is_retried(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection()
    thordata_receiver.reply(Reply.dropped())

    result = send(make_hook(thordata_clock))

    assert (result["outcome"], result["attempts"]) == ("delivered", 2)
    assert thordata_clock.sleeps == [1.0]


def test_a_connection_dropped_every_time_ends_as_a_connection_error(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection(max_attempts=2)
    thordata_receiver.respond_with(lambda _delivery: Reply.dropped())

    with pytest.raises(WebhookDeliveryError, match=r"connection_error \(RemoteProtocolError\)") as info:
        send(make_hook(thordata_clock))

    assert info.value.record["outcome"] == "connection_error"
    assert info.value.record["attempts"] == 2


def test_proxy_settings_in_the_environment_are_ignored(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send, monkeypatch
):
    thordata_webhook_connection()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    result = send(make_hook(thordata_clock))

    assert result["outcome"] == "delivered"
    assert len(thordata_receiver.deliveries) == 1


def test_a_name_that_does_not_resolve_is_retried_with_one_lookup_per_attempt(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection(host=hooks_test_url(thordata_receiver), max_attempts=3)
    resolver = StaticResolver({})

    with pytest.raises(WebhookDeliveryError, match=r"connection_error \(gaierror\)"):
        send(make_hook(thordata_clock, resolver=resolver))

    assert resolver.calls == [("hooks.test", thordata_receiver.port)] * 3
    assert thordata_receiver.deliveries == []


# -- the request forgery guard -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "address_class"),
    [
        ("127.0.0.1", "loopback"),
        ("10.20.30.40", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("::1", "loopback"),
        ("fc00::1", "unique-local"),
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_a_target_resolving_to_an_internal_address_is_refused_before_anything_is_sent(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send, address, address_class
):
    thordata_webhook_connection(host=hooks_test_url(thordata_receiver), allowed_targets="")

    with pytest.raises(UnsafeWebhookTargetError, match="'allowed_targets'") as info:
        send(make_hook(thordata_clock, resolver=StaticResolver({"hooks.test": address})))

    assert info.value.address_class == address_class
    assert info.value.record == {
        "dispatch_id": DISPATCH_ID,
        "event_type": "SCRAPER.TASK.SUCCEEDED",
        "integration": "orders-sink",
        "status_code": None,
        "attempts": 0,
        "elapsed_ms": info.value.record["elapsed_ms"],
        "outcome": "refused",
    }
    assert thordata_receiver.deliveries == []


@pytest.mark.parametrize("allowed", ["hooks.test", "127.0.0.0/8", "10.0.0.0/8, 127.0.0.1"])
def test_an_allowed_target_is_reached_at_the_checked_address_with_its_name_in_the_host_header(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send, allowed
):
    thordata_webhook_connection(host=hooks_test_url(thordata_receiver), allowed_targets=allowed)
    resolver = StaticResolver({"hooks.test": "127.0.0.1"})

    result = send(make_hook(thordata_clock, resolver=resolver))

    assert result["outcome"] == "delivered"
    assert thordata_receiver.deliveries[0].headers["host"] == f"hooks.test:{thordata_receiver.port}"
    assert resolver.calls == [("hooks.test", thordata_receiver.port)]


def test_a_target_that_rebinds_to_an_internal_address_between_attempts_is_refused(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection(host=hooks_test_url(thordata_receiver), allowed_targets="127.0.0.1/32")
    resolver = StaticResolver({"hooks.test": "127.0.0.1"})

    def rebind(_delivery: object) -> Reply:
        resolver.hosts["hooks.test"] = "10.0.0.5"
        return Reply(503)

    thordata_receiver.respond_with(rebind)

    with pytest.raises(UnsafeWebhookTargetError, match=r"resolves to 10\.0\.0\.5, a private address") as info:
        send(make_hook(thordata_clock, resolver=resolver))

    assert info.value.record["attempts"] == 1
    assert info.value.record["outcome"] == "refused"
    assert len(thordata_receiver.deliveries) == 1


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> tuple[Path, ssl.SSLContext]:
    """Issue a test CA and a server certificate for hooks.test; return the CA file and a server context."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)

    def builder(subject: str, issuer: str, public_key: Any) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        builder("provider test CA", "provider test CA", ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        builder("hooks.test", "provider test CA", server_key.public_key())
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = folder / "server.pem"
    chain.write_bytes(
        server.public_bytes(serialization.Encoding.PEM)
        + server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return ca_file, context


@pytest.fixture
def tls_receiver(certificates, monkeypatch):
    ca_file, context = certificates
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    with WebhookReceiver(secret=new_webhook_secret(), ssl_context=context) as running:
        yield running


def test_https_to_the_checked_address_verifies_the_certificate_by_host_name(
    tls_receiver, monkeypatch, thordata_clock, send
):
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps(
            {
                "conn_type": "thordata_webhook",
                "host": hooks_test_url(tls_receiver, scheme="https"),
                "password": tls_receiver.secret,
                "extra": {"allowed_targets": "hooks.test"},
            }
        ),
    )

    result = send(make_hook(thordata_clock, resolver=StaticResolver({"hooks.test": "127.0.0.1"})))

    assert result["outcome"] == "delivered"
    assert tls_receiver.deliveries[0].headers["host"] == f"hooks.test:{tls_receiver.port}"
    assert tls_receiver.deliveries[0].signature_valid is True


def test_https_to_a_name_the_certificate_does_not_cover_fails_to_connect(
    tls_receiver, monkeypatch, thordata_clock, send
):
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps(
            {
                "conn_type": "thordata_webhook",
                "host": hooks_test_url(tls_receiver, scheme="https", name="other.test"),
                "extra": {"allowed_targets": "other.test", "max_attempts": 1},
            }
        ),
    )

    with pytest.raises(WebhookDeliveryError, match=r"connection_error \(ConnectError\)"):
        send(make_hook(thordata_clock, resolver=StaticResolver({"other.test": "127.0.0.1"})))

    assert tls_receiver.deliveries == []


# -- secrets ---------------------------------------------------------------------------------------


def test_no_secret_reaches_logs_errors_or_the_record(
    thordata_receiver, monkeypatch, thordata_clock, send, caplog, capsys
):
    secret = thordata_receiver.secret
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps(
            {
                "conn_type": "thordata_webhook",
                "host": f"http://alice:pa55word-in-url@hooks.test:{thordata_receiver.port}/webhook?token=query-secret-42",
                "password": secret,
                "extra": {"allowed_targets": "hooks.test"},
            }
        ),
    )
    thordata_receiver.reply(503, 400)
    caplog.set_level("DEBUG")

    with pytest.raises(WebhookDeliveryError) as info:
        send(
            make_hook(thordata_clock, resolver=StaticResolver({"hooks.test": "127.0.0.1"})),
            headers={"X-Api-Key": "header-secret-7"},
        )

    logs = caplog.text + "".join(capsys.readouterr())
    assert DISPATCH_ID in logs
    assert "attempt 1/5" in logs
    exposed = [logs, str(info.value), json.dumps(info.value.record)]
    for text in exposed:
        for leaked in (
            secret,
            secret.removeprefix("whsec_"),
            "pa55word-in-url",
            "query-secret-42",
            "header-secret-7",
        ):
            assert leaked not in text
    assert thordata_receiver.deliveries[0].path == "/webhook?token=query-secret-42"
    assert thordata_receiver.deliveries[0].headers["x-api-key"] == "header-secret-7"
    assert thordata_receiver.deliveries[0].headers["authorization"] == "Basic " + base64.b64encode(
        b"alice:pa55word-in-url"
    ).decode("ascii")


@pytest.mark.parametrize("path", ["sync", "async"])
def test_the_secret_and_the_url_credentials_are_added_to_airflows_log_masker(
    monkeypatch, thordata_clock, path
):
    from airflow.sdk.log import redact

    # Values no earlier test registered with the process-wide masker.
    unique = uuid.uuid4().hex[:8]
    secret = new_webhook_secret()
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps(
            {
                "conn_type": "thordata_webhook",
                "host": f"https://carol:pass-{unique}@hooks.example.com/in?sig=query-{unique}",
                "password": secret,
            }
        ),
    )
    line = f"{secret} pass-{unique} sig=query-{unique}"
    before = redact(line)
    hook = make_hook(thordata_clock)

    if path == "sync":
        hook.get_conn()
    else:
        asyncio.run(hook.aget_conn())

    assert before == line
    assert redact(line) == "*** *** ***"


def test_the_async_connection_read_masks_with_the_async_calls_only(monkeypatch, thordata_clock):
    import airflow.sdk.log

    # The sync masking call waits on the supervisor, which deadlocks inside the event loop.
    sync_calls = []
    monkeypatch.setattr(airflow.sdk.log, "mask_secret", lambda *args, **kwargs: sync_calls.append(args))
    monkeypatch.setattr(
        "airflow_provider_thordata.hooks.webhook.mask_secret", lambda *args, **kwargs: sync_calls.append(args)
    )
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps(
            {
                "conn_type": "thordata_webhook",
                "host": "https://hooks.example.com/in",
                "password": new_webhook_secret(),
                "extra": {"timeout": 5},
            }
        ),
    )

    target = asyncio.run(make_hook(thordata_clock).aget_conn())

    assert target.timeout == 5
    assert sync_calls == []


def test_a_refusal_does_not_expose_the_url_query_or_user_info(
    thordata_receiver, monkeypatch, thordata_clock, send, caplog, capsys
):
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps({"conn_type": "thordata_webhook", "host": "https://bob:hunter2@hooks.test/in?key=k-99"}),
    )

    with pytest.raises(UnsafeWebhookTargetError) as info:
        send(make_hook(thordata_clock, resolver=StaticResolver({"hooks.test": "192.168.7.7"})))

    logs = caplog.text + "".join(capsys.readouterr())
    assert "refused" in logs
    for text in (logs, str(info.value), json.dumps(info.value.record)):
        assert "hunter2" not in text
        assert "k-99" not in text


# -- the connection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("s3cret-not-whsec", "does not start with 'whsec_'"),
        ("whsec_!!not*base64!!", "the part after the prefix is not base64"),
        ("whsec_" + base64.b64encode(b"short-key").decode(), "it decodes to 9 bytes"),
        ("whsec_" + base64.b64encode(bytes(65)).decode(), "it decodes to 65 bytes"),
    ],
)
def test_a_malformed_signing_secret_names_the_field_without_echoing_it(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send, password, problem
):
    thordata_webhook_connection(password=password)

    with pytest.raises(ValueError, match=rf"Signing secret \(password field\).*{problem}") as info:
        send(make_hook(thordata_clock))

    assert password not in str(info.value)
    assert thordata_receiver.deliveries == []


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            {"timeout": "soon"},
            r"Timeout \(seconds\) field \(extra 'timeout'\) must be a number of seconds from 0\.1 to 300",
        ),
        ({"timeout": 0}, r"Timeout \(seconds\) field .* got 0"),
        ({"timeout": 301}, r"Timeout \(seconds\) field .* got 301"),
        ({"timeout": True}, r"Timeout \(seconds\) field .* got True"),
        (
            {"max_attempts": 0},
            r"Maximum attempts field \(extra 'max_attempts'\) must be a whole number from 1 to 20",
        ),
        ({"max_attempts": 21}, r"Maximum attempts field .* got 21"),
        ({"max_attempts": 2.5}, r"Maximum attempts field .* got 2\.5"),
        ({"max_attempts": "many"}, r"Maximum attempts field .* got 'many'"),
        ({"allowed_targets": "https://hooks.internal"}, r"fix the Allowed private targets field"),
    ],
)
def test_a_bad_extra_names_the_field_to_fix_before_anything_is_sent(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send, extra, problem
):
    thordata_webhook_connection(**extra)

    with pytest.raises(
        ValueError, match=rf"Connection 'thordata_webhook_default' \(type thordata_webhook\): .*{problem}"
    ):
        send(make_hook(thordata_clock))

    assert thordata_receiver.deliveries == []


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("", r"set the Target URL \(host field\)"),
        ("https://exa mple.com/x", r"fix the Target URL \(host field\): .*not a valid host name"),
    ],
)
def test_a_bad_target_url_names_the_field_to_fix(
    thordata_webhook_connection, thordata_clock, send, host, problem
):
    thordata_webhook_connection(host=host)

    with pytest.raises(ValueError, match=problem):
        send(make_hook(thordata_clock))


def test_a_non_http_target_is_refused_with_a_record(thordata_webhook_connection, thordata_clock, send):
    thordata_webhook_connection(host="ftp://files.example.com/drop")

    with pytest.raises(
        UnsafeWebhookTargetError, match="scheme 'ftp'; the Target URL must be an http"
    ) as info:
        send(make_hook(thordata_clock))

    assert info.value.record["outcome"] == "refused"
    assert info.value.record["attempts"] == 0


def test_a_target_without_a_scheme_is_reached_over_https(
    thordata_webhook_connection, thordata_clock, send, thordata_receiver
):
    thordata_webhook_connection(host="hooks.test/webhook", allowed_targets="")

    with pytest.raises(UnsafeWebhookTargetError) as info:
        send(make_hook(thordata_clock, resolver=StaticResolver({"hooks.test": "127.0.0.1"})))

    assert info.value.host == "hooks.test"
    assert "https" not in str(info.value)


def test_string_extras_from_a_uri_connection_are_accepted(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection(timeout="0.5", max_attempts="2")
    thordata_receiver.respond_with(lambda _delivery: Reply(500))

    with pytest.raises(WebhookDeliveryError, match="attempt 2/2"):
        send(make_hook(thordata_clock))


def test_the_connection_sets_the_number_of_attempts_over_the_policy(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection(max_attempts=2)
    thordata_receiver.respond_with(lambda _delivery: Reply(503))

    with pytest.raises(WebhookDeliveryError) as info:
        send(make_hook(thordata_clock, policy=BackoffPolicy(max_attempts=4, jitter=0.0)))

    assert info.value.record["attempts"] == 2


def test_without_max_attempts_the_policy_decides(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send
):
    thordata_webhook_connection()
    thordata_receiver.respond_with(lambda _delivery: Reply(503))

    with pytest.raises(WebhookDeliveryError) as info:
        send(make_hook(thordata_clock, policy=BackoffPolicy(max_attempts=2, jitter=0.0)))

    assert info.value.record["attempts"] == 2


def test_the_connection_is_fetched_once_per_hook(
    thordata_receiver, thordata_webhook_connection, thordata_clock, send, monkeypatch
):
    thordata_webhook_connection()
    hook = make_hook(thordata_clock)
    send(hook)

    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps({"conn_type": "thordata_webhook"}))
    send(hook)

    assert len(thordata_receiver.deliveries) == 2


def test_unknown_extras_are_named_in_a_warning(
    thordata_webhook_connection, thordata_clock, send, caplog, capsys
):
    thordata_webhook_connection(verify=False, headers={"X": "1"})

    send(make_hook(thordata_clock))

    logs = caplog.text + "".join(capsys.readouterr())
    assert "ignoring unknown extras 'headers', 'verify'" in logs


@pytest.mark.parametrize(
    "arguments",
    [
        {"dispatch_id": "has space"},
        {"event_type": ""},
        {"integration": "a\nb"},
        {"headers": {"Bad Name": "x"}},
    ],
)
def test_bad_delivery_arguments_fail_before_the_connection_is_read(
    thordata_clock, send, arguments, monkeypatch
):
    monkeypatch.delenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", raising=False)

    with pytest.raises(ValueError, match=r"dispatch id|event type|integration name|header name"):
        send(make_hook(thordata_clock), **arguments)


# -- test_connection ----------------------------------------------------------------------------------


def test_test_connection_delivers_a_signed_test_event_and_reports_the_status(
    thordata_receiver, thordata_webhook_connection, thordata_clock
):
    thordata_webhook_connection()
    thordata_receiver.reply(202)

    ok, message = make_hook(thordata_clock).test_connection()

    (delivery,) = thordata_receiver.deliveries
    assert ok is True
    assert message.startswith("The receiver at 127.0.0.1 accepted a TEST event: HTTP 202 in ")
    assert delivery.json()["eventType"] == "TEST"
    assert set(delivery.json()) == {"userId", "createdAt", "eventType", "eventData", "resource"}
    assert delivery.integration == "airflow-connection-test"
    assert delivery.dispatch_id.startswith("test_")
    assert delivery.signature_valid is True


def test_test_connection_makes_a_single_attempt_and_reports_the_failure(
    thordata_receiver, thordata_webhook_connection, thordata_clock
):
    thordata_webhook_connection()
    thordata_receiver.reply(503)

    ok, message = make_hook(thordata_clock).test_connection()

    assert ok is False
    assert "HTTP 503 (unavailable)" in message
    assert "attempt 1/1" in message
    assert len(thordata_receiver.deliveries) == 1
    assert thordata_clock.sleeps == []


def test_test_connection_reports_a_configuration_problem(thordata_webhook_connection, thordata_clock):
    thordata_webhook_connection(password="not-a-secret")

    ok, message = make_hook(thordata_clock).test_connection()

    assert ok is False
    assert "Signing secret (password field)" in message
    assert "not-a-secret" not in message
