"""The README tells the truth: its commands exist, its links resolve and its code runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
_BLOCK = re.compile(r"(?:<!-- (?P<tag>[^>]+?) -->\n)?```(?P<lang>[a-z]*)\n(?P<body>.*?)\n```", re.S)


def blocks(tag_prefix: str) -> list[str]:
    return [m["body"] for m in _BLOCK.finditer(README) if (m["tag"] or "").startswith(tag_prefix)]


def test_the_readme_says_what_it_is_then_how_to_install_then_the_two_commands_in_that_order():
    headings = re.findall(r"^## (.+)$", README, re.M)

    assert headings[:2] == ["Install", "Two commands"]
    assert README.index("make demo") < README.index("make test")
    assert README.index("## Install") > README.index("Thordata")


def test_every_code_block_is_a_tested_example_or_a_command_the_suite_covers():
    commands = {"pip install airflow-provider-thordata"}
    for match in _BLOCK.finditer(README):
        if match["tag"]:
            assert match["tag"].split(":")[0] in {"dag", "run"}, match["tag"]
            continue
        assert match["lang"] == "bash", match["body"]
        for line in match["body"].splitlines():
            command = line.split("#")[0].strip()
            assert command in commands or command in {"make demo", "make test"}, command


def test_the_two_commands_are_make_targets_and_ci_runs_the_test_command():
    makefile = (REPO_ROOT / "Makefile").read_text()
    ci = (REPO_ROOT / ".ci" / "run").read_text()

    assert re.search(r"^demo:", makefile, re.M)
    assert re.search(r"^test:", makefile, re.M)
    assert "make test" in ci


def test_every_relative_link_and_image_resolves():
    targets = re.findall(r"\]\(((?!https?://)[^)#]+)(?:#[^)]*)?\)", README)

    assert targets
    for target in targets:
        assert (REPO_ROOT / target).exists(), target


def test_the_import_lines_import():
    (code,) = blocks("run: imports")

    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own code


def test_the_named_connection_defaults_are_the_hooks_defaults():
    from airflow_provider_thordata.hooks.thordata import ThordataHook
    from airflow_provider_thordata.hooks.webhook import ThordataWebhookHook

    assert f"`{ThordataHook.default_conn_name}`" in README
    assert f"`{ThordataWebhookHook.default_conn_name}`" in README


@pytest.mark.timeout(120)
def test_the_quick_start_dag_runs_and_notifies_its_receiver(dag_runner, thordata_server, receiver):
    thordata_server.script_lifecycle(steps=[("Running", 1), ("Ready", None)])
    (code,) = blocks("dag: quickstart")
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    dag = namespace["create"].dag

    run = dag_runner(dag)

    assert run.state == "success"
    (created,) = thordata_server.task_ids
    (delivery,) = receiver.deliveries
    assert delivery.json() == {
        "task": created,
        "event": "SCRAPER.TASK.SUCCEEDED",
        "file": delivery.json()["file"],
        "dag": "thordata_quickstart",
    }
    assert delivery.json()["file"].endswith(".json")
    assert delivery.signature_valid is True
