"""``make demo``: run the scrape-and-notify example through Airflow and show what it delivered.

::

    python -m airflow_provider_thordata.testing.demo [--home .demo] [--timeout SECONDS]

Without credentials it runs entirely on this machine: a Thordata-compatible API and a signing
webhook receiver start on loopback (threads of this process), the example's connections point
at them, and ``airflow dags test example_thordata_scrape_and_notify`` runs the DAG as a
subprocess in a local ``AIRFLOW_HOME`` (``<home>/airflow``) with its own SQLite metadata
database, migrated on the first run only. Each webhook is printed as it arrives (time,
integration, event type, dispatch id, HTTP status, signature verified with the
``standardwebhooks`` library), then the scraper task as the API saw it and the result the DAG
fetched.

With ``THORDATA_SCRAPER_TOKEN``, ``THORDATA_PUBLIC_TOKEN``, ``THORDATA_PUBLIC_KEY`` and
``THORDATA_WEBHOOK_URL`` set, the same command targets the real service: it creates one real
(billed) task for the example's product page and sends the webhooks to that URL. Optional:
``THORDATA_USER_ID``, ``THORDATA_WEBHOOK_SECRET`` (a ``whsec_`` secret to sign with),
``THORDATA_WEBHOOK_ALLOWED_TARGETS`` (for a receiver on a private network) and the SDK's
``THORDATA_SCRAPERAPI_BASE_URL`` / ``THORDATA_WEB_SCRAPER_API_BASE_URL``. There is no local
receiver then, so the deliveries are printed from the senders' own records.

The exit status is 0 only if the DAG run succeeded and every expected webhook was delivered
(and, locally, verified). Servers are stopped and the Airflow subprocess is ended on every
path out, Ctrl-C included. Nothing here imports Airflow: its configuration is read once, by
the subprocesses, from the environment this module builds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_thordata.testing.demo_output import (
    DAG_ID,
    delivery_header,
    delivery_line,
    ledger,
    ledger_line,
    print_tasks,
    problems,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow_provider_thordata.testing import ThordataAPIServer, WebhookReceiver

#: The webhook connections of the example, and the receiver path each gets locally.
WEBHOOK_CONNECTIONS = {"thordata_webhook_default": "/dashboard", "data_team_webhook": "/data-team"}
REAL_MODE_VARIABLES = ("THORDATA_SCRAPER_TOKEN", "THORDATA_PUBLIC_TOKEN", "THORDATA_PUBLIC_KEY")
#: The product row the local API's scraper task produces.
DEMO_PRODUCT = {
    "title": "Kindle Paperwhite (16 GB)",
    "price": 159.99,
    "currency": "USD",
    "asin": "B0DPMHRZ1W",
    "url": "https://www.amazon.com/dp/B0DPMHRZ1W",
}
LOCAL_POLL_INTERVAL = "0.2"
REAL_POLL_INTERVAL = "15"
_SHUTDOWN_GRACE = 5.0


class DemoError(Exception):
    """The demo cannot run as configured; the message says what to change."""


@dataclass(frozen=True)
class Target:
    """Where the demo sends the example's calls and webhooks.

    :param real: the real Thordata service (``False``: the local stand-ins).
    :param connections: ``AIRFLOW_CONN_<ID>`` variables for the Airflow subprocess.
    :param poll_interval: seconds between status polls in the example.
    :param secrets: values never to print.
    """

    real: bool
    connections: dict[str, str] = field(repr=False)
    poll_interval: str
    secrets: tuple[str, ...] = field(default=(), repr=False)


def real_target(environ: Mapping[str, str]) -> Target | None:
    """Return the real-service target the environment asks for, or ``None`` to run locally.

    :raises DemoError: some credentials are set but not all, or the webhook URL is missing.
    """
    present = [name for name in REAL_MODE_VARIABLES if environ.get(name, "").strip()]
    if not present:
        return None
    missing = [name for name in REAL_MODE_VARIABLES if name not in present]
    if missing:
        raise DemoError(
            f"{', '.join(present)} {'is' if len(present) == 1 else 'are'} set but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not: set all three to run the demo against Thordata, "
            "or none to run it locally."
        )
    webhook_url = environ.get("THORDATA_WEBHOOK_URL", "").strip()
    if not webhook_url:
        raise DemoError(
            "THORDATA_WEBHOOK_URL is not set: the demo against Thordata needs a URL that receives the "
            "webhooks (a request bin works)."
        )

    extra = {
        "public_token": environ["THORDATA_PUBLIC_TOKEN"].strip(),
        "public_key": environ["THORDATA_PUBLIC_KEY"].strip(),
    }
    optional = {
        "user_id": "THORDATA_USER_ID",
        "scraper_api_url": "THORDATA_SCRAPERAPI_BASE_URL",
        "web_scraper_api_url": "THORDATA_WEB_SCRAPER_API_BASE_URL",
    }
    for key, name in optional.items():
        if environ.get(name, "").strip():
            extra[key] = environ[name].strip()
    scraper_token = environ["THORDATA_SCRAPER_TOKEN"].strip()
    thordata = {"conn_type": "thordata", "password": scraper_token, "extra": extra}

    webhook: dict[str, Any] = {"conn_type": "thordata_webhook", "host": webhook_url, "extra": {}}
    secret = environ.get("THORDATA_WEBHOOK_SECRET", "").strip()
    if secret:
        webhook["password"] = secret
    allowed = environ.get("THORDATA_WEBHOOK_ALLOWED_TARGETS", "").strip()
    if allowed:
        webhook["extra"]["allowed_targets"] = allowed

    connections = {"AIRFLOW_CONN_THORDATA_DEFAULT": json.dumps(thordata)}
    for conn_id in WEBHOOK_CONNECTIONS:
        connections[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(webhook)
    secrets = (scraper_token, extra["public_token"], extra["public_key"], secret)
    return Target(
        real=True,
        connections=connections,
        poll_interval=environ.get("THORDATA_EXAMPLE_POLL_INTERVAL", REAL_POLL_INTERVAL),
        secrets=tuple(value for value in secrets if value),
    )


def local_target(api: ThordataAPIServer, receiver: WebhookReceiver) -> Target:
    """Return the target that points the example at the local stand-ins."""
    connections = dict(api.connection_env())
    for conn_id, path in WEBHOOK_CONNECTIONS.items():
        connections[f"AIRFLOW_CONN_{conn_id.upper()}"] = receiver.connection_json(path)
    return Target(real=False, connections=connections, poll_interval=LOCAL_POLL_INTERVAL)


def airflow_environment(
    base: Mapping[str, str], airflow_home: Path, dags_folder: Path, target: Target
) -> dict[str, str]:
    """Return the environment of the Airflow subprocesses.

    Inherited ``AIRFLOW__*`` settings and ``AIRFLOW_CONN_*`` connections are dropped: the demo
    must never run against the metadata database, executor or connections of a real
    deployment that happens to be configured in the shell.
    """
    env = {
        name: value
        for name, value in base.items()
        if not name.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")) and name != "AIRFLOW_HOME"
    }
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "THORDATA_EXAMPLE_POLL_INTERVAL": target.poll_interval,
            **target.connections,
        }
    )
    return env


# -- running Airflow ---------------------------------------------------------------------------


def ensure_database(airflow_home: Path, env: Mapping[str, str], log: Path, timeout: float) -> bool:
    """Migrate the metadata database unless this Airflow version already did; return whether it ran."""
    marker = airflow_home / ".migrated"
    wanted = version("apache-airflow")
    if (airflow_home / "airflow.db").exists() and marker.exists() and marker.read_text().strip() == wanted:
        return False
    airflow_home.mkdir(parents=True, exist_ok=True)
    code = run_logged([sys.executable, "-m", "airflow", "db", "migrate"], env, log, timeout)
    if code != 0:
        raise DemoError(f"`airflow db migrate` failed (exit {code}); its output is in {log}")
    marker.write_text(wanted + "\n")
    return True


def run_logged(
    command: Sequence[str], env: Mapping[str, str], log: Path, timeout: float, *, on_tick: Any = None
) -> int:
    """Run ``command`` with its output appended to ``log``; end it (and its children) on timeout or Ctrl-C.

    :param on_tick: called about ten times a second while the command runs.
    :raises DemoError: the command ran longer than ``timeout`` seconds.
    """
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            list(command), env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        try:
            while process.poll() is None:
                if on_tick is not None:
                    on_tick()
                if time.monotonic() > deadline:
                    raise DemoError(f"`{' '.join(command[2:])}` did not finish within {timeout:.0f} s")
                time.sleep(0.1)
            if on_tick is not None:
                on_tick()
            return process.returncode
        finally:
            _end(process)


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # `airflow dags test` runs triggers inline and ignores SIGTERM meanwhile: ask, then insist.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=_SHUTDOWN_GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def read_report(env: Mapping[str, str], log: Path, timeout: float) -> dict[str, Any]:
    """Return what the DAG run left in the metadata database (see :mod:`.demo_report`)."""
    with tempfile.TemporaryDirectory(prefix="thordata-demo-") as folder:
        out = Path(folder) / "report.json"
        command = [sys.executable, "-m", "airflow_provider_thordata.testing.demo_report", "--dag-id", DAG_ID]
        code = run_logged([*command, "--out", str(out)], env, log, timeout)
        if code != 0 or not out.exists():
            raise DemoError(f"reading the run from Airflow's database failed (exit {code}); see {log}")
        report: dict[str, Any] = json.loads(out.read_text())
        return report


# -- the command ----------------------------------------------------------------------------------


@dataclass
class _Live:
    """Prints deliveries as the receiver gets them."""

    receiver: WebhookReceiver
    shown: int = 0

    def __call__(self) -> None:
        deliveries = self.receiver.deliveries
        for delivery in deliveries[self.shown :]:
            print(delivery_line(delivery), flush=True)
        self.shown = len(deliveries)


@dataclass(frozen=True)
class _Place:
    """Where one demo run keeps its state."""

    airflow_home: Path
    dags_folder: Path
    log: Path
    timeout: float

    @classmethod
    def under(cls, home: Path, dags_folder: Path, timeout: float) -> _Place:
        logs = home.resolve() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        return cls((home / "airflow").resolve(), dags_folder, logs / f"demo-{stamp}.log", timeout)


def default_dags_folder() -> Path:
    """Return the repository's ``example_dags`` (beside the package, or in the working directory)."""
    for candidate in (Path(__file__).resolve().parents[2] / "example_dags", Path.cwd() / "example_dags"):
        if (candidate / f"{DAG_ID}.py").exists():
            return candidate
    raise DemoError(
        "example_dags/ was not found: run the demo from a clone of the repository, or pass --dags-folder"
    )


