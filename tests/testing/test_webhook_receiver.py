"""The local webhook receiver: what it records, how it verifies, how it answers, how it stops.

Most tests take the receiver from the testing kit's ``thordata_receiver`` fixture, as users do.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from datetime import datetime, timezone

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from airflow_provider_thordata.testing import Reply, WebhookReceiver, new_webhook_secret

pytestmark = pytest.mark.timeout(20)


@pytest.fixture(scope="module")
def http():
    with httpx.Client(timeout=5, trust_env=False) as client:
        yield client


def signed_headers(secret: str, msg_id: str, body: bytes) -> dict[str, str]:
    now = datetime.now(tz=timezone.utc)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body.decode()),
        "Content-Type": "application/json",
    }


def test_a_request_is_recorded_with_method_path_headers_body_and_time(thordata_receiver, http):
    body = b'{"eventType":"TEST","n":1}'

    response = http.post(
        thordata_receiver.url_for("/orders?x=1"),
        content=body,
        headers={"Webhook": "orders", "Webhook-Dispatch-Id": "d-1"},
    )

    (delivery,) = thordata_receiver.deliveries
    assert response.status_code == 200
    assert (delivery.method, delivery.path, delivery.body) == ("POST", "/orders?x=1", body)
    assert delivery.headers["webhook"] == "orders"
    assert (delivery.dispatch_id, delivery.integration) == ("d-1", "orders")
    assert delivery.json() == {"eventType": "TEST", "n": 1}
    assert abs(delivery.received_at - datetime.now(tz=timezone.utc).timestamp()) < 60


def test_a_signature_made_with_the_reference_library_verifies(thordata_receiver, http):
    body = b'{"a":1}'

    http.post(
        thordata_receiver.url, content=body, headers=signed_headers(thordata_receiver.secret, "msg_1", body)
    )

    (delivery,) = thordata_receiver.deliveries
    assert delivery.signature_valid is True
    assert delivery.signature_error is None


def test_a_signature_made_with_another_secret_is_flagged_with_the_reason(thordata_receiver, http):
    body = b'{"a":1}'

    http.post(
        thordata_receiver.url, content=body, headers=signed_headers(new_webhook_secret(), "msg_1", body)
    )

    (delivery,) = thordata_receiver.deliveries
    assert delivery.signature_valid is False
    assert delivery.signature_error == "WebhookVerificationError: No matching signature found"


def test_an_unsigned_request_fails_verification_when_the_receiver_has_a_secret(thordata_receiver, http):
    http.post(thordata_receiver.url, content=b"{}")

    assert thordata_receiver.deliveries[0].signature_valid is False
    assert "Missing required headers" in thordata_receiver.deliveries[0].signature_error


def test_without_a_secret_nothing_is_verified(http):
    with WebhookReceiver() as plain:
        http.post(plain.url, content=b"{}")

        assert plain.deliveries[0].signature_valid is None


def test_a_new_secret_is_a_standard_webhooks_secret_of_32_random_bytes():
    secret = new_webhook_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_webhook_secret() != secret


def test_queued_replies_answer_in_order_then_the_default_applies(thordata_receiver, http):
    thordata_receiver.reply(Reply(503, headers={"Retry-After": "3"}, body=b"busy"), 429, Reply(204))

    answers = [http.post(thordata_receiver.url, content=b"{}") for _ in range(4)]

    assert [answer.status_code for answer in answers] == [503, 429, 204, 200]
    assert answers[0].headers["retry-after"] == "3"
    assert answers[0].content == b"busy"
    assert [delivery.reply.status for delivery in thordata_receiver.deliveries] == [503, 429, 204, 200]


def test_a_redirect_reply_carries_its_location(thordata_receiver, http):
    thordata_receiver.reply(Reply.redirect("http://127.0.0.1:1/elsewhere", status=301))

    answer = http.post(thordata_receiver.url, content=b"{}")

    assert answer.status_code == 301
    assert answer.headers["location"] == "http://127.0.0.1:1/elsewhere"


def test_a_responder_decides_once_the_queue_is_empty(thordata_receiver, http):
    thordata_receiver.reply(202)
    thordata_receiver.respond_with(lambda delivery: Reply(404 if delivery.path == "/missing" else 201))

    statuses = [
        http.post(thordata_receiver.url_for(path), content=b"{}").status_code
        for path in ("/a", "/missing", "/b")
    ]

    assert statuses == [202, 404, 201]


def test_a_dropped_reply_closes_the_connection_without_an_answer_but_records_the_request(
    thordata_receiver, http
):
    thordata_receiver.reply(Reply.dropped())

    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        http.post(thordata_receiver.url, content=b"{}")

    assert len(thordata_receiver.deliveries) == 1
    assert thordata_receiver.deliveries[0].reply.drop


def test_a_delayed_reply_outlasts_a_short_client_timeout(thordata_receiver, http):
    thordata_receiver.reply(Reply(200, delay=2.0))

    with pytest.raises(httpx.ReadTimeout):
        http.post(thordata_receiver.url, content=b"{}", timeout=0.1)

    assert len(thordata_receiver.deliveries) == 1


def test_a_content_length_reply_header_replaces_the_real_one_to_stall_the_body(thordata_receiver, http):
    thordata_receiver.reply(Reply(200, headers={"Content-Length": "1000"}, body=b"x"))

    with http.stream("POST", thordata_receiver.url, content=b"{}", timeout=0.2) as answer:
        assert answer.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            answer.read()


def test_wait_for_returns_as_soon_as_enough_deliveries_arrived(thordata_receiver, http):
    sender = threading.Thread(
        target=lambda: [http.post(thordata_receiver.url, content=b"{}") for _ in range(2)]
    )

    sender.start()
    arrived = thordata_receiver.wait_for(2, timeout=10)
    sender.join()

    assert len(arrived) == 2


def test_wait_for_says_how_many_arrived_when_it_times_out(thordata_receiver, http):
    http.post(thordata_receiver.url, content=b"{}")

    with pytest.raises(TimeoutError, match=r"expected 2 webhook deliveries within 0\.05 s, received 1"):
        thordata_receiver.wait_for(2, timeout=0.05)


def test_clear_forgets_deliveries_and_queued_replies(thordata_receiver, http):
    thordata_receiver.reply(500)
    http.post(thordata_receiver.url, content=b"{}")
    thordata_receiver.reply(500)

    thordata_receiver.clear()

    assert thordata_receiver.deliveries == []
    assert http.post(thordata_receiver.url, content=b"{}").status_code == 200


def test_connection_json_describes_a_webhook_connection_to_this_receiver(thordata_receiver):
    value = json.loads(thordata_receiver.connection_json("/orders", timeout=5, max_attempts=2))

    assert value == {
        "conn_type": "thordata_webhook",
        "host": f"http://127.0.0.1:{thordata_receiver.port}/orders",
        "password": thordata_receiver.secret,
        "extra": {"allowed_targets": "127.0.0.1", "timeout": 5, "max_attempts": 2},
    }


def test_the_url_uses_loopback_a_free_port_and_the_configured_path():
    with WebhookReceiver(path="hooks/in") as one, WebhookReceiver() as two:
        assert one.url == f"http://127.0.0.1:{one.port}/hooks/in"
        assert two.url == f"http://127.0.0.1:{two.port}/webhook"
        assert one.port != two.port


def test_stop_frees_the_port_and_may_be_called_twice():
    receiver = WebhookReceiver().start()
    port = receiver.port

    receiver.stop()
    receiver.stop()

    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


@pytest.mark.timeout(5)
def test_stop_does_not_wait_for_a_reply_still_being_delayed():
    receiver = WebhookReceiver().start()
    receiver.reply(Reply(200, delay=60))
    errors: list[httpx.HTTPError] = []

    def post() -> None:
        try:
            httpx.post(receiver.url, content=b"{}", timeout=30, trust_env=False)
        except httpx.HTTPError as exc:
            errors.append(exc)

    client = threading.Thread(target=post)
    client.start()
    receiver.wait_for(1)

    receiver.stop()
    client.join(timeout=4)

    assert not client.is_alive()
    assert [type(error) for error in errors] == [httpx.RemoteProtocolError]


def test_starting_twice_is_refused():
    with WebhookReceiver() as receiver, pytest.raises(RuntimeError, match="already running"):
        receiver.start()


def test_the_port_is_unknown_before_start():
    with pytest.raises(RuntimeError, match="start the webhook receiver first"):
        _ = WebhookReceiver().port
