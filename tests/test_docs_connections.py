"""Run every example of ``docs/connections.md``, so the page cannot drift from the code or the form.

Each fenced block of the page follows a marker comment that says what it is:

- ``<!-- env -->``: ``export AIRFLOW_CONN_<ID>='<JSON>'`` lines;
- ``<!-- cli -->``: ``airflow ...`` commands (and ``export`` lines), run by Airflow's own command
  line parser and command functions in one subprocess, against a copy of the session's database;
- ``<!-- mistake: CONN_ID -->``: a connection, followed by ``<!-- message -->``, the exact error;
- ``<!-- test-message: CONN_ID -->`` / ``<!-- test-event: CONN_ID -->``: what the connection's Test
  action reports and, for a webhook, the body it sends (``…`` in a message stands for any text);
- ``<!-- command -->``: ``python -c`` lines, each printing a new signing secret;
- ``<!-- run -->``: Python code, executed.

Each field table follows ``<!-- fields: CONN_TYPE -->`` and is checked against the form declared in
``get_provider_info()``, both ways. The page's connections aim at the real Thordata service and at
``hooks.example.com``, which no test may reach: where a test sends requests, the same connection
points at the local stand-ins instead (``ThordataAPIServer`` started with the page's credentials,
``WebhookReceiver`` with its secret), and nothing else changes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from airflow_provider_thordata.get_provider_info import get_provider_info
from airflow_provider_thordata.hooks.thordata import ThordataHook
from airflow_provider_thordata.hooks.webhook import ThordataWebhookHook
from airflow_provider_thordata.scraper_api import (
    DEFAULT_SCRAPER_API_URL,
    DEFAULT_WEB_SCRAPER_API_URL,
    ClientConfig,
    build_create_task,
)
from airflow_provider_thordata.target_guard import check_target
from airflow_provider_thordata.testing import StaticResolver, ThordataAPIServer, WebhookReceiver
from airflow_provider_thordata.webhook_connection import webhook_target

pytestmark = pytest.mark.timeout(60)

REPO_ROOT = Path(__file__).resolve().parent.parent
DOC = REPO_ROOT / "docs" / "connections.md"
TEXT = DOC.read_text(encoding="utf-8")
DECLARED = {item["connection-type"]: item for item in get_provider_info()["connection-types"]}

_FENCE = re.compile(r"^```", re.M)
_BLOCK = re.compile(r"<!-- (?P<tag>[^>]+?) -->\n```[a-z]*\n(?P<body>.*?)\n```", re.S)
_TABLE = re.compile(r"<!-- fields: (?P<type>\w+) -->\n(?P<rows>(?:\|.*\n)+)")
_TAGS = {"env", "cli", "mistake", "message", "test-message", "test-event", "command", "run"}
_ANY = "…"

#: Form fields whose absence the hooks refuse (the mistakes on the page show the messages).
REQUIRED = {"thordata": {"public_token", "public_key"}, "thordata_webhook": {"host"}}
#: Defaults that live in the hooks rather than in the form's schema.
CODE_DEFAULTS = {
    "scraper_api_url": DEFAULT_SCRAPER_API_URL,
    "web_scraper_api_url": DEFAULT_WEB_SCRAPER_API_URL,
}
STANDARD_KEYS = {"conn_type", "description", "host", "login", "password", "schema", "port", "extra"}
#: Names resolve to a public address for the guard's check; nothing is ever sent there.
PUBLIC_DNS = StaticResolver({"hooks.example.com": "93.184.215.14"})
#: Hooks that send get a resolver that knows no name: a slip can only fail, never go out.
NO_DNS = StaticResolver({})


@dataclass
class Block:
    tag: str
    body: str
    line: int

    @property
    def kind(self) -> str:
        return self.tag.split(":")[0]

    @property
    def argument(self) -> str:
        return self.tag.split(":", 1)[1].strip()


def read_blocks() -> list[Block]:
    return [Block(m["tag"], m["body"], TEXT.count("\n", 0, m.start()) + 2) for m in _BLOCK.finditer(TEXT)]


def blocks(kind: str) -> list[Block]:
    return [block for block in read_blocks() if block.kind == kind]


def shell_commands(text: str) -> list[list[str]]:
    """Split shell text into commands: continued lines and quotes spanning lines join up."""
    commands: list[list[str]] = []
    pending = ""
    for line in text.replace("\\\n", " ").splitlines():
        pending += line + "\n"
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # a quote still open: the command goes on
            continue
        if words:
            commands.append(words)
        pending = ""
    assert not pending.strip(), f"unterminated shell text: {pending!r}"
    return commands


def env_connections() -> dict[str, dict[str, Any]]:
    """Return the page's ``AIRFLOW_CONN_*`` examples: connection id -> connection JSON."""
    found: dict[str, dict[str, Any]] = {}
    for block in blocks("env"):
        for command in shell_commands(block.body):
            assert command[0] == "export", command
            for assignment in command[1:]:
                name, _, value = assignment.partition("=")
                assert name.startswith("AIRFLOW_CONN_"), name
                found[name.removeprefix("AIRFLOW_CONN_").lower()] = json.loads(value)
    return found


