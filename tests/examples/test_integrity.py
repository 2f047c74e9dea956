"""Every example DAG file imports cleanly, touches no network when parsed, and follows our rules."""

from __future__ import annotations

import socket

import pytest

from tests.examples.conftest import EXAMPLES

pytestmark = [pytest.mark.timeout(60)]

EXPECTED = {
    "example_thordata_scrape_and_notify.py": {"example_thordata_scrape_and_notify"},
    "example_thordata_many_tasks.py": {"example_thordata_many_tasks"},
    "example_thordata_callbacks.py": {"example_thordata_callbacks"},
}


def parse_offline(folder):
    """Parse a DAG folder as the DAG processor would, with every outgoing connection refused."""
    from airflow.dag_processing.dagbag import DagBag

    attempts = []

    def refuse(sock, address):
        attempts.append(address)
        raise OSError(f"network access while parsing DAGs: connect to {address!r}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        patch.delenv("THORDATA_EXAMPLE_POLL_INTERVAL", raising=False)
        parsed = DagBag(dag_folder=folder)
    return parsed, attempts


@pytest.fixture(scope="module")
def bag():
    """Parse the examples folder once, offline."""
    return parse_offline(EXAMPLES)


def test_the_examples_folder_holds_exactly_the_documented_files():
    assert {path.name for path in EXAMPLES.glob("*.py")} == set(EXPECTED)


def test_every_example_imports_without_errors(bag):
    parsed, _ = bag

    assert parsed.import_errors == {}
    assert set(parsed.dag_ids) == set().union(*EXPECTED.values())


def test_parsing_the_examples_opens_no_network_connection(bag):
    _, attempts = bag

    assert attempts == []


def test_the_offline_parse_catches_a_dag_file_that_connects_at_parse_time(tmp_path):
    (tmp_path / "chatty.py").write_text(
        "import socket\n"
        "from airflow.sdk import DAG\n"
        "socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
        "DAG('chatty', schedule=None)\n"
    )

    parsed, attempts = parse_offline(tmp_path)

    assert attempts == [("127.0.0.1", 9)]
    assert "network access while parsing DAGs" in next(iter(parsed.import_errors.values()))


@pytest.mark.parametrize(("file_name", "dag_ids"), sorted(EXPECTED.items()))
def test_each_file_defines_its_dags(bag, file_name, dag_ids):
    parsed, _ = bag

    assert {
        dag_id for dag_id, dag in parsed.dags.items() if dag.fileloc == str(EXAMPLES / file_name)
    } == dag_ids


def test_every_task_has_an_owner_retries_and_no_schedule_that_would_run_on_its_own(bag):
    parsed, _ = bag

    for dag in parsed.dags.values():
        assert dag.schedule is None, dag.dag_id
        assert {"example", "thordata"} <= set(dag.tags), dag.dag_id
        for task in dag.tasks:
            assert task.owner not in ("", "airflow"), f"{dag.dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag.dag_id}.{task.task_id} has no retries"


def test_the_poll_interval_defaults_to_thirty_seconds_when_the_environment_says_nothing(bag):
    parsed, _ = bag

    intervals = {
        (dag.dag_id, task.task_id): task.poll_interval
        for dag in parsed.dags.values()
        for task in dag.tasks
        if hasattr(task, "poll_interval")
    }

    assert intervals
    assert set(intervals.values()) == {30.0}


def test_the_poll_interval_follows_the_environment_variable(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("THORDATA_EXAMPLE_POLL_INTERVAL", "2.5")

    parsed = DagBag(dag_folder=EXAMPLES / "example_thordata_scrape_and_notify.py")

    assert (
        parsed.dags["example_thordata_scrape_and_notify"].get_task("wait_for_scraper_task").poll_interval
        == 2.5
    )


def test_every_example_serializes_as_the_scheduler_stores_it(bag):
    from airflow.serialization.serialized_objects import DagSerialization

    parsed, _ = bag

    for dag in parsed.dags.values():
        restored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
        assert set(restored.task_ids) == set(dag.task_ids)
