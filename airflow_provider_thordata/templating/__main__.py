"""Run the template command line: ``python -m airflow_provider_thordata.templating check ...``."""

from __future__ import annotations

from airflow_provider_thordata.templating._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