def mistakes() -> list[tuple[Block, str]]:
    found = []
    every = read_blocks()
    for index, block in enumerate(every):
        if block.kind == "mistake":
            message = every[index + 1]
            assert message.kind == "message", f"line {block.line}: a mistake needs its message"
            found.append((block, message.body))
    return found


def mistake_params() -> list[Any]:
    return [pytest.param(block, message, id=f"line-{block.line}") for block, message in mistakes()]


def matches(documented: str, actual: str) -> bool:
    pattern = ".+?".join(re.escape(part) for part in documented.split(_ANY))
    return re.fullmatch(pattern, actual, re.S) is not None


def first_error(conn_id: str, connection: dict[str, Any]) -> str:
    """Return the first error a task using this connection gets, through the hooks' own checks.

    For Thordata that is reading the connection and then creating a task; for a webhook, reading
    the connection and then the request forgery guard's check of the target.
    """
    extra = connection.get("extra", {})
    try:
        if connection["conn_type"] == "thordata":
            config = ClientConfig.from_connection(conn_id, password=connection.get("password"), extra=extra)
            build_create_task(
                config,
                spider_id="amazon_product_by-url",
                spider_name="amazon.com",
                parameters={"url": "https://www.amazon.com/dp/B0DPMHRZ1W"},
            )
        else:
            target = webhook_target(conn_id, connection.get("host"), connection.get("password"), extra)
            check_target(target.url, allowed=target.allowed, resolver=PUBLIC_DNS)
    except ValueError as error:
        return str(error)
    pytest.fail(f"connection {conn_id!r} passed every check: {connection}")


def on_stand_in(connection: dict[str, Any], server: ThordataAPIServer) -> str:
    """Return a Thordata connection as JSON, aimed at the stand-in where it names no base URL."""
    extra = {
        "scraper_api_url": server.scraper_api_url,
        "web_scraper_api_url": server.web_scraper_api_url,
        **connection.get("extra", {}),
    }
    return json.dumps({**connection, "extra": extra})


def on_receiver(connection: dict[str, Any], receiver: WebhookReceiver) -> str:
    """Return a webhook connection as JSON, aimed at the local receiver (which the guard allows)."""
    path = connection["host"].split("/", 3)[3] if connection["host"].count("/") >= 3 else ""
    extra = {**connection.get("extra", {}), "allowed_targets": "127.0.0.1"}
    return json.dumps({**connection, "host": receiver.url_for("/" + path), "extra": extra})


