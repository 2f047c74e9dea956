"""Delivering one lifecycle event to its integrations, once, against a real webhook receiver."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_thordata import dispatch
from airflow_provider_thordata.backoff import BackoffPolicy
from airflow_provider_thordata.dispatch import LEDGER_PREFIX, DeliveryLedger, Emission
from airflow_provider_thordata.events import LifecycleEvent, dispatch_id
from airflow_provider_thordata.exceptions import TemplateRenderError, WebhookDeliveryError
from airflow_provider_thordata.hooks.webhook import ThordataWebhookHook
from airflow_provider_thordata.integrations import WebhookIntegration
from airflow_provider_thordata.testing import Reply, StaticResolver, WebhookReceiver, new_webhook_secret

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.timeout(30)

OBSERVED_AT = datetime(2025, 6, 7, 6, 33, 14, tzinfo=timezone.utc)
CLEAR_TOKEN = "289f5c53e47d616a0c1b2d3e4f5a6b7c"  # a made-up scraping token
REDACTED_TOKEN = "289f5c********************"
RESOURCE = {"taskId": "t-1", "fileSize": 1765, "jsonUrl": "http://files/t-1.json", "apiKey": REDACTED_TOKEN}
CUSTOM_PAYLOAD = (
    '{"task": "{{ resource.taskId }}", "dag": "{{ airflow.dag_id }}", "try": {{ airflow.try_number }}}'
)


class FakeClock:
    """Real wall time plus every sleep requested, which it records instead of waiting."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self._slept = 0.0

    def time(self) -> float:
        return time.time() + self._slept

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._slept += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


class MemoryStore:
    """The ``get``/``set`` of Airflow's task state store, in memory, values stored as JSON."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    def set(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)

    def records(self) -> dict[str, Any]:
        return {key.removeprefix(LEDGER_PREFIX): json.loads(text) for key, text in self.values.items()}


class UntouchableStore:
    """A store that must not be used."""

    def get(self, key: str, default: Any = None) -> Any:
        raise AssertionError(f"the task state store was read ({key})")

    def set(self, key: str, value: Any) -> None:
        raise AssertionError(f"the task state store was written ({key})")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=new_webhook_secret()) as running:
        yield running


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hooks(receiver: WebhookReceiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Define connections sink_a and sink_b (paths /a and /b of the receiver); return the ids asked for."""
    monkeypatch.setenv("AIRFLOW_CONN_SINK_A", receiver.connection_json(path="/a"))
    monkeypatch.setenv("AIRFLOW_CONN_SINK_B", receiver.connection_json(path="/b"))
    return []


@pytest.fixture
def factory(hooks: list[str], clock: FakeClock):
    """Build webhook hooks on the fake clock (two attempts, no jitter), noting each connection id."""

    def build(conn_id: str) -> ThordataWebhookHook:
        hooks.append(conn_id)
        return ThordataWebhookHook(conn_id, clock=clock, policy=BackoffPolicy(max_attempts=2, jitter=0.0))

    return build


def task_context(store: Any = None, **overrides: Any) -> dict[str, Any]:
    """Return the parts of a task's Airflow context that the lifecycle reads."""
    ti = SimpleNamespace(dag_id="scrape", task_id="watch", run_id="manual__1", try_number=1, map_index=-1)
    dag_run = SimpleNamespace(dag_id="scrape", run_id="manual__1", logical_date=OBSERVED_AT)
    context: dict[str, Any] = {
        "ti": ti,
        "dag_run": dag_run,
        "run_id": "manual__1",
        "logical_date": OBSERVED_AT,
        "params": {},
        "task_state_store": store,
    }
    context.update(overrides)
    return context


def emission(event: LifecycleEvent = LifecycleEvent.TASK_SUCCEEDED, **overrides: Any) -> Emission:
    arguments: dict[str, Any] = {
        "event": event,
        "scraper_task_id": "t-1",
        "event_data": {"taskId": "t-1", "status": "Ready"},
        "resource": RESOURCE,
        "api_key": CLEAR_TOKEN,
        "observed_at": OBSERVED_AT,
    }
    arguments.update(overrides)
    return Emission(**arguments)


def expected_id(integration: str, event: LifecycleEvent = LifecycleEvent.TASK_SUCCEEDED) -> str:
    return dispatch_id(
        dag_id="scrape",
        run_id="manual__1",
        task_id="watch",
        map_index=-1,
        scraper_task_id="t-1",
        event=event,
        integration=integration,
    )


