"""WebhookIntegration: validated when the DAG is parsed, round-tripped as plain values."""

from __future__ import annotations

import json

import pytest

from airflow_provider_thordata.events import SCRAPER_TASK_EVENTS, LifecycleEvent
from airflow_provider_thordata.exceptions import (
    HeaderTemplateError,
    TemplateError,
    TemplateJSONError,
    UnknownVariableError,
)
from airflow_provider_thordata.integrations import FIELDS, WebhookIntegration, coerce_integrations
from airflow_provider_thordata.templating import DEFAULT_PAYLOAD_TEMPLATE, HeadersTemplate, PayloadTemplate
from airflow_provider_thordata.templating.samples import sample_variables

CUSTOM_PAYLOAD = '{"task": "{{ resource.taskId }}", "dag": "{{ airflow.dag_id }}"}'
CUSTOM_HEADERS = '{"X-Thordata-Task": "{{ eventData.taskId }}"}'


def test_the_issue_example_builds_an_integration_with_the_seeds_default_payload():
    integration = WebhookIntegration(
        name="orders-sink",
        webhook_conn_id="orders_webhook",
        event_types=["TASK_SUCCEEDED", "TASK_FAILED"],
        payload_template=None,
        headers_template=None,
    )

    assert integration.name == "orders-sink"
    assert integration.webhook_conn_id == "orders_webhook"
    assert integration.event_types == {LifecycleEvent.TASK_SUCCEEDED, LifecycleEvent.TASK_FAILED}
    assert integration.payload_template.text == DEFAULT_PAYLOAD_TEMPLATE
    assert integration.headers_template is None
    assert (integration.include_api_key, integration.on_failure) == (False, None)


def test_the_default_payload_renders_the_seeds_five_fields_in_the_seeds_order():
    variables = sample_variables()

    body = json.loads(WebhookIntegration("orders-sink").payload_template.render(variables))

    assert list(body) == ["userId", "createdAt", "eventType", "eventData", "resource"]
    assert body["eventData"] == variables["eventData"]
    assert body["resource"] == variables["resource"]


def test_the_default_payload_is_parsed_once_for_every_integration():
    first = WebhookIntegration("a")
    second = WebhookIntegration("b", payload_template=None)
    rebuilt = WebhookIntegration.coerce(first.to_dict())

    assert first.payload_template is second.payload_template is rebuilt.payload_template


def test_templates_given_parsed_are_used_as_they_are():
    payload = PayloadTemplate(CUSTOM_PAYLOAD)
    headers = HeadersTemplate(CUSTOM_HEADERS)

    integration = WebhookIntegration("sink", payload_template=payload, headers_template=headers)

    assert integration.payload_template is payload
    assert integration.headers_template is headers


# -- validation at construction ----------------------------------------------------------------


def test_a_payload_template_with_an_unknown_variable_fails_with_the_integration_and_the_position():
    with pytest.raises(
        UnknownVariableError, match=r"^Integration 'orders-sink', payload template: unknown variable 'taskId'"
    ) as caught:
        WebhookIntegration("orders-sink", payload_template='{\n  "task": "{{ taskId }}"\n}')

    assert (caught.value.line, caught.value.column) == (2, 12)
    assert caught.value.variable == "taskId"
    assert caught.value.message == str(caught.value)


def test_a_payload_template_that_is_not_json_fails_with_the_position():
    with pytest.raises(
        TemplateJSONError, match=r"^Integration 'sink', payload template: trailing comma"
    ) as caught:
        WebhookIntegration("sink", payload_template='{"a": 1,}')

    assert (caught.value.line, caught.value.column) == (1, 8)


def test_a_headers_template_with_a_number_value_fails_naming_the_integration_and_header():
    with pytest.raises(
        HeaderTemplateError, match=r"^Integration 'sink', headers template: the value of the header 'X-Try'"
    ) as caught:
        WebhookIntegration("sink", headers_template='{"X-Try": 1}')

    assert caught.value.header == "X-Try"
    assert (caught.value.line, caught.value.column) == (1, 11)


def test_template_errors_are_value_errors_so_a_dag_fails_to_parse_with_them():
    with pytest.raises(ValueError, match="payload template: the template is empty"):
        WebhookIntegration("sink", payload_template="")

    assert issubclass(TemplateError, ValueError)


@pytest.mark.parametrize(
    ("event_types", "expected"),
    [
        ("TASK_FAILED", {LifecycleEvent.TASK_FAILED}),
        (LifecycleEvent.RUNNING, {LifecycleEvent.RUNNING}),
        (
            ["SCRAPER.TASK.CREATED", "creation_failed"],
            {LifecycleEvent.CREATION_SUCCEEDED, LifecycleEvent.CREATION_FAILED},
        ),
        (None, set(SCRAPER_TASK_EVENTS)),
    ],
)
def test_event_types_are_given_by_member_name_or_wire_value_and_none_means_every_task_event(
    event_types, expected
):
    assert WebhookIntegration("sink", event_types=event_types).event_types == expected


def test_an_unknown_event_type_fails_at_construction_listing_the_choices():
    with pytest.raises(ValueError, match=r"Unknown event type 'TASK_DONE': use one of CREATION_SUCCEEDED"):
        WebhookIntegration("sink", event_types=["TASK_SUCCEEDED", "TASK_DONE"])


def test_an_integration_that_listens_to_nothing_is_refused():
    with pytest.raises(ValueError, match="Integration 'sink' listens to no event type"):
        WebhookIntegration("sink", event_types=[])