def stand_in_for(connection: dict[str, Any]) -> ThordataAPIServer:
    """Return a Thordata stand-in that accepts exactly the connection's credentials."""
    extra = connection.get("extra", {})
    return ThordataAPIServer(
        scraper_token=connection.get("password") or "no-scraper-token-given",
        public_token=extra.get("public_token") or "no-public-token-given",
        public_key=extra.get("public_key") or "no-public-key-given",
    )


# -- the page's shape ------------------------------------------------------------------------


def test_every_fenced_block_of_the_page_is_marked_and_therefore_tested():
    every = read_blocks()

    assert len(_FENCE.findall(TEXT)) == 2 * len(every)
    assert {block.kind for block in every} == _TAGS
    assert [kind for kind in ("env", "cli", "command", "run") if not blocks(kind)] == []


def test_links_within_the_page_lead_somewhere():
    anchors = {
        re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", TEXT, re.M)
    }
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", TEXT)

    assert set(re.findall(r"\]\(#([\w-]+)\)", TEXT)) <= anchors
    assert images == ["images/connection-thordata.png", "images/connection-thordata-webhook.png"]
    for image in images:
        data = (DOC.parent / image).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) < 400_000


# -- the field tables against the declared forms ---------------------------------------------


def table_rows(conn_type: str) -> dict[str, dict[str, str]]:
    """Return the rows of a field table: stored name -> label, where, secret, default."""
    (table,) = [m for m in _TABLE.finditer(TEXT) if m["type"] == conn_type]
    rows = {}
    for line in table["rows"].splitlines()[2:]:
        label, stored, secret, default, _purpose = (cell.strip() for cell in line.strip("|").split("|"))
        where = re.fullmatch(r"(extra )?`(\w+)`", stored)
        assert where, f"{conn_type}: cannot read the 'Stored in' cell {stored!r}"
        rows[where[2]] = {
            "label": label.strip("`"),
            "extra": bool(where[1]),
            "secret": secret,
            "default": default,
        }
    return rows


@pytest.mark.parametrize("conn_type", sorted(DECLARED))
def test_the_field_table_lists_exactly_the_fields_the_form_shows(conn_type):
    declared = DECLARED[conn_type]
    behaviour = declared["ui-field-behaviour"]
    shown_standard = set(behaviour["relabeling"])
    rows = table_rows(conn_type)

    assert {name for name, row in rows.items() if row["extra"]} == set(declared["conn-fields"])
    assert {name for name, row in rows.items() if not row["extra"]} == shown_standard
    assert not shown_standard & set(behaviour["hidden-fields"])


@pytest.mark.parametrize("conn_type", sorted(DECLARED))
def test_the_field_table_gives_each_field_its_declared_label_secrecy_and_default(conn_type):
    declared = DECLARED[conn_type]

    for name, row in table_rows(conn_type).items():
        if row["extra"]:
            spec = declared["conn-fields"][name]
            label, secret = spec["label"], spec["schema"].get("format") == "password"
            default = spec["schema"].get("default", CODE_DEFAULTS.get(name))
        else:
            label, secret = declared["ui-field-behaviour"]["relabeling"][name], name == "password"
            default = None
        assert row["label"] == label, name
        assert row["secret"] == ("yes" if secret else "no"), name
        if default is not None:
            assert row["default"] == f"`{default}`", name
        else:
            assert row["default"] == ("required" if name in REQUIRED[conn_type] else "empty"), name


@pytest.mark.parametrize("conn_type", sorted(DECLARED))
def test_the_page_names_the_hidden_fields_as_declared(conn_type):
    section = TEXT[TEXT.index(f"<!-- fields: {conn_type} -->") :]
    hidden = re.search(r"Hidden in the form \(not used\): (.*)\.", section)

    assert hidden is not None
    assert re.findall(r"`(\w+)`", hidden[1]) == DECLARED[conn_type]["ui-field-behaviour"]["hidden-fields"]


def test_every_extra_the_page_names_is_declared_for_some_connection_type():
    declared = {name for item in DECLARED.values() for name in item["conn-fields"]}

    named = set(re.findall(r"extra [`'](\w+)[`']", TEXT))

    assert named
    assert named <= declared


