"""Regenerate the connection form screenshots in ``docs/images/`` from the real Airflow UI.

A maintainer tool, not part of ``make test``. It starts Airflow's API server on 127.0.0.1 with
a throwaway ``AIRFLOW_HOME`` (SQLite, the simple auth manager with every user an admin) and this
checkout first on ``PYTHONPATH``, opens "Add Connection" in headless Chromium for each connection
type of this provider, fills the form in with example values (no real secret), checks that the
form shows every label, description and standard-field placeholder declared in
``get_provider_info()``, and writes ``connection-thordata.png`` and
``connection-thordata-webhook.png`` next to this file. Nothing is saved in Airflow.

Airflow's form opens one section at a time, so each image stacks two captures of the same
form: down to the end of "Standard Fields" while that section is open, then from "Extra Fields"
down while that one is open.

Needs:

- the project's virtual environment with Airflow 3.3 (``make test`` creates ``.venv``) and
  Playwright for Python in it: ``.venv/bin/pip install playwright``. Playwright's own browser
  download (``playwright install``) is not needed and not used.
- Chromium. On Debian: ``apt-get install chromium`` (the script uses ``/usr/bin/chromium``;
  set ``CHROMIUM=/path/to/chrome`` to use another build).

Run from anywhere, with the project's interpreter::

    .venv/bin/python docs/images/make_connection_screenshots.py

It takes about a minute, most of it Airflow migrating its database and starting up.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, sync_playwright

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(REPO_ROOT))

from airflow_provider_thordata.get_provider_info import get_provider_info  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach Google's hosts.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STANDARD_FIELDS = ("description", "host", "schema", "login", "password", "port")
STARTUP_TIMEOUT = 180.0


@dataclass(frozen=True)
class Form:
    """One connection form to fill in and capture.

    :param conn_type: the connection type, as declared in ``get_provider_info()``.
    :param conn_id: the connection id typed into the form.
    :param standard: values for the standard fields (``description``, ``host``, ``password``).
    :param extra: values for the provider's extra fields; fields left out keep their default.
    :param image: the PNG file to write, in ``docs/images/``.
    """

    conn_type: str
    conn_id: str
    standard: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)
    image: str = ""


FORMS = (
    Form(
        conn_type="thordata",
        conn_id="thordata_default",
        standard={
            "description": "Thordata Web Scraper API, production account",
            "password": "example-scraper-token",
        },
        extra={
            "public_token": "example-public-token",
            "public_key": "example-public-key",
            "user_id": "3406",
        },
        image="connection-thordata.png",
    ),
    Form(
        conn_type="thordata_webhook",
        conn_id="orders_webhook",
        standard={
            "description": "Order pipeline receiver",
            "host": "https://hooks.example.com/thordata",
            # The Standard Webhooks specification's published test secret, not a real one.
            "password": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        },
        image="connection-thordata-webhook.png",
    ),
)


def main() -> int:
    """Start Airflow, capture every form, stop Airflow; return the exit code."""
    declared = {item["connection-type"]: item for item in get_provider_info()["connection-types"]}
    home = Path(tempfile.mkdtemp(prefix="thordata-screenshots-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        environment = _airflow_environment(home)
        print(f"Migrating a throwaway metadata database in {home} ...", flush=True)
        _airflow(environment, "db", "migrate")
        port = _free_port()
        server = _start_api_server(environment, port, home / "api-server.log")
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(base_url, server, home / "api-server.log")

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 1400}, device_scale_factor=1)
                for form in FORMS:
                    _capture(page, base_url, form, declared[form.conn_type])
            finally:
                browser.close()
    finally:
        if server is not None:
            _stop(server)
        shutil.rmtree(home, ignore_errors=True)
    return 0


# -- Airflow ---------------------------------------------------------------------------------


def _airflow_environment(home: Path) -> dict[str, str]:
    (home / "dags").mkdir()
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))
    }
    environment.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    )
    return environment


def _airflow(environment: dict[str, str], *arguments: str) -> None:
    result = subprocess.run(  # noqa: S603 (our own interpreter and fixed arguments)
        [sys.executable, "-m", "airflow", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise SystemExit(f"airflow {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_api_server(environment: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    print(f"Starting the Airflow API server on 127.0.0.1:{port} ...", flush=True)
    with log.open("wb") as output:
        # A session of its own, so that stopping it reaches the workers it forks and nothing else.
        return subprocess.Popen(  # noqa: S603 (our own interpreter and fixed arguments)
            [sys.executable, "-m", "airflow", "api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_until_healthy(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The API server exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base_url}/api/v2/monitor/health", timeout=5) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"The API server did not answer within {STARTUP_TIMEOUT:.0f} s:\n{log.read_text()}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


# -- the form --------------------------------------------------------------------------------


def _capture(page: Page, base_url: str, form: Form, declared: dict[str, Any]) -> None:
    print(f"Capturing the {declared['hook-name']!r} form ...", flush=True)
    page.goto(f"{base_url}/connections", wait_until="networkidle")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[name=connection_id]").fill(form.conn_id)
    dialog.get_by_role("combobox").fill(declared["hook-name"])
    page.get_by_role("option", name=declared["hook-name"], exact=True).click()
    dialog.locator("input[name=password]").wait_for()

    _check_standard_fields(dialog, declared)
    for name, value in form.standard.items():
        dialog.locator(f"[name={name}]").fill(value)
    _settle(page)
    standard_part = _clip(page, dialog, _section(dialog, "standardFields"), upper=True)

    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    first_extra = next(iter(declared["conn-fields"]))
    dialog.locator(f"[name=element_{first_extra}]").wait_for()
    _check_extra_fields(dialog, declared)
    for name, value in form.extra.items():
        dialog.locator(f"[name=element_{name}]").fill(value)
    _settle(page)
    extra_part = _clip(page, dialog, _section(dialog, "Extra Fields"), upper=False)

    image = HERE / form.image
    _stack(page, [standard_part, extra_part], image)
    print(f"Wrote {image.relative_to(REPO_ROOT)} ({image.stat().st_size // 1024} KiB)", flush=True)


def _settle(page: Page) -> None:
    # No focus ring and no hover highlight in the picture.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.mouse.move(0, 0)


def _section(dialog: Locator, item: str) -> Locator:
    return dialog.locator(f"[data-scope=accordion][data-part=item][id$=':item:{item}']")


def _check_standard_fields(dialog: Locator, declared: dict[str, Any]) -> None:
    behaviour = declared["ui-field-behaviour"]
    for name in behaviour.get("hidden-fields", []):
        if dialog.locator(f"[name={name}]").count():
            raise SystemExit(f"{declared['connection-type']}: the hidden field {name!r} is shown")
    for name, label in behaviour.get("relabeling", {}).items():
        if not dialog.locator("label", has_text=label).count():
            raise SystemExit(f"{declared['connection-type']}: no label {label!r} for the {name} field")
    for name, placeholder in behaviour.get("placeholders", {}).items():
        if name not in STANDARD_FIELDS:
            # Airflow 3.3 shows placeholders of the standard fields only; the extra JSON editor
            # and the provider's own fields have none.
            print(f"  note: the form does not show the placeholder declared for {name!r}", flush=True)
            continue
        shown = dialog.locator(f"[name={name}]").get_attribute("placeholder")
        if shown != placeholder:
            raise SystemExit(
                f"{declared['connection-type']}: {name} placeholder is {shown!r}, not {placeholder!r}"
            )


def _check_extra_fields(dialog: Locator, declared: dict[str, Any]) -> None:
    for name, spec in declared["conn-fields"].items():
        control = dialog.locator(f"[name=element_{name}]")
        if not dialog.locator("label", has_text=spec["label"]).count():
            raise SystemExit(f"{declared['connection-type']}: no label {spec['label']!r} for {name}")
        if spec.get("description") and not dialog.get_by_text(spec["description"], exact=True).count():
            raise SystemExit(f"{declared['connection-type']}: the description of {name} is not shown")
        secret = spec["schema"].get("format") == "password"
        if secret != (control.get_attribute("type") == "password"):
            raise SystemExit(f"{declared['connection-type']}: {name} is {'not ' if secret else ''}masked")
        default = spec["schema"].get("default")
        if default is not None and control.input_value() != str(default):
            raise SystemExit(f"{declared['connection-type']}: {name} does not start at {default!r}")


def _clip(page: Page, dialog: Locator, section: Locator, *, upper: bool) -> bytes:
    box, part = dialog.bounding_box(), section.bounding_box()
    if box is None or part is None:
        raise SystemExit("the connection dialog is not on screen")
    top = box["y"] if upper else part["y"]
    bottom = part["y"] + part["height"] if upper else box["y"] + box["height"]
    return page.screenshot(clip={"x": box["x"], "y": top, "width": box["width"], "height": bottom - top})


def _stack(page: Page, parts: list[bytes], image: Path) -> None:
    pictures = "".join(
        f'<img style="display:block" src="data:image/png;base64,{base64.b64encode(part).decode()}">'
        for part in parts
    )
    page.set_content(f'<body style="margin:0"><div id="shot" style="display:inline-block">{pictures}</div>')
    page.locator("#shot").screenshot(path=str(image))


if __name__ == "__main__":
    sys.exit(main())