def run(home: Path, dags_folder: Path, timeout: float | None, environ: Mapping[str, str]) -> int:
    """Run the demo against the real service if the environment says so, else locally; return the status."""
    real = real_target(environ)
    place = _Place.under(home, dags_folder, timeout or (3600.0 if real else 300.0))
    where = "the real Thordata service" if real else "local stand-ins, no credentials"
    print(f"Thordata provider demo: {where}")
    print(f"  AIRFLOW_HOME  {place.airflow_home}")
    print(f"  Airflow log   {place.log}")
    if real is not None:
        print("  Thordata API  the real service: one billed scraper task will be created")
        return _run(place, real, environ, None, None)

    from airflow_provider_thordata.testing import ThordataAPIServer, WebhookReceiver, new_webhook_secret

    with ThordataAPIServer() as api, WebhookReceiver(secret=new_webhook_secret()) as receiver:
        api.script_lifecycle(
            steps=[("Pending", 1), ("Running", 2), ("Ready", None)], result_rows=[DEMO_PRODUCT]
        )
        print(f"  Thordata API  {api.base_url} (Thordata-compatible stand-in)")
        print(f"  webhooks      {receiver.base_url} (signing receiver, checks with standardwebhooks)")
        return _run(place, local_target(api, receiver), environ, api, receiver)