def test_every_example_connection_uses_only_fields_its_type_shows():
    examples = [*env_connections().values(), *(json.loads(block.body) for block, _ in mistakes())]

    for connection in examples:
        declared = DECLARED[connection["conn_type"]]
        assert set(connection) <= STANDARD_KEYS
        assert not set(connection) & set(declared["ui-field-behaviour"]["hidden-fields"])
        assert set(connection.get("extra", {})) <= set(declared["conn-fields"])


# -- environment variables -------------------------------------------------------------------


def test_the_environment_examples_pass_the_hooks_validation_and_the_guard():
    connections = env_connections()

    assert {connection["conn_type"] for connection in connections.values()} == set(DECLARED)
    for conn_id, connection in connections.items():
        extra = connection.get("extra", {})
        if connection["conn_type"] == "thordata":
            config = ClientConfig.from_connection(conn_id, password=connection.get("password"), extra=extra)
            assert (config.public_token, config.public_key) == (extra["public_token"], extra["public_key"])
            assert config.scraper_token == connection["password"]
            assert config.user_id == extra.get("user_id")
            assert (config.scraper_api_url, config.web_scraper_api_url) == (
                DEFAULT_SCRAPER_API_URL,
                DEFAULT_WEB_SCRAPER_API_URL,
            )
        else:
            target = webhook_target(conn_id, connection["host"], connection.get("password"), extra)
            checked = check_target(target.url, allowed=target.allowed, resolver=PUBLIC_DNS)
            assert checked.host == connection["host"].split("/")[2].split(":")[0]
            assert target.timeout == extra.get("timeout", 30)
            assert target.max_attempts == extra.get("max_attempts")


def test_the_internal_receiver_example_is_refused_without_its_allowed_targets():
    connection = env_connections()["internal_webhook"]
    without = {**connection, "extra": {}}

    message = first_error("internal_webhook", without)

    assert "request forgery guard refuses" in message


def test_the_thordata_example_passes_the_test_action_with_one_read_only_call(monkeypatch):
    connection = env_connections()["thordata_default"]
    (documented,) = [b.body for b in blocks("test-message") if b.argument == "thordata_default"]

    with stand_in_for(connection) as server:
        monkeypatch.setenv("AIRFLOW_CONN_THORDATA_DEFAULT", on_stand_in(connection, server))
        ok, message = ThordataHook("thordata_default").test_connection()

        assert ok, message
        assert matches(documented, message), message
        assert server.count("tasks-list") == 1
        assert server.count() == 1


def test_the_webhook_example_sends_the_documented_test_event_to_the_receiver(monkeypatch):
    connection = env_connections()["orders_webhook"]
    (documented,) = [b.body for b in blocks("test-message") if b.argument == "orders_webhook"]
    (event,) = [json.loads(b.body) for b in blocks("test-event") if b.argument == "orders_webhook"]

    with WebhookReceiver(secret=connection["password"]) as receiver:
        monkeypatch.setenv("AIRFLOW_CONN_ORDERS_WEBHOOK", on_receiver(connection, receiver))
        ok, message = ThordataWebhookHook("orders_webhook", resolver=NO_DNS).test_connection()
        (delivery,) = receiver.wait_for(1)

    assert ok, message
    assert matches(documented, message.replace("127.0.0.1", "hooks.example.com")), message
    assert delivery.signature_valid, delivery.signature_error
    body = delivery.json()
    datetime.fromisoformat(body.pop("createdAt"))
    assert body == {key: value for key, value in event.items() if key != "createdAt"}
    assert delivery.integration == "airflow-connection-test"
    assert re.fullmatch(r"test_[0-9a-f]{32}", delivery.dispatch_id or "")
    assert delivery.headers["webhook-id"] == delivery.dispatch_id


# -- mistakes --------------------------------------------------------------------------------


