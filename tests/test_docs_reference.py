"""The events reference and the delivery contract pages agree with the code and their code runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_provider_thordata import LifecycleEvent, WebhookIntegration
from airflow_provider_thordata.delivery import CLIENT_HEADERS, RESERVED_HEADERS, USER_AGENT, Outcome
from airflow_provider_thordata.testing import event_variables

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"(?:<!-- (?P<tag>[^>]+?) -->\n)?```(?P<lang>[a-z]*)\n(?P<body>.*?)\n```", re.S)


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def table(text: str, tag: str) -> list[list[str]]:
    """Return the rows of the Markdown table that follows ``<!-- table: tag -->``."""
    start = text.index(f"<!-- table: {tag} -->")
    lines = text[start:].splitlines()[1:]
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def run_blocks(text: str, prefix: str, namespace: dict) -> int:
    count = 0
    for match in _BLOCK.finditer(text):
        if (match["tag"] or "").startswith(prefix):
            exec(compile(match["body"], prefix, "exec"), namespace)  # noqa: S102 - the page's own code
            count += 1
    return count


@pytest.mark.parametrize("name", ["events.md", "delivery.md", "scale.md", "changelog.md"])
def test_every_code_block_of_the_reference_pages_is_marked_as_run_or_is_plain_data(name):
    for match in _BLOCK.finditer(page(name)):
        assert (match["tag"] or "").startswith("run") or match["lang"] == "json", match["body"][:60]


def test_the_event_table_lists_every_event_with_its_wire_value():
    rows = table(page("events.md"), "events")

    assert [(row[0].strip("`"), row[1].strip("`")) for row in rows] == [
        (event.name, event.wire) for event in LifecycleEvent
    ]


def test_the_resource_table_names_every_field_of_a_task_record_and_nothing_else():
    documented = set()
    for row in table(page("events.md"), "resource"):
        documented |= set(re.findall(r"`([A-Za-z_]+)`", row[0]))
    resource = event_variables("TASK_SUCCEEDED")["resource"]

    assert documented == set(resource)


def test_the_events_page_examples_run():
    assert run_blocks(page("events.md"), "run", {}) == 2


def test_the_reserved_header_table_is_what_the_sender_reserves():
    rows = table(page("delivery.md"), "reserved headers")
    documented = {row[0].strip("`").lower() for row in rows}
    user_agent = next(row[1] for row in rows if row[0] == "`User-Agent`")

    assert documented == set(RESERVED_HEADERS)
    assert user_agent.strip("`").replace("<version>", USER_AGENT.split("/")[1].split(" ")[0]) == USER_AGENT
    assert "`Content-Length`" in page("delivery.md")
    assert "content-length" in CLIENT_HEADERS


def test_the_outcome_table_lists_every_outcome_and_which_are_retried():
    rows = table(page("delivery.md"), "outcomes")
    outcomes = {row[1].strip("`"): row[2] for row in rows}

    assert set(outcomes) == {outcome.value for outcome in Outcome}
    for outcome in Outcome:
        assert (outcomes[outcome.value] == "retried") is outcome.retryable, outcome


def test_the_receiver_example_verifies_real_deliveries_and_acts_once(
    thordata_receiver, thordata_webhook_connection
):
    from airflow_provider_thordata.hooks.webhook import ThordataWebhookHook

    thordata_webhook_connection()
    namespace: dict = {}
    run_blocks(page("delivery.md"), "run: secret", namespace)
    processed: dict = {}
    namespace.update(
        SIGNING_SECRET=thordata_receiver.secret,
        already_processed=lambda msg_id: msg_id in processed,
        process=processed.__setitem__,
    )
    run_blocks(page("delivery.md"), "run: receiver", namespace)
    hook = ThordataWebhookHook()
    for _ in range(2):
        hook.deliver(b'{"id": "e-1"}', event_type="TEST", integration="docs", dispatch_id="msg_docs_1")
    first, second = thordata_receiver.deliveries

    answers = [namespace["handle"](d.body, dict(d.headers)) for d in (first, second)]
    tampered = namespace["handle"](b'{"id": "e-2"}', dict(first.headers))

    assert answers == [204, 200]
    assert processed == {"msg_docs_1": {"id": "e-1"}}
    assert tampered == 400
    assert namespace["SIGNING_SECRET"].startswith("whsec_")


def test_the_documented_secret_recipe_makes_a_secret_the_hook_accepts():
    namespace: dict = {}
    run_blocks(page("delivery.md"), "run: secret", namespace)

    from standardwebhooks.webhooks import Webhook

    assert Webhook(namespace["SIGNING_SECRET"])


def test_an_integration_without_event_types_listens_to_the_five_task_events_and_test():
    integration = WebhookIntegration(name="all", webhook_conn_id="x")

    assert {event for event in LifecycleEvent if integration.listens_to(event)} == set(LifecycleEvent)