def send(
    integrations: list[WebhookIntegration],
    factory: Any,
    *,
    context: dict[str, Any] | None = None,
    event: Emission | None = None,
    default: str = "fail",
    mode: str = "sync",
) -> list[Any]:
    context = task_context() if context is None else context
    planned = dispatch.plan(event or emission(), integrations, context=context, user_id="3406")
    arguments = {
        "ledger": DeliveryLedger.from_context(context),
        "default_on_failure": default,
        "hook_factory": factory,
    }
    if mode == "sync":
        return dispatch.deliver(planned, **arguments)
    return asyncio.run(dispatch.adeliver(planned, **arguments))


def fail_path(path: str):
    return lambda delivery: Reply(500) if delivery.path == path else Reply(200)


# -- fan-out ---------------------------------------------------------------------------------


def test_one_event_fans_out_to_two_integrations_each_rendered_with_its_own_templates(receiver, factory):
    seed = WebhookIntegration("orders-sink", "sink_a")
    custom = WebhookIntegration(
        "audit-sink",
        "sink_b",
        payload_template=CUSTOM_PAYLOAD,
        headers_template='{"X-Task": "{{ eventData.taskId }}"}',
    )

    records = send([seed, custom], factory)

    first, second = receiver.wait_for(2)
    assert (first.path, first.integration, first.dispatch_id) == (
        "/a",
        "orders-sink",
        expected_id("orders-sink"),
    )
    assert first.json() == {
        "userId": "3406",
        "createdAt": "2025-06-07T06:33:14Z",
        "eventType": "SCRAPER.TASK.SUCCEEDED",
        "eventData": {"taskId": "t-1", "status": "Ready"},
        "resource": RESOURCE,
    }
    assert (second.path, second.integration, second.dispatch_id) == (
        "/b",
        "audit-sink",
        expected_id("audit-sink"),
    )
    assert second.json() == {"task": "t-1", "dag": "scrape", "try": 1}
    assert second.headers["X-Task"] == "t-1"
    assert first.signature_valid
    assert second.signature_valid
    assert [(r["integration"], r["outcome"], r["event_type"]) for r in records] == [
        ("orders-sink", "delivered", "SCRAPER.TASK.SUCCEEDED"),
        ("audit-sink", "delivered", "SCRAPER.TASK.SUCCEEDED"),
    ]
    assert [r["dispatch_id"] for r in records] == [expected_id("orders-sink"), expected_id("audit-sink")]


def test_only_the_integrations_listening_to_the_event_receive_it(receiver, factory):
    succeeded = WebhookIntegration("on-success", "sink_a", event_types=["TASK_SUCCEEDED"])
    failed = WebhookIntegration("on-failure", "sink_b", event_types=["TASK_FAILED"])

    records = send([succeeded, failed], factory, event=emission(LifecycleEvent.TASK_FAILED))

    assert [r["integration"] for r in records] == ["on-failure"]
    assert [d.integration for d in receiver.deliveries] == ["on-failure"]


def test_a_test_event_reaches_every_integration(receiver, factory):
    succeeded = WebhookIntegration("on-success", "sink_a", event_types=["TASK_SUCCEEDED"])
    failed = WebhookIntegration("on-failure", "sink_b", event_types=["TASK_FAILED"])

    records = send([succeeded, failed], factory, event=emission(LifecycleEvent.TEST))

    assert [r["outcome"] for r in records] == ["delivered", "delivered"]
    assert sorted(d.json()["eventType"] for d in receiver.wait_for(2)) == ["TEST", "TEST"]


def test_integrations_on_one_connection_share_one_hook(receiver, factory, hooks):
    send([WebhookIntegration("one", "sink_a"), WebhookIntegration("two", "sink_a")], factory)

    assert hooks == ["sink_a"]
    assert len(receiver.wait_for(2)) == 2


# -- failures --------------------------------------------------------------------------------


def test_a_render_error_is_recorded_as_render_failed_and_the_other_deliveries_still_go_out(receiver, factory):
    broken = WebhookIntegration("broken", "sink_a", payload_template='{"n": {{ userId + 1 }}}')
    store = MemoryStore()

    records = send(
        [broken, WebhookIntegration("fine", "sink_b")], factory, context=task_context(store), default="log"
    )

    assert [(r["integration"], r["outcome"], r["attempts"]) for r in records] == [
        ("broken", "render_failed", 0),
        ("fine", "delivered", 1),
    ]
    assert [d.integration for d in receiver.deliveries] == ["fine"]
    assert store.records()[expected_id("broken")]["outcome"] == "render_failed"