def _run(
    place: _Place,
    target: Target,
    environ: Mapping[str, str],
    api: ThordataAPIServer | None,
    receiver: WebhookReceiver | None,
) -> int:
    env = airflow_environment(environ, place.airflow_home, place.dags_folder, target)
    started = time.monotonic()
    if ensure_database(place.airflow_home, env, place.log, place.timeout):
        print(f"  database      migrated (first run) in {time.monotonic() - started:.1f} s")
    else:
        print("  database      ready (already migrated)")

    print(f"\nRunning `airflow dags test {DAG_ID}` ...")
    if receiver is not None:
        print("\nWebhook deliveries, as the receiver got them")
        print(delivery_header())
    started = time.monotonic()
    command = [sys.executable, "-m", "airflow", "dags", "test", DAG_ID]
    live = _Live(receiver) if receiver is not None else None
    code = run_logged(command, env, place.log, place.timeout, on_tick=live)
    elapsed = time.monotonic() - started
    report = read_report(env, place.log, 120.0)

    if receiver is None:
        print("\nWebhook deliveries, as the senders recorded them")
        print(delivery_header())
        for record in ledger(report):
            print(ledger_line(record))
    print_tasks(report, api)
    return _verdict(report, code, receiver, elapsed, place.log, target.secrets)


def _verdict(
    report: Mapping[str, Any],
    code: int,
    receiver: WebhookReceiver | None,
    elapsed: float,
    log: Path,
    secrets: Sequence[str],
) -> int:
    found = problems(report, code, None if receiver is None else receiver.deliveries)
    print()
    if found:
        print(f"Demo FAILED after {elapsed:.1f} s:")
        for problem in found:
            print(f"  - {_hide(problem, secrets)}")
        print(f"Airflow's output is in {log}")
        return 1
    if receiver is not None:
        outcome = f"{len(receiver.deliveries)} webhooks delivered, all signatures verified"
    else:
        outcome = f"{len(ledger(report))} webhooks delivered to THORDATA_WEBHOOK_URL"
    print(f"Demo passed: DAG run {report.get('run_id')} succeeded in {elapsed:.1f} s; {outcome}.")
    return 0


def _hide(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the demo."""
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_thordata.testing.demo",
        description="Run the scrape-and-notify example DAG through Airflow and print its webhooks.",
    )
    parser.add_argument("--home", type=Path, default=Path(".demo"), help="demo state folder (default: .demo)")
    parser.add_argument("--dags-folder", type=Path, default=None, help="folder holding the example DAGs")
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds allowed for each Airflow command"
    )
    args = parser.parse_args(argv)
    try:
        dags_folder = (args.dags_folder or default_dags_folder()).resolve()
        return run(args.home, dags_folder, args.timeout, os.environ)
    except DemoError as error:
        print(f"\nDemo FAILED: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nDemo interrupted; its servers are stopped and Airflow is ended.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
