"""Run every example of ``docs/templates.md``, so the reference cannot drift from the code.

Each fenced block of the page follows a marker comment that says what it is:

- ``<!-- payload -->`` / ``<!-- headers -->``: a template, followed by ``<!-- variables -->``
  (optional; the sample event otherwise), then ``<!-- output -->`` and/or ``<!-- error -->``
  and ``<!-- warning -->``, compared exactly; ``<!-- payload: default -->`` is the default text;
- ``<!-- run -->``: Python code, executed;
- ``<!-- file: NAME -->``: a file that the following ``<!-- command -->`` blocks use; a command
  block holds ``$ python -m ...`` lines, each followed by its exact output.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_thordata.templating import (
    DEFAULT_PAYLOAD_TEMPLATE,
    HeadersTemplate,
    PayloadTemplate,
    TemplateError,
)
from airflow_provider_thordata.templating.samples import sample_variables

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "templates.md"
_FENCE = re.compile(r"^```", re.M)
_BLOCK = re.compile(r"<!-- (?P<tag>[^>]+?) -->\n```[a-z]*\n(?P<body>.*?)\n```", re.S)


@dataclass
class Block:
    tag: str
    body: str
    line: int


@dataclass
class Example:
    template: Block
    attached: dict[str, Block] = field(default_factory=dict)


def read_blocks() -> list[Block]:
    text = DOC.read_text(encoding="utf-8")
    return [Block(m["tag"], m["body"], text.count("\n", 0, m.start()) + 2) for m in _BLOCK.finditer(text)]


def read_examples() -> list[Example]:
    examples: list[Example] = []
    for block in read_blocks():
        if block.tag.split(":")[0] in ("payload", "headers"):
            examples.append(Example(block))
        elif block.tag in ("variables", "output", "error", "warning"):
            examples[-1].attached[block.tag] = block
    return examples


def test_every_fenced_block_of_the_page_is_marked_and_therefore_tested() -> None:
    text = DOC.read_text(encoding="utf-8")

    assert len(_FENCE.findall(text)) == 2 * len(read_blocks())
    assert {block.tag.split(":")[0] for block in read_blocks()} <= {
        "payload", "headers", "variables", "output", "error", "warning", "run", "file", "command",
    }  # fmt: skip
    assert all(
        {"output", "error"} & example.attached.keys() or example.template.tag == "payload: default"
        for example in read_examples()
    )


@pytest.mark.parametrize("example", read_examples(), ids=lambda example: f"line-{example.template.line}")
def test_each_template_example_gives_exactly_what_the_page_shows(example: Example) -> None:
    kind = PayloadTemplate if example.template.tag.startswith("payload") else HeadersTemplate
    variables: dict[str, Any] = sample_variables()
    if "variables" in example.attached:
        variables = json.loads(example.attached["variables"].body)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = kind(example.template.body).render(variables)
        except TemplateError as error:
            shown_error: str | None = f"{type(error).__name__}: {error}"
        else:
            shown_error = None

    if "error" in example.attached:
        assert shown_error == example.attached["error"].body
    else:
        assert shown_error is None
    if "output" in example.attached:
        shown = (
            result.decode("utf-8") if isinstance(result, bytes) else json.dumps(result, ensure_ascii=False)
        )
        assert shown == example.attached["output"].body
    shown_warnings = [f"{type(item.message).__name__}: {item.message}" for item in caught]
    expected_warnings = example.attached["warning"].body.splitlines() if "warning" in example.attached else []
    assert shown_warnings == expected_warnings
    if example.template.tag == "payload: default":
        assert example.template.body == DEFAULT_PAYLOAD_TEMPLATE


@pytest.mark.parametrize(
    "block", [b for b in read_blocks() if b.tag == "run"], ids=lambda block: f"line-{block.line}"
)
def test_each_python_example_runs(block: Block) -> None:
    exec(compile(block.body, f"{DOC}:{block.line}", "exec"), {})  # noqa: S102 (our own documentation)


@pytest.mark.timeout(120)
def test_each_command_example_prints_exactly_what_the_page_shows(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    commands = 0
    for block in read_blocks():
        if block.tag.startswith("file:"):
            (tmp_path / block.tag.split(":", 1)[1].strip()).write_text(block.body + "\n", encoding="utf-8")
        if block.tag != "command":
            continue
        for command, expected in re.findall(r"^\$ (.*)\n((?:(?!\$ ).*\n?)*)", block.body, re.M):
            arguments = shlex.split(command)
            assert arguments[:3] == ["python", "-m", "airflow_provider_thordata.templating"]

            result = subprocess.run(
                [sys.executable, *arguments[1:]],
                cwd=tmp_path,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )

            assert result.stdout.rstrip("\n") == expected.rstrip("\n")
            assert result.returncode == (1 if ": error: " in expected else 0)
            commands += 1
    assert commands == 3