def test_under_the_fail_policy_a_failure_raises_after_every_integration_was_tried(receiver, factory, clock):
    receiver.respond_with(fail_path("/b"))
    failing = WebhookIntegration("failing", "sink_b")
    fine = WebhookIntegration("fine", "sink_a")

    with pytest.raises(WebhookDeliveryError, match=r"Webhook delivery failed for failing \(msg_") as caught:
        send([failing, fine], factory)

    assert [(r["integration"], r["outcome"], r["attempts"]) for r in caught.value.records] == [
        ("failing", "unavailable", 2),
        ("fine", "delivered", 1),
    ]
    assert caught.value.record == caught.value.records[0]
    assert isinstance(caught.value.__cause__, WebhookDeliveryError)
    assert [d.path for d in receiver.deliveries] == ["/b", "/b", "/a"]
    assert clock.sleeps == [1.0]


def test_every_failed_integration_is_named_and_a_render_error_is_the_cause(receiver, factory):
    receiver.respond_with(fail_path("/b"))
    broken = WebhookIntegration("broken", "sink_a", payload_template='{"n": {{ userId + 1 }}}')

    with pytest.raises(
        WebhookDeliveryError, match=r"failed for broken \(msg_\w+\), failing \(msg_\w+\)"
    ) as caught:
        send([broken, WebhookIntegration("failing", "sink_b")], factory)

    assert isinstance(caught.value.__cause__, TemplateRenderError)
    assert [r["outcome"] for r in caught.value.records] == ["render_failed", "unavailable"]


@pytest.mark.parametrize(
    ("default", "policy", "raises"),
    [("fail", None, True), ("fail", "log", False), ("log", None, False), ("log", "fail", True)],
)
def test_an_integrations_own_policy_wins_over_the_callers_default(
    receiver, factory, default, policy, raises, caplog
):
    receiver.respond_with(fail_path("/b"))
    integrations = [
        WebhookIntegration("failing", "sink_b", on_failure=policy),
        WebhookIntegration("fine", "sink_a"),
    ]

    with caplog.at_level(logging.WARNING, logger="airflow_provider_thordata.dispatch"):
        if raises:
            with pytest.raises(WebhookDeliveryError, match="Webhook delivery failed for failing"):
                send(integrations, factory, default=default)
        else:
            records = send(integrations, factory, default=default)
            assert [r["outcome"] for r in records] == ["unavailable", "delivered"]

    (line,) = [r for r in caplog.records if r.name == "airflow_provider_thordata.dispatch"]
    assert line.levelno == (logging.ERROR if raises else logging.WARNING)
    assert expected_id("failing") in line.getMessage()
    assert ("failing the task" if raises else "recorded and logged only") in line.getMessage()
    assert len(receiver.deliveries) == 3


def test_a_target_the_guard_refuses_is_recorded_as_refused(receiver, factory, monkeypatch):
    guarded = json.loads(receiver.connection_json(path="/a"))
    guarded["extra"].pop("allowed_targets")
    monkeypatch.setenv("AIRFLOW_CONN_SINK_A", json.dumps(guarded))

    records = send(
        [WebhookIntegration("guarded", "sink_a"), WebhookIntegration("fine", "sink_b")],
        factory,
        default="log",
    )

    assert [(r["integration"], r["outcome"], r["attempts"]) for r in records] == [
        ("guarded", "refused", 0),
        ("fine", "delivered", 1),
    ]
    assert [d.path for d in receiver.deliveries] == ["/b"]