def test_a_test_event_reaches_every_integration_whatever_it_listens_to():
    narrow = WebhookIntegration("narrow", event_types=["TASK_FAILED"])

    assert narrow.listens_to(LifecycleEvent.TEST)
    assert narrow.listens_to(LifecycleEvent.TASK_FAILED)
    assert not narrow.listens_to(LifecycleEvent.TASK_SUCCEEDED)
    assert not WebhookIntegration("all").event_types & {LifecycleEvent.TEST}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": ""}, "needs a non-empty name"),
        ({"name": "   "}, "needs a non-empty name"),
        ({"name": None}, "needs a non-empty name"),
        ({"name": "orders\r\nX-Injected: 1"}, "sent as the Webhook header: it must be one line"),
        ({"name": "n" * 257}, "at most 256 characters"),
        ({"name": "sink", "webhook_conn_id": " "}, "Integration 'sink' needs a webhook_conn_id"),
        ({"name": "sink", "include_api_key": "false"}, "include_api_key must be True or False, got 'false'"),
        ({"name": "sink", "on_failure": "raise"}, "on_failure must be 'fail', 'log' or None, got 'raise'"),
    ],
)
def test_invalid_arguments_are_refused_with_a_message_that_says_what_to_fix(arguments, message):
    with pytest.raises(ValueError, match=message):
        WebhookIntegration(**arguments)


def test_names_and_connection_ids_lose_surrounding_blanks():
    integration = WebhookIntegration("  orders-sink ", " orders_webhook ")

    assert (integration.name, integration.webhook_conn_id) == ("orders-sink", "orders_webhook")


# -- plain values and coercion -----------------------------------------------------------------


def test_an_integration_round_trips_through_plain_json_values():
    integration = WebhookIntegration(
        "orders-sink",
        "orders_webhook",
        ["TASK_SUCCEEDED", "RUNNING"],
        CUSTOM_PAYLOAD,
        CUSTOM_HEADERS,
        include_api_key=True,
        on_failure="log",
    )

    plain = json.loads(json.dumps(integration.to_dict()))
    rebuilt = WebhookIntegration.coerce(plain)

    assert plain == {
        "name": "orders-sink",
        "webhook_conn_id": "orders_webhook",
        "event_types": ["RUNNING", "TASK_SUCCEEDED"],
        "payload_template": CUSTOM_PAYLOAD,
        "headers_template": CUSTOM_HEADERS,
        "include_api_key": True,
        "on_failure": "log",
    }
    assert rebuilt == integration
    assert rebuilt.to_dict() == integration.to_dict()
    assert hash(rebuilt) == hash(integration)


def test_the_default_payload_travels_as_none():
    assert WebhookIntegration("sink").to_dict()["payload_template"] is None
    assert WebhookIntegration("sink", payload_template=DEFAULT_PAYLOAD_TEMPLATE) == WebhookIntegration("sink")


def test_integrations_that_differ_in_any_field_are_not_equal():
    base = WebhookIntegration("sink")

    assert base != WebhookIntegration("sink", on_failure="fail")
    assert base != WebhookIntegration("sink", event_types=["TEST"])
    assert base != WebhookIntegration("sink", include_api_key=True)
    assert base != "sink"


def test_a_dict_with_an_unknown_key_is_refused_listing_the_keys():
    with pytest.raises(
        TypeError, match=r"Unknown webhook integration key\(s\) 'conn_id': the keys are name, "
    ):
        WebhookIntegration.coerce({"name": "sink", "conn_id": "orders_webhook"})


def test_a_dict_without_a_name_is_refused():
    with pytest.raises(TypeError, match="needs a 'name'"):
        WebhookIntegration.coerce({"webhook_conn_id": "orders_webhook"})


def test_something_that_is_neither_an_integration_nor_a_dict_is_refused():
    with pytest.raises(TypeError, match="Expected a WebhookIntegration or a dict of its arguments, got list"):
        WebhookIntegration.coerce(["sink"])  # type: ignore[arg-type]


def test_the_to_dict_keys_are_what_coerce_accepts():
    assert tuple(WebhookIntegration("sink").to_dict()) == FIELDS


def test_the_integrations_of_a_task_are_coerced_from_objects_and_dicts_in_order():
    result = coerce_integrations([WebhookIntegration("a"), {"name": "b", "event_types": ["TEST"]}])

    assert [integration.name for integration in result] == ["a", "b"]
    assert result[1].event_types == {LifecycleEvent.TEST}


def test_one_integration_given_alone_counts_as_a_list_of_one():
    assert coerce_integrations(WebhookIntegration("a")) == (WebhookIntegration("a"),)
    assert coerce_integrations({"name": "b"}) == (WebhookIntegration("b"),)
    assert coerce_integrations(None) == ()
    assert coerce_integrations([]) == ()


def test_text_given_as_the_integrations_is_refused():
    with pytest.raises(TypeError, match="integrations must be a list of WebhookIntegration objects"):
        coerce_integrations("orders-sink")  # type: ignore[arg-type]


def test_two_integrations_with_the_same_name_are_refused():
    with pytest.raises(ValueError, match="Two integrations are named 'sink': names must be unique"):
        coerce_integrations([WebhookIntegration("sink"), {"name": " sink ", "webhook_conn_id": "other"}])


def test_the_repr_names_the_integration_without_its_templates():
    integration = WebhookIntegration("sink", "hook", ["TASK_FAILED", "RUNNING"], CUSTOM_PAYLOAD)

    assert (
        repr(integration)
        == "WebhookIntegration(name='sink', webhook_conn_id='hook', events=RUNNING,TASK_FAILED)"
    )
