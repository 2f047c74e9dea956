"""Run ``docs/testing.md`` as the user project it describes, so the page cannot drift from the kit.

Every fenced block of the page follows a ``<!-- file: PATH -->`` marker: the blocks are the
files of one example project (blocks naming the same file are joined in order). The project
runs in a fresh pytest process with the plugin published by its entry point, as an installed
provider offers it, and every test it defines must pass.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_provider_thordata.testing import pytest_plugin

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
_FENCE = re.compile(r"^```", re.M)
_BLOCK = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\n```python\n(?P<body>.*?)\n```", re.S)


@dataclass(frozen=True)
class Block:
    path: str
    body: str
    line: int


def read_blocks() -> list[Block]:
    text = DOC.read_text(encoding="utf-8")
    return [Block(m["path"], m["body"], text.count("\n", 0, m.start()) + 2) for m in _BLOCK.finditer(text)]


def project_files() -> dict[str, str]:
    files: dict[str, list[str]] = {}
    for block in read_blocks():
        files.setdefault(block.path, []).append(block.body)
    return {path: "\n\n\n".join(bodies) + "\n" for path, bodies in files.items()}


def defined_tests(files: dict[str, str]) -> set[str]:
    return {
        node.name
        for path, source in files.items()
        if Path(path).name.startswith("test_")
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_fenced_block_of_the_page_is_a_file_of_the_example_project() -> None:
    text = DOC.read_text(encoding="utf-8")

    assert len(_FENCE.findall(text)) == 2 * len(read_blocks())


def test_every_file_of_the_example_project_is_valid_python() -> None:
    for path, source in project_files().items():
        compile(source, f"{DOC.name}:{path}", "exec")


def test_the_fixture_table_lists_exactly_the_fixtures_of_the_plugin() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## The fixtures") : text.index("## Code that calls Thordata")]
    documented = set(re.findall(r"^\| `(\w+)` \|", table, re.M))
    source = inspect.getsource(pytest_plugin)

    defined = set(re.findall(r"^@pytest\.fixture\ndef (\w+)\(", source, re.M))

    assert documented == defined
    assert len(defined) == 5


@pytest.mark.timeout(300)
def test_the_example_project_passes_in_a_fresh_pytest_process(
    pytester: pytest.Pytester, installed_plugin: Path
) -> None:
    files = project_files()
    for path, source in files.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")

    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-rA", "-o", "asyncio_mode=strict"
    )

    outcomes = result.parseoutcomes()
    assert (outcomes.get("failed", 0), outcomes.get("errors", 0), outcomes.get("skipped", 0)) == (0, 0, 0)
    passed = set(re.findall(r"^PASSED \S+::(\w+)", str(result.stdout), re.M))
    assert passed == defined_tests(files)
