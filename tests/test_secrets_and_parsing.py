"""Across whole DAG runs: no secret leaks anywhere, and bad templates fail when the DAG is parsed."""

from __future__ import annotations

import textwrap

import pytest

from airflow_provider_thordata import WebhookIntegration
from airflow_provider_thordata.operators.scraper import ThordataScraperTaskOperator
from airflow_provider_thordata.sensors.scraper import ThordataScraperTaskSensor
from tests.sensors.test_scraper import START, task_state

pytestmark = [pytest.mark.timeout(120)]


def scrape_and_watch_dag(dag_id, integrations):
    from airflow.sdk import DAG

    with DAG(dag_id, schedule=None, start_date=START, catchup=False) as dag:
        create = ThordataScraperTaskOperator(
            task_id="create",
            spider_id="amazon_product_by-url",
            spider_name="amazon.com",
            parameters={"url": "https://www.amazon.com/dp/B0DPMHRZ1W"},
            integrations=integrations,
        )
        ThordataScraperTaskSensor(
            task_id="watch", scraper_task_id=create.output, integrations=integrations, poll_interval=0.05
        )
    return dag


def stored_values(run):
    """Return every XCom value and rendered template field the run left in the metadata database."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        xcoms = session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id)).all()
        rendered = session.scalars(
            select(RenderedTaskInstanceFields).where(RenderedTaskInstanceFields.run_id == run.run_id)
        ).all()
        return [str(XComModel.deserialize_value(row)) for row in xcoms] + [
            str(row.rendered_fields) for row in rendered
        ]


def test_no_credential_reaches_logs_xcom_rendered_fields_or_default_payloads(
    dag_runner, thordata_server, receiver, capsys
):
    integrations = [WebhookIntegration(name="orders-sink", webhook_conn_id="orders_webhook")]
    secrets = [
        thordata_server.scraper_token,
        thordata_server.public_token,
        thordata_server.public_key,
        receiver.secret,
    ]

    run = dag_runner(scrape_and_watch_dag("no_secrets", integrations))

    assert task_state(run, "watch") == "success"
    output = capsys.readouterr()
    stored = stored_values(run)
    assert len(stored) >= 2
    deliveries = [delivery.body.decode() + str(dict(delivery.headers)) for delivery in receiver.deliveries]
    assert len(deliveries) == 3
    for secret in secrets:
        assert secret not in output.out + output.err
        assert not any(secret in value for value in stored)
        assert not any(secret in delivery for delivery in deliveries)
    succeeded = receiver.deliveries[-1].json()
    assert succeeded["resource"]["apiKey"].endswith("*" * 20)


def test_an_integration_that_opts_in_receives_the_api_key_which_still_stays_out_of_logs_and_xcom(
    dag_runner, thordata_server, receiver, capsys
):
    integrations = [
        WebhookIntegration(name="orders-sink", webhook_conn_id="orders_webhook"),
        WebhookIntegration(
            name="audit",
            webhook_conn_id="audit_webhook",
            event_types=["TASK_SUCCEEDED"],
            include_api_key=True,
        ),
    ]

    run = dag_runner(scrape_and_watch_dag("api_key_opt_in", integrations))

    (audit,) = [delivery for delivery in receiver.deliveries if delivery.path == "/audit"]
    assert audit.json()["resource"]["apiKey"] == thordata_server.scraper_token
    (orders_succeeded,) = [
        delivery.json()
        for delivery in receiver.deliveries
        if delivery.path == "/orders" and delivery.json()["eventType"] == "SCRAPER.TASK.SUCCEEDED"
    ]
    assert orders_succeeded["resource"]["apiKey"] != thordata_server.scraper_token
    output = capsys.readouterr()
    assert thordata_server.scraper_token not in output.out + output.err
    assert not any(thordata_server.scraper_token in value for value in stored_values(run))


def test_a_bad_template_fails_the_dag_file_when_it_is_parsed_with_its_position(tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    dag_file = tmp_path / "bad_template_dag.py"
    dag_file.write_text(
        textwrap.dedent(
            """
            import datetime as dt
            from airflow.sdk import DAG
            from airflow_provider_thordata import WebhookIntegration
            from airflow_provider_thordata.sensors.scraper import ThordataScraperTaskSensor

            with DAG("bad_template", schedule=None, start_date=dt.datetime(2026, 1, 1)):
                ThordataScraperTaskSensor(
                    task_id="watch",
                    scraper_task_id="abc",
                    integrations=[
                        WebhookIntegration(
                            name="orders",
                            webhook_conn_id="orders_webhook",
                            payload_template=(
                                '{\\n  "task": "{{resource.taskId}}",\\n  "who": {{ user.name }}\\n}'
                            ),
                        )
                    ],
                )
            """
        )
    )

    bag = DagBag(dag_folder=str(dag_file))

    assert bag.dags == {}
    (error,) = bag.import_errors.values()
    assert "UnknownVariableError" in error
    assert "user" in error
    assert "(line 3, column 10)" in error
