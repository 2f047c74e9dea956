"""Read what one DAG run left in Airflow's metadata database, for the demo to print.

Run by :mod:`airflow_provider_thordata.testing.demo` as a subprocess, inside the demo's
``AIRFLOW_HOME``, after ``airflow dags test`` finished::

    python -m airflow_provider_thordata.testing.demo_report --dag-id <id> --out report.json

It writes one JSON document: the newest run of the DAG (id, state), the state, return value
(XCom) and delivery ledger of each of its task instances. The ledger is what the provider
recorded in the task state store for every webhook it sent (dispatch id, event type,
integration, HTTP status, attempts, outcome), with the time the record was written: the
senders' own account of the deliveries, available whichever receiver got them.

Airflow is imported inside :func:`collect` only, so importing this module stays cheap.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from airflow_provider_thordata.dispatch import LEDGER_PREFIX


def collect(dag_id: str) -> dict[str, Any]:
    """Return the newest run of ``dag_id``: its tasks' states, return values and delivery ledgers."""
    from airflow.models import DagRun, TaskInstance
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
        ).first()
        if run is None:
            return {"dag_id": dag_id, "run_id": None, "state": None, "tasks": []}

        tasks = []
        instances = session.scalars(
            select(TaskInstance)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)
            .order_by(TaskInstance.start_date, TaskInstance.task_id, TaskInstance.map_index)
        ).all()
        for ti in instances:
            xcom = session.scalars(
                XComModel.get_many(
                    run_id=run.run_id,
                    dag_ids=dag_id,
                    task_ids=ti.task_id,
                    map_indexes=ti.map_index,
                    key="return_value",
                )
            ).first()
            ledger_rows = session.scalars(
                select(TaskStateStoreModel)
                .where(
                    TaskStateStoreModel.dag_run_id == run.id,
                    TaskStateStoreModel.task_id == ti.task_id,
                    TaskStateStoreModel.map_index == ti.map_index,
                    TaskStateStoreModel.key.startswith(LEDGER_PREFIX),
                )
                .order_by(TaskStateStoreModel.updated_at, TaskStateStoreModel.id)
            ).all()
            tasks.append(
                {
                    "task_id": ti.task_id,
                    "map_index": ti.map_index,
                    "state": _text(ti.state),
                    "try_number": ti.try_number,
                    "return_value": None if xcom is None else XComModel.deserialize_value(xcom),
                    "deliveries": [
                        {**json.loads(row.value), "recorded_at": row.updated_at.isoformat()}
                        for row in ledger_rows
                    ],
                }
            )
        return {
            "dag_id": dag_id,
            "run_id": run.run_id,
            "state": _text(run.state),
            "tasks": tasks,
        }


def _text(state: object) -> str | None:
    # Airflow's states are str enums, but a row read back may hold the plain string.
    return None if state is None else str(getattr(state, "value", state))


def main(argv: list[str] | None = None) -> None:
    """Write the report of the newest run of a DAG to a JSON file."""
    parser = argparse.ArgumentParser(description="Report the newest run of a DAG as JSON.")
    parser.add_argument("--dag-id", required=True)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    args.out.write_text(json.dumps(collect(args.dag_id), default=str, indent=2))


if __name__ == "__main__":
    main()
