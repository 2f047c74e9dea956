"""The pure delivery core: the wire format of one attempt, what an answer means, the record."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest
from standardwebhooks.webhooks import Webhook

from airflow_provider_thordata import __version__
from airflow_provider_thordata.delivery import (
    REQUEST_ORIGIN,
    USER_AGENT,
    AttemptResult,
    Delivery,
    DeliveryRecord,
    Outcome,
    classify_status,
    record,
    request_headers,
    sign,
)

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def make_delivery(**overrides: object) -> Delivery:
    values: dict[str, object] = {
        "body": b'{"eventType":"SCRAPER.TASK.SUCCEEDED"}',
        "event_type": "SCRAPER.TASK.SUCCEEDED",
        "integration": "orders-sink",
        "dispatch_id": "dsp_0123abcd",
    }
    values.update(overrides)
    return Delivery(**values)  # type: ignore[arg-type]


def test_signing_reproduces_the_standard_webhooks_test_vector():
    signature = sign(Webhook(SPEC_SECRET), SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)

    assert signature == SPEC_SIGNATURE


def test_signed_headers_verify_with_the_reference_library():
    delivery = make_delivery(body='{"name":"Zoë"}'.encode())
    now = int(datetime.now(tz=timezone.utc).timestamp())

    headers = dict(
        request_headers(delivery, host="hooks.example.com", timestamp=now, signer=Webhook(SPEC_SECRET))
    )

    assert Webhook(SPEC_SECRET).verify(delivery.body, headers) == {"name": "Zoë"}


def test_reserved_headers_carry_the_delivery_and_the_provider_version():
    delivery = make_delivery()

    headers = dict(
        request_headers(delivery, host="hooks.example.com:8443", timestamp=1700000000, signer=None)
    )

    assert headers == {
        "Host": "hooks.example.com:8443",
        "Content-Type": "application/json",
        "User-Agent": f"airflow-provider-thordata/{__version__} (+https://github.com/thordata/airflow-provider-thordata)",
        "Request-Origin": f"airflow-provider-thordata/{__version__}",
        "Webhook": "orders-sink",
        "Webhook-Dispatch-Id": "dsp_0123abcd",
    }
    assert USER_AGENT.startswith(REQUEST_ORIGIN)


def test_a_secret_adds_the_standard_webhooks_headers_with_the_dispatch_id_as_message_id():
    delivery = make_delivery()

    headers = dict(request_headers(delivery, host="h", timestamp=1700000000, signer=Webhook(SPEC_SECRET)))

    assert headers["webhook-id"] == "dsp_0123abcd"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"] == sign(
        Webhook(SPEC_SECRET), "dsp_0123abcd", 1700000000, delivery.body
    )


def test_another_timestamp_gives_another_signature_over_the_same_body_and_id():
    delivery = make_delivery()
    signer = Webhook(SPEC_SECRET)

    first = dict(request_headers(delivery, host="h", timestamp=1700000000, signer=signer))
    second = dict(request_headers(delivery, host="h", timestamp=1700000007, signer=signer))

    assert first["webhook-id"] == second["webhook-id"]
    assert first["webhook-signature"] != second["webhook-signature"]


@pytest.mark.parametrize(
    "template_name",
    [
        "host",
        "CONTENT-TYPE",
        "User-Agent",
        "request-origin",
        "WEBHOOK",
        "Webhook-Dispatch-ID",
        "Webhook-Id",
        "webhook-timestamp",
        "Webhook-Signature",
        "Content-Length",
        "transfer-encoding",
        "Connection",
    ],
)
def test_a_template_cannot_set_a_reserved_or_framing_header_in_any_case(template_name):
    delivery = make_delivery(headers={template_name: "forged", "X-Team": "scraping"})

    headers = request_headers(delivery, host="h", timestamp=1700000000, signer=Webhook(SPEC_SECRET))

    assert "forged" not in [value for _name, value in headers]
    assert ("X-Team", "scraping") in headers


def test_without_a_secret_no_signature_header_is_sent_even_if_a_template_names_one():
    delivery = make_delivery(headers={"webhook-signature": "v1,forged", "webhook-id": "other"})

    names = {name.lower() for name, _value in request_headers(delivery, host="h", timestamp=1, signer=None)}

    assert not names & {"webhook-signature", "webhook-id", "webhook-timestamp"}


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.DELIVERED),
        (202, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (301, Outcome.REDIRECTED),
        (302, Outcome.REDIRECTED),
        (307, Outcome.REDIRECTED),
        (308, Outcome.REDIRECTED),
        (400, Outcome.REJECTED),
        (401, Outcome.REJECTED),
        (404, Outcome.REJECTED),
        (413, Outcome.REJECTED),
        (410, Outcome.GONE),
        (408, Outcome.UNAVAILABLE),
        (425, Outcome.UNAVAILABLE),
        (429, Outcome.UNAVAILABLE),
        (500, Outcome.UNAVAILABLE),
        (502, Outcome.UNAVAILABLE),
        (503, Outcome.UNAVAILABLE),
        (504, Outcome.UNAVAILABLE),
        (599, Outcome.UNAVAILABLE),
        (600, Outcome.REJECTED),
    ],
)
def test_each_status_class_means_what_standard_webhooks_says(status, outcome):
    assert classify_status(status) is outcome


def test_only_transient_outcomes_are_retried():
    retryable = {outcome for outcome in Outcome if outcome.retryable}

    assert retryable == {Outcome.UNAVAILABLE, Outcome.TIMEOUT, Outcome.CONNECTION_ERROR}


def test_the_record_is_plain_json_with_exactly_the_documented_fields():
    rec = record(make_delivery(), outcome=Outcome.GONE, status_code=410, attempts=1, elapsed_ms=12)

    assert json.loads(json.dumps(rec)) == {
        "dispatch_id": "dsp_0123abcd",
        "event_type": "SCRAPER.TASK.SUCCEEDED",
        "integration": "orders-sink",
        "status_code": 410,
        "attempts": 1,
        "elapsed_ms": 12,
        "outcome": "gone",
    }
    assert set(rec) == set(DeliveryRecord.__annotations__)


def test_an_attempt_without_an_answer_is_described_by_the_error_type_only():
    result = AttemptResult(Outcome.TIMEOUT, None, 200, error="ReadTimeout")

    assert result.describe() == "timeout (ReadTimeout) after 200 ms"
    assert AttemptResult(Outcome.UNAVAILABLE, 503, 7).describe() == "HTTP 503 (unavailable) in 7 ms"


def test_the_body_must_be_bytes():
    with pytest.raises(TypeError, match="body must be bytes, got str"):
        make_delivery(body='{"a": 1}')


def test_the_body_must_be_utf8_because_it_is_signed_as_text():
    with pytest.raises(ValueError, match="UTF-8 encoded JSON"):
        make_delivery(body=b"\xff\xfe{}")


@pytest.mark.parametrize("dispatch_id", ["", "has space", "line\nbreak", "x" * 257, "ümlaut"])
def test_the_dispatch_id_must_be_a_short_visible_ascii_key(dispatch_id):
    with pytest.raises(ValueError, match="dispatch id must be 1 to 256 visible ASCII"):
        make_delivery(dispatch_id=dispatch_id)


@pytest.mark.parametrize(
    ("field", "value"), [("event_type", ""), ("integration", "   "), ("integration", "a\r\nb")]
)
def test_event_type_and_integration_must_be_single_line_text(field, value):
    with pytest.raises(ValueError, match=field.replace("_", " ").replace("integration", "integration name")):
        make_delivery(**{field: value})


def test_a_bad_header_name_is_named_in_the_error():
    with pytest.raises(ValueError, match="header name 'X Bad' is not a valid"):
        make_delivery(headers={"X Bad": "v"})


def test_a_header_value_with_a_line_break_is_refused_without_echoing_the_value():
    with pytest.raises(ValueError, match="value of header 'Authorization'") as info:
        make_delivery(headers={"Authorization": "Bearer s3cr3t\r\nX-Injected: 1"})

    assert "s3cr3t" not in str(info.value)


def test_the_delivery_keeps_a_private_copy_of_the_headers():
    headers = {"X-Team": "scraping"}
    delivery = make_delivery(headers=headers)

    headers["X-Team"] = "changed"

    assert delivery.headers == {"X-Team": "scraping"}


def test_a_secret_given_as_raw_key_bytes_signs_like_the_whsec_string():
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))

    assert sign(Webhook(key), SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