def test_a_target_refused_on_a_retry_keeps_the_hooks_record_of_the_attempts_made(
    receiver, clock, monkeypatch
):
    resolver = StaticResolver({"hooks.test": "127.0.0.1"})
    connection = {
        "conn_type": "thordata_webhook",
        "host": f"http://hooks.test:{receiver.port}/a",
        "extra": {"allowed_targets": "127.0.0.1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SINK_DNS", json.dumps(connection))

    def rebind(delivery: Any) -> Reply:
        resolver.hosts["hooks.test"] = "10.0.0.1"
        return Reply(503)

    receiver.respond_with(rebind)

    def factory(conn_id: str) -> ThordataWebhookHook:
        return ThordataWebhookHook(
            conn_id, clock=clock, resolver=resolver, policy=BackoffPolicy(max_attempts=2)
        )

    (record,) = send([WebhookIntegration("rebound", "sink_dns")], factory, default="log")

    assert (record["outcome"], record["attempts"]) == ("refused", 1)
    assert len(receiver.deliveries) == 1


def test_a_connection_that_does_not_exist_is_recorded_as_an_error_and_the_others_are_delivered(
    receiver, factory
):
    records = send(
        [WebhookIntegration("nowhere", "sink_missing"), WebhookIntegration("fine", "sink_a")],
        factory,
        default="log",
    )

    assert [(r["integration"], r["outcome"]) for r in records] == [
        ("nowhere", "error"),
        ("fine", "delivered"),
    ]


# -- the ledger ------------------------------------------------------------------------------


def test_a_dispatch_already_delivered_is_not_sent_again_and_its_record_is_returned(receiver, factory):
    store = MemoryStore()
    integrations = [WebhookIntegration("orders-sink", "sink_a")]

    first = send(integrations, factory, context=task_context(store))
    again = send(
        integrations,
        factory,
        context=task_context(store),
        event=emission(observed_at=datetime.now(timezone.utc)),
    )

    assert again == first
    assert len(receiver.deliveries) == 1
    assert store.records() == {expected_id("orders-sink"): first[0]}
    assert list(store.values) == [LEDGER_PREFIX + expected_id("orders-sink")]


def test_a_failed_delivery_is_recorded_but_not_counted_as_delivered(receiver, factory):
    store = MemoryStore()
    receiver.respond_with(fail_path("/b"))
    integrations = [WebhookIntegration("flaky", "sink_b"), WebhookIntegration("fine", "sink_a")]
    send(integrations, factory, context=task_context(store), default="log")
    assert store.records()[expected_id("flaky")]["outcome"] == "unavailable"
    receiver.respond_with(None)

    records = send(integrations, factory, context=task_context(store), default="log")

    assert [(r["integration"], r["outcome"]) for r in records] == [
        ("flaky", "delivered"),
        ("fine", "delivered"),
    ]
    assert [d.path for d in receiver.deliveries] == ["/b", "/b", "/a", "/b"]
    assert store.records()[expected_id("flaky")]["outcome"] == "delivered"


def test_without_a_store_every_attempt_sends_under_the_same_dispatch_id(receiver, factory):
    integrations = [WebhookIntegration("orders-sink", "sink_a")]

    send(integrations, factory, context=task_context(None))
    send(integrations, factory, context=task_context(None))

    assert [d.dispatch_id for d in receiver.wait_for(2)] == [expected_id("orders-sink")] * 2


def test_a_dag_callback_never_touches_the_task_state_store_it_is_handed(receiver, factory):
    context = task_context(UntouchableStore(), reason="task_failure")

    records = send([WebhookIntegration("orders-sink", "sink_a")], factory, context=context)

    (delivery,) = receiver.wait_for(1)
    assert records[0]["outcome"] == "delivered"
    assert delivery.dispatch_id == dispatch_id(
        dag_id="scrape",
        run_id="manual__1",
        task_id=None,
        map_index=None,
        scraper_task_id="t-1",
        event=LifecycleEvent.TASK_SUCCEEDED,
        integration="orders-sink",
    )


def processor_comms() -> Any:
    """Return the comms a DAG processor's parsing process talks through, built as Airflow builds them."""
    from airflow.dag_processing.processor import ToDagProcessor, ToManager
    from airflow.sdk.execution_time.comms import CommsDecoder
    from pydantic import TypeAdapter

    return CommsDecoder[ToDagProcessor, ToManager](body_decoder=TypeAdapter(ToDagProcessor), socket=None)


def test_in_the_dag_processor_a_task_callback_never_touches_the_task_state_store(
    receiver, factory, monkeypatch
):
    from airflow.sdk.execution_time import task_runner

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", processor_comms(), raising=False)

    records = send(
        [WebhookIntegration("orders-sink", "sink_a")], factory, context=task_context(UntouchableStore())
    )

    assert dispatch.in_dag_processor()
    assert records[0]["outcome"] == "delivered"
    assert receiver.wait_for(1)[0].dispatch_id == expected_id("orders-sink")


def test_in_a_task_process_the_ledger_uses_the_store(monkeypatch):
    from airflow.dag_processing import processor  # loaded, as it may be in a long-lived process
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import CommsDecoder

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", CommsDecoder(socket=None), raising=False)
    store = MemoryStore()
    record = {"dispatch_id": "msg_1", "outcome": "delivered"}

    DeliveryLedger.from_context(task_context(store)).record(record)  # type: ignore[arg-type]

    assert processor.ToDagProcessor is not None
    assert not dispatch.in_dag_processor()
    assert store.records() == {"msg_1": {"dispatch_id": "msg_1", "outcome": "delivered"}}


def test_the_ledger_of_a_task_context_is_its_task_state_store():
    store = MemoryStore()
    record = {"dispatch_id": "msg_1", "outcome": "delivered"}
    DeliveryLedger.from_context(task_context(store)).record(record)  # type: ignore[arg-type]

    assert DeliveryLedger.from_context(task_context(store)).delivered("msg_1") == record
    assert DeliveryLedger.from_context({}).delivered("msg_1") is None


# -- the scraping token ----------------------------------------------------------------------


def test_only_integrations_that_opt_in_receive_the_scraping_token(receiver, factory):
    hidden = WebhookIntegration("hidden", "sink_a")
    revealed = WebhookIntegration("revealed", "sink_b", include_api_key=True)

    send([hidden, revealed], factory)

    by_path = {d.path: d.json() for d in receiver.wait_for(2)}
    assert by_path["/a"]["resource"]["apiKey"] == REDACTED_TOKEN
    assert by_path["/b"]["resource"]["apiKey"] == CLEAR_TOKEN
    assert CLEAR_TOKEN not in receiver.deliveries[0].body.decode()


def test_a_clear_token_handed_over_in_the_resource_is_redacted_for_integrations_that_did_not_opt_in():
    leaky = emission(resource={**RESOURCE, "apiKey": CLEAR_TOKEN}, api_key=None)
    integrations = [
        WebhookIntegration("hidden", "sink_a"),
        WebhookIntegration("revealed", "sink_b", include_api_key=True),
    ]

    hidden, revealed = dispatch.plan(leaky, integrations, context=task_context(), user_id="3406")

    assert json.loads(hidden.body)["resource"]["apiKey"] == REDACTED_TOKEN
    assert json.loads(revealed.body)["resource"]["apiKey"] == CLEAR_TOKEN


def test_an_event_without_a_resource_never_carries_the_token():
    (planned,) = dispatch.plan(
        emission(resource=None),
        [WebhookIntegration("revealed", "sink_b", include_api_key=True)],
        context=task_context(),
        user_id="3406",
    )

    assert json.loads(planned.body)["resource"] == {}


# -- the async twin --------------------------------------------------------------------------


def test_the_async_twin_sends_the_same_bodies_and_returns_the_same_records(receiver, factory):
    integrations = [
        WebhookIntegration("orders-sink", "sink_a"),
        WebhookIntegration("audit-sink", "sink_b", payload_template=CUSTOM_PAYLOAD, include_api_key=True),
    ]

    sync_records = send(integrations, factory, context=task_context(MemoryStore()))
    async_records = send(integrations, factory, context=task_context(MemoryStore()), mode="async")

    def comparable(records: list[Any]) -> list[Any]:
        return [{key: value for key, value in r.items() if key != "elapsed_ms"} for r in records]

    assert comparable(async_records) == comparable(sync_records)
    sync_a, sync_b, async_a, async_b = receiver.wait_for(4)
    assert (async_a.body, async_a.dispatch_id) == (sync_a.body, sync_a.dispatch_id)
    assert (async_b.body, async_b.dispatch_id) == (sync_b.body, sync_b.dispatch_id)
    assert all(d.signature_valid for d in receiver.deliveries)


def test_the_async_twin_applies_the_same_policy_and_ledger(receiver, factory):
    store = MemoryStore()
    receiver.respond_with(fail_path("/b"))
    integrations = [WebhookIntegration("failing", "sink_b"), WebhookIntegration("fine", "sink_a")]

    with pytest.raises(WebhookDeliveryError, match="Webhook delivery failed for failing") as caught:
        send(integrations, factory, context=task_context(store), mode="async")
    again = send(integrations, factory, context=task_context(store), mode="async", default="log")

    assert [r["outcome"] for r in caught.value.records] == ["unavailable", "delivered"]
    assert [r["outcome"] for r in again] == ["unavailable", "delivered"]
    assert [d.path for d in receiver.deliveries] == ["/b", "/b", "/a", "/b", "/b"]