@pytest.mark.parametrize(("block", "message"), mistake_params())
def test_each_mistake_gives_exactly_the_documented_message(block, message):
    connection = json.loads(block.body)

    assert first_error(block.argument, connection) == message


@pytest.mark.parametrize(("block", "message"), mistake_params())
def test_the_test_action_reports_each_mistake_it_can_see(block, message, monkeypatch):
    connection = json.loads(block.body)
    conn_id = block.argument

    if connection["conn_type"] == "thordata":
        with stand_in_for(connection) as server:
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", on_stand_in(connection, server))
            ok, reported = ThordataHook(conn_id).test_connection()
    else:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        ok, reported = ThordataWebhookHook(conn_id, resolver=NO_DNS).test_connection()

    if "Scraper token" in message:
        # The page says so: the test passes, saying the token is empty; creating a task fails.
        assert ok
        assert "The scraper token (password) is empty" in reported
    else:
        assert not ok
        assert reported == message


def test_wrong_credentials_name_the_fields_the_page_quotes(monkeypatch):
    connection = env_connections()["thordata_default"]
    (quoted,) = re.findall(r"`(Check the 'Public API token'[^`]*)`", TEXT)

    with ThordataAPIServer(public_key="another-public-key") as server:
        monkeypatch.setenv("AIRFLOW_CONN_THORDATA_DEFAULT", on_stand_in(connection, server))
        ok, message = ThordataHook("thordata_default").test_connection()

    assert not ok
    assert "code 10013" in message
    assert message.endswith(quoted)


# -- the command line ------------------------------------------------------------------------

_CLI_RUNNER = r"""
import json, os, sys

parser = None
results = []
for argv in json.loads(sys.argv[1]):
    if argv[0] == "export":
        os.environ.update(item.split("=", 1) for item in argv[1:])
        continue
    if parser is None:
        from airflow.cli import cli_parser

        parser = cli_parser.get_parser()
    args = parser.parse_args(argv[1:])
    try:
        args.func(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    results.append({"command": " ".join(argv[:3]), "exit": code})

from sqlalchemy import select
from airflow.models import Connection
from airflow.utils.session import create_session

with create_session() as session:
    stored = {
        conn.conn_id: {
            "conn_type": conn.conn_type,
            "host": conn.host,
            "password": conn.password,
            "extra": conn.extra_dejson,
        }
        for conn in session.scalars(select(Connection))
    }
print("@@RESULT@@ " + json.dumps({"results": results, "connections": stored}))
"""


def copy_database(source: Path, target: Path, *, without: tuple[str, ...]) -> None:
    """Copy the session's migrated database (much faster than migrating another), minus some connections."""
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copy:
        original.backup(copy)
        with copy:  # one transaction, committed
            copy.executemany("DELETE FROM connection WHERE conn_id = ?", [(conn_id,) for conn_id in without])


