"""What the demo shows and checks: the deliveries table, the task records, the verdict's problems.

Pure functions over what the demo collected (the receiver's deliveries and the report of
:mod:`airflow_provider_thordata.testing.demo_report`), apart from :func:`print_tasks`, which
prints. No Airflow import.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow_provider_thordata.testing import ReceivedDelivery, ThordataAPIServer

DAG_ID = "example_thordata_scrape_and_notify"
#: What the example must deliver, per integration, in this order (see its integrations).
EXPECTED_EVENTS = {
    "dashboard": ["SCRAPER.TASK.CREATED", "SCRAPER.TASK.RUNNING", "SCRAPER.TASK.SUCCEEDED"],
    "data-team": ["SCRAPER.TASK.RUNNING", "SCRAPER.TASK.SUCCEEDED"],
}

_ROW = "  {:<12} {:<10} {:<23} {:<37} {:>4}  {}"


def delivery_header() -> str:
    """Return the header line of the deliveries table."""
    return _ROW.format("time (UTC)", "webhook", "event", "dispatch id", "HTTP", "signature")


def delivery_line(delivery: ReceivedDelivery) -> str:
    """Return one received delivery as a line of the table."""
    body = _json_or_empty(delivery.body)
    event = body.get("eventType") or body.get("event") or "?"
    signature = {True: "verified", False: "INVALID", None: "unsigned"}[delivery.signature_valid]
    return _ROW.format(
        _clock(delivery.received_at),
        delivery.integration or "?",
        str(event),
        delivery.dispatch_id or "?",
        delivery.reply.status,
        signature,
    )


def ledger_line(record: Mapping[str, Any]) -> str:
    """Return one delivery the sender recorded as a line of the table."""
    recorded = datetime.fromisoformat(str(record["recorded_at"]))
    status = record.get("status_code")
    return _ROW.format(
        recorded.astimezone(timezone.utc).strftime("%H:%M:%S.%f")[:12],
        str(record.get("integration")),
        str(record.get("event_type")),
        str(record.get("dispatch_id")),
        "-" if status is None else status,
        f"{record.get('outcome')} after {record.get('attempts')} attempt(s)",
    )


def _clock(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=timezone.utc).strftime("%H:%M:%S.%f")[:12]


def _json_or_empty(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def ledger(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return every delivery record of the run, in the order they were written."""
    records = [record for task in report.get("tasks", []) for record in task.get("deliveries", [])]
    return sorted(records, key=lambda record: str(record.get("recorded_at")))


def return_value(report: Mapping[str, Any], task_id: str) -> Any:
    """Return the XCom return value of a task of the run (``None`` if it has none)."""
    for task in report.get("tasks", []):
        if task.get("task_id") == task_id:
            return task.get("return_value")
    return None


def problems(
    report: Mapping[str, Any], exit_code: int, received: Sequence[ReceivedDelivery] | None
) -> list[str]:
    """Return what went wrong: the run, a missing or extra delivery, a bad signature.

    :param received: what the local receiver got; ``None`` against the real service, where the
        senders' records are checked instead.
    """
    found = []
    if exit_code != 0:
        found.append(f"`airflow dags test {DAG_ID}` exited with {exit_code}")
    if report.get("state") != "success":
        found.append(f"the DAG run ended in state {report.get('state')!r}, not 'success'")
    records = ledger(report)
    for record in records:
        if record.get("outcome") != "delivered":
            found.append(
                f"{record.get('event_type')} to {record.get('integration')} was not delivered "
                f"({record.get('outcome')}, HTTP {record.get('status_code')})"
            )
    if received is None:
        seen = {
            (r.get("integration"), r.get("event_type")) for r in records if r.get("outcome") == "delivered"
        }
        for integration, events in EXPECTED_EVENTS.items():
            found += [
                f"{event} to {integration} is missing" for event in events if (integration, event) not in seen
            ]
        return found

    for integration, events in EXPECTED_EVENTS.items():
        got = [
            _json_or_empty(d.body).get("eventType") or _json_or_empty(d.body).get("event")
            for d in received
            if d.integration == integration
        ]
        if got != events:
            found.append(f"{integration} received {got}, expected {events} in this order")
    for delivery in received:
        if delivery.signature_valid is not True:
            found.append(
                f"the signature of {delivery.dispatch_id} did not verify: {delivery.signature_error}"
            )
    recorded = {r.get("dispatch_id") for r in records if r.get("outcome") == "delivered"}
    for delivery in received:
        if delivery.dispatch_id not in recorded:
            found.append(f"{delivery.dispatch_id} arrived but the sender has no record of delivering it")
    return found


def print_tasks(report: Mapping[str, Any], api: ThordataAPIServer | None) -> None:
    """Print the scraper task's record and the result the DAG fetched."""
    records = return_value(report, "wait_for_scraper_task") or []
    print("\nScraper task" + (" (as the local Thordata API saw it)" if api is not None else ""))
    for record in records:
        task_id = record.get("taskId")
        print(f"  task id      {task_id}")
        print(f"  spider       {record.get('spiderId')}  {json.dumps(record.get('spiderParameters'))}")
        if api is not None and task_id in api.task_ids:
            info = api.task_info(str(task_id))
            print(f"  status       {info['status']} after {info['polls']} status poll(s)")
        print(f"  created      {record.get('createdAt')}   finished {record.get('finishedAt')}")
        print(f"  result file  {record.get('fileSize')} bytes, apiKey {record.get('apiKey') or '-'}")
    result = return_value(report, "fetch_result")
    print("\nResult fetched by the DAG (fetch_result's XCom)")
    text = json.dumps(result, ensure_ascii=False)
    print(f"  {text if len(text) <= 400 else text[:400] + ' ...'}")