@pytest.mark.timeout(180)
def test_the_command_line_example_adds_the_same_connections_and_tests_them(airflow_db, tmp_path):
    (block,) = blocks("cli")
    commands = shell_commands(block.body)
    examples = env_connections()
    home = tmp_path / "airflow-home"
    home.mkdir()
    copy_database(
        airflow_db / "airflow.db", home / "airflow.db", without=("thordata_default", "orders_webhook")
    )
    thordata, webhook = examples["thordata_default"], examples["orders_webhook"]

    with stand_in_for(thordata) as server, WebhookReceiver(secret=webhook["password"]) as receiver:
        # Airflow reads environment variables before its database: the tests in the example
        # then reach the stand-ins, while the commands store the page's connections unchanged.
        environment = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW_CONN_THORDATA_DEFAULT": on_stand_in(thordata, server),
            "AIRFLOW_CONN_ORDERS_WEBHOOK": on_receiver(webhook, receiver),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        result = subprocess.run(
            [sys.executable, "-c", _CLI_RUNNER, json.dumps(commands)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=150,
            check=False,
        )
        deliveries = receiver.deliveries
        api_calls = [request.endpoint for request in server.requests()]

    lines = [line for line in result.stdout.splitlines() if line.startswith("@@RESULT@@ ")]
    assert lines, f"the command line example did not finish:\n{result.stdout}\n{result.stderr}"
    outcome = json.loads(lines[0].removeprefix("@@RESULT@@ "))
    assert [item["exit"] for item in outcome["results"]] == [0, 0, 0, 0], outcome["results"]
    assert [item["command"] for item in outcome["results"]] == [
        "airflow connections add",
        "airflow connections add",
        "airflow connections test",
        "airflow connections test",
    ]
    stored = outcome["connections"]
    for conn_id in ("thordata_default", "orders_webhook"):
        expected = {"host": None, "password": None, "extra": {}, **examples[conn_id]}
        assert json.dumps(stored[conn_id], sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert api_calls == ["tasks-list"]
    assert [delivery.json()["eventType"] for delivery in deliveries] == ["TEST"]
    assert deliveries[0].signature_valid


# -- signing secrets -------------------------------------------------------------------------


def test_each_secret_command_prints_a_new_secret_the_connection_accepts():
    (block,) = blocks("command")
    commands = shell_commands(block.body)
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }

    secrets = []
    for command in commands:
        assert command[:2] == ["python", "-c"]
        result = subprocess.run(
            [sys.executable, *command[1:]], env=environment, capture_output=True, text=True, check=True
        )
        secrets.append(result.stdout.strip())

    assert len(commands) == 2
    assert len(set(secrets)) == len(secrets)
    for secret in secrets:
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
        assert webhook_target("orders_webhook", "https://hooks.example.com/thordata", secret, {}).signer
        signature = Webhook(secret).sign("msg_1", datetime.now(), "{}")
        assert signature.startswith("v1,")


@pytest.mark.timeout(30)
def test_the_receiver_example_acts_once_per_event_and_refuses_what_is_not_signed(monkeypatch, capsys):
    secret = env_connections()["orders_webhook"]["password"]
    (block,) = blocks("run")
    namespace: dict[str, Any] = {}
    monkeypatch.setenv("THORDATA_WEBHOOK_SECRET", secret)
    exec(compile(block.body, f"{DOC}:{block.line}", "exec"), namespace)  # noqa: S102 (our own documentation)
    receive = namespace["receive"]
    event = b'{"eventType":"SCRAPER.TASK.SUCCEEDED","resource":{"taskId":"2e9ddee0582a40a9b1f459831b1419e1"}}'

    with WebhookReceiver() as receiver:
        for conn_id, key in (("signed", secret), ("other", "whsec_" + "QUJD" * 8)):
            connection = {"conn_type": "thordata_webhook", "host": receiver.url, "password": key}
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", on_receiver(connection, receiver))
        hook = ThordataWebhookHook("signed", resolver=NO_DNS)
        hook.test_connection()
        for _ in range(2):  # the same dispatch twice, as a retry sends it
            hook.deliver(
                event, event_type="SCRAPER.TASK.SUCCEEDED", integration="orders", dispatch_id="dsp_1"
            )
        ThordataWebhookHook("other", resolver=NO_DNS).deliver(
            event, event_type="SCRAPER.TASK.SUCCEEDED", integration="orders", dispatch_id="dsp_2"
        )
        test, first, retry, foreign = receiver.wait_for(4)
    capsys.readouterr()

    answers = [receive(d.body, dict(d.headers)) for d in (test, first, retry, foreign)]
    altered = receive(first.body.replace(b"SUCCEEDED", b"FAILED"), dict(first.headers))

    assert answers == [200, 200, 200, 401]
    assert altered == 401
    assert capsys.readouterr().out == "SCRAPER.TASK.SUCCEEDED for task 2e9ddee0582a40a9b1f459831b1419e1\n"
